//! Address completion for To/Cc: the addresses of mail already seen, from the address
//! book that schema steps 5 and 6 keep current: every write folds its new messages in,
//! except a first sync's bulk inserts, which [`Store::fold_pending_addresses`] folds in
//! after the folder is in.
//!
//! A keystroke is one FTS5 prefix query over the (small) address book, never a scan of
//! the messages. Words of the display name and of the address both match, folding case
//! and accents the way the message index does.

use super::{Address, Store, StoreError};

/// The FTS5 query for what the user typed: its words as one phrase whose last word is a
/// prefix (`"alice sm"*`). Only letters and digits reach FTS5, so no typed text is ever
/// FTS syntax. None when nothing searchable was typed.
fn match_query(prefix: &str) -> Option<String> {
    let words: Vec<&str> = prefix
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return None;
    }
    Some(format!("\"{}\" *", words.join(" ")))
}

impl Store {
    /// Folds up to `limit` rows stored since the address book's mark (a first sync's, see
    /// schema step 6) into the book, in one transaction; returns how many (0: up to date).
    pub fn fold_pending_addresses(&mut self, limit: u32) -> Result<u64, StoreError> {
        let tx = self.write_tx()?;
        let (mark, end): (i64, i64) = tx
            .prepare_cached(
                "SELECT (SELECT value FROM meta WHERE key = 'address_seq'),
                        (SELECT value FROM meta WHERE key = 'next_seq')",
            )?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if mark >= end {
            return Ok(0);
        }
        let to = end.min(mark.saturating_add(i64::from(limit)));
        // The trigger on this update reads the rows in between.
        tx.prepare_cached("UPDATE meta SET value = ?1 WHERE key = 'address_seq'")?
            .execute([to])?;
        tx.commit()?;
        Ok((to - mark) as u64)
    }

    /// Up to `limit` addresses whose display name or address has a word starting with
    /// `prefix` (case- and accent-insensitive), most used first, then most recent. Sent
    /// mail's recipients weigh more than senders of received mail.
    pub fn address_suggestions(
        &self,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<Address>, StoreError> {
        let Some(query) = match_query(prefix) else {
            return Ok(Vec::new());
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT b.name, b.email FROM address_fts JOIN address_book AS b
                 ON b.id = address_fts.rowid
             WHERE address_fts MATCH ?1
             ORDER BY b.uses DESC, b.last DESC, b.key
             LIMIT ?2",
        )?;
        let rows = stmt.query_map(rusqlite::params![query, limit], |r| {
            Ok(Address {
                name: r.get(0)?,
                email: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::match_query;

    #[test]
    fn typed_text_becomes_a_quoted_prefix_phrase() {
        assert_eq!(match_query("ali").as_deref(), Some("\"ali\" *"));
        assert_eq!(match_query("alice.sm").as_deref(), Some("\"alice sm\" *"));
        assert_eq!(
            match_query("\"Jörg\" OR x*").as_deref(),
            Some("\"Jörg OR x\" *")
        );
        assert_eq!(match_query(" <@> "), None);
    }
}

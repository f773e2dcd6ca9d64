//! Address completion for To/Cc: the addresses of mail already seen, from the address
//! book that schema step 5 keeps current with a trigger on every stored message.
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

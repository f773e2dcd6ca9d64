//! Reading message rows (pages, single messages, threads) and the body cache.

use rusqlite::types::Type;
use rusqlite::{OptionalExtension, Row, params};

use super::messages::{fts_row_of, insert_fts};
use super::threads::resolve;
use super::{Flags, FolderId, MessageId, MessageRow, Store, StoreError, ThreadId};

/// Columns of `message m` in the order [`message_from_row`] reads them.
pub(super) const MESSAGE_COLS: &str = "m.id, m.folder, m.uid, m.flags, m.keywords, m.date, \
     m.internal_date, m.size, m.subject, m.addr_from, m.addr_to, m.addr_cc, m.message_id, \
     m.in_reply_to, m.thread, m.has_attachment, m.has_body";

fn json_col<T: serde::de::DeserializeOwned>(r: &Row<'_>, i: usize) -> rusqlite::Result<T> {
    let s: String = r.get(i)?;
    serde_json::from_str(&s)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

pub(super) fn message_from_row(r: &Row<'_>) -> rusqlite::Result<MessageRow> {
    Ok(MessageRow {
        id: r.get(0)?,
        folder: r.get(1)?,
        uid: r.get(2)?,
        flags: Flags(r.get(3)?),
        keywords: json_col(r, 4)?,
        date: r.get(5)?,
        internal_date: r.get(6)?,
        size: r.get(7)?,
        subject: r.get(8)?,
        from: json_col(r, 9)?,
        to: json_col(r, 10)?,
        cc: json_col(r, 11)?,
        message_id: r.get(12)?,
        in_reply_to: r.get(13)?,
        thread: r.get(14)?,
        has_attachment: r.get(15)?,
        has_body: r.get(16)?,
    })
}

impl Store {
    pub fn message(&self, id: MessageId) -> Result<Option<MessageRow>, StoreError> {
        let sql = format!("SELECT {MESSAGE_COLS} FROM message m WHERE m.id = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([id], message_from_row)
            .optional()?)
    }

    pub fn message_by_uid(
        &self,
        folder: FolderId,
        uid: u32,
    ) -> Result<Option<MessageRow>, StoreError> {
        let sql =
            format!("SELECT {MESSAGE_COLS} FROM message m WHERE m.folder = ?1 AND m.uid = ?2");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![folder, uid], message_from_row)
            .optional()?)
    }

    /// Every message of a thread, oldest first, across the folders of its account. A thread id
    /// the caller kept from before a merge still works.
    pub fn thread(&self, thread: ThreadId) -> Result<Vec<MessageRow>, StoreError> {
        let thread = resolve(&self.conn, thread)?;
        let sql = format!(
            "SELECT {MESSAGE_COLS} FROM message m WHERE m.thread = ?1 ORDER BY m.date, m.id"
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_map([thread], message_from_row)?
            .collect::<Result<_, _>>()?)
    }

    /// Caches the raw RFC 5322 bytes; `index_text` becomes the searchable body.
    pub fn put_body(
        &mut self,
        message: MessageId,
        raw: &[u8],
        index_text: &str,
    ) -> Result<(), StoreError> {
        self.put_bodies(&[(message, raw, index_text)])
    }

    /// [`Store::put_body`] for many messages in one transaction: much cheaper per body, as
    /// each transaction that touches the full-text index leaves a segment FTS5 must merge.
    /// Fails (storing nothing) if a message does not exist.
    pub fn put_bodies(&mut self, bodies: &[(MessageId, &[u8], &str)]) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        let mut order: Vec<usize> = (0..bodies.len()).collect();
        order.sort_unstable_by_key(|&i| bodies[i].0);
        // A row not indexed yet (see index_pending) gets its whole index row now.
        let mut unindexed = Vec::new();
        for &i in &order {
            let n = tx
                .prepare_cached("DELETE FROM fts_pending WHERE id = ?1")?
                .execute([bodies[i].0])?;
            if n > 0 {
                unindexed.push(bodies[i].0);
            }
        }
        for &i in &order {
            let (message, raw, _) = bodies[i];
            let n = tx
                .prepare_cached("UPDATE message SET has_body = 1 WHERE id = ?1")?
                .execute([message])?;
            if n == 0 {
                return Err(StoreError::NoSuchMessage(message));
            }
            tx.prepare_cached("INSERT OR REPLACE INTO body (message, raw) VALUES (?1, ?2)")?
                .execute(params![message, raw])?;
        }
        // Index last and in ascending rowid order (see messages.rs FtsRow).
        for &i in &order {
            let (message, _, text) = bodies[i];
            if unindexed.binary_search(&message).is_ok() {
                if let Some(row) = fts_row_of(&tx, message, text.to_string())? {
                    insert_fts(&tx, &mut [row])?;
                }
                continue;
            }
            tx.prepare_cached("UPDATE message_fts SET body = ?2 WHERE rowid = ?1")?
                .execute(params![message, text])?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn body(&self, message: MessageId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT raw FROM body WHERE message = ?1")?
            .query_row([message], |r| r.get(0))
            .optional()?)
    }

    /// (id, uid) of server messages dated after `newer_than` with no cached body, newest first.
    pub fn messages_without_body(
        &self,
        folder: FolderId,
        newer_than: i64,
        limit: u32,
    ) -> Result<Vec<(MessageId, u32)>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT m.id, m.uid FROM message m
                 WHERE m.folder = ?1 AND m.date > ?2 AND m.has_body = 0 AND m.uid IS NOT NULL
                 ORDER BY m.date DESC, m.id DESC LIMIT ?3",
            )?
            .query_map(params![folder, newer_than, limit], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<_, _>>()?)
    }
}

//! Allocation of message and thread ids within one write transaction.
//!
//! A message id is `date << 22 | sequence`: ordering by id is ordering by date. The full-text
//! index uses the message id as its rowid, and FTS5 can walk a match in rowid order without
//! sorting, so "newest first, stop at the limit" costs the limit, not the number of matches.
//! The sequence (a counter, so ids are not reused) keeps ids of one second apart.

use rusqlite::{Connection, OptionalExtension};

use super::{MessageId, StoreError, ThreadId};

const SEQ_BITS: u32 = 22;
const SEQ_MASK: i64 = (1 << SEQ_BITS) - 1;
/// Dates are clamped into 0..2^40 s for the key (year 36812): ids stay below 2^62.
const MAX_KEY_DATE: i64 = (1 << 40) - 1;

/// The smallest message id a message dated `date` can have.
pub(super) fn id_floor(date: i64) -> MessageId {
    date.clamp(0, MAX_KEY_DATE) << SEQ_BITS
}

/// Counters read at the start of a write and stored back before it commits.
pub(super) struct Ids {
    next_thread: i64,
    next_seq: i64,
    dirty: bool,
    /// Leave the address book's high-water mark behind (schema step 6): a first sync's rows
    /// are folded in after it.
    defer_addresses: bool,
}

fn counter(conn: &Connection, key: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

impl Ids {
    pub fn load(conn: &Connection) -> Result<Ids, StoreError> {
        Ok(Ids {
            next_thread: counter(conn, "next_thread")?.unwrap_or(1),
            next_seq: counter(conn, "next_seq")?.unwrap_or(0),
            dirty: false,
            defer_addresses: false,
        })
    }

    /// Must run before the transaction commits.
    pub fn save(self, conn: &Connection) -> Result<(), StoreError> {
        if self.dirty {
            let mut stmt = conn.prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?;
            stmt.execute(rusqlite::params!["next_thread", self.next_thread])?;
            stmt.execute(rusqlite::params!["next_seq", self.next_seq])?;
            if !self.defer_addresses {
                // Folds the rows since the mark into the address book (a trigger).
                conn.prepare_cached(
                    "UPDATE meta SET value = ?1 WHERE key = 'address_seq' AND value < ?1",
                )?
                .execute([self.next_seq])?;
            }
        }
        Ok(())
    }

    /// The rows of this transaction reach the address book later, through
    /// `Store::fold_pending_addresses`.
    pub fn defer_addresses(&mut self) {
        self.defer_addresses = true;
    }

    pub fn thread(&mut self) -> ThreadId {
        self.dirty = true;
        self.next_thread += 1;
        self.next_thread - 1
    }

    /// A candidate id: taken only if 4M messages were stored between two of the same second,
    /// so callers insert and step past a primary-key conflict (or use `message`).
    pub fn next_message(&mut self, date: i64) -> MessageId {
        self.dirty = true;
        self.next_seq += 1;
        id_floor(date) | ((self.next_seq - 1) & SEQ_MASK)
    }

    /// A free id, checked.
    pub fn message(&mut self, conn: &Connection, date: i64) -> Result<MessageId, StoreError> {
        let mut id = self.next_message(date);
        let mut taken =
            conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM message WHERE id = ?1)")?;
        while taken.query_row([id], |r| r.get::<_, bool>(0))? {
            id += 1;
        }
        Ok(id)
    }
}

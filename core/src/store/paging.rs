//! Folder pages: by offset (what a windowed list asks for when the user drags the scrollbar)
//! and by key (when it scrolls on from a row it shows).
//!
//! SQLite walks an OFFSET row by row (index entries only: the table lookup is deferred), about
//! 0.1 µs a row. So a page past the middle is read from the other end in reverse, and once
//! the same folder and order is read deep a second time between two writes, the key of every
//! STRIDE-th row is noted ("marks"): later deep pages seek to the nearest mark and walk less
//! than STRIDE rows. Any write drops the marks (the generation changes); a folder being synced
//! batch after batch thus only ever pays the plain walk, never a rebuild per batch.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::rows::{MESSAGE_COLS, message_from_row};
use super::{FolderId, MessageId, MessageRow, SortOrder, Store, StoreError};

/// Rows between two marks.
const STRIDE: u64 = 512;
/// Offsets (from the nearer end) up to this are walked without marks.
const DIRECT: u64 = 4096;

/// The sort key of one row; `sender` is only filled for SenderAsc.
#[derive(Clone, Debug)]
struct Key {
    date: i64,
    id: MessageId,
    sender: String,
}

/// Marks per (folder, order), with the store generation they were taken in.
#[derive(Debug, Default)]
pub(super) struct PageMarks {
    marks: HashMap<(FolderId, u8), (u64, Vec<Key>)>,
    /// The generation of the last deep read without marks: a second one builds them.
    misses: HashMap<(FolderId, u8), u64>,
}

fn order_code(order: SortOrder) -> u8 {
    match order {
        SortOrder::DateDesc => 0,
        SortOrder::DateAsc => 1,
        SortOrder::SenderAsc => 2,
    }
}

/// ORDER BY clauses, forward and exactly reversed. Each ends in the id so the order is total
/// and matches an index (see schema), which makes reading from the other end exact.
fn order_sql(order: SortOrder, reverse: bool) -> &'static str {
    match (order, reverse) {
        (SortOrder::DateDesc, false) | (SortOrder::DateAsc, true) => "m.date DESC, m.id DESC",
        (SortOrder::DateDesc, true) | (SortOrder::DateAsc, false) => "m.date ASC, m.id ASC",
        (SortOrder::SenderAsc, false) => "m.sender_sort ASC, m.date DESC, m.id DESC",
        (SortOrder::SenderAsc, true) => "m.sender_sort DESC, m.date ASC, m.id ASC",
    }
}

/// Rows at or after `key` in `order` (`at_or_after`) or strictly after it, from `offset`.
/// Written as a range on the index's leading column plus a filter for the few ties, which
/// SQLite plans reliably.
fn rows_from_key(
    conn: &Connection,
    folder: FolderId,
    key: &Key,
    at_or_after: bool,
    order: SortOrder,
    limit: u64,
    offset: u64,
) -> Result<Vec<MessageRow>, StoreError> {
    let (id_desc, id_asc) = if at_or_after {
        ("m.id <= ?3", "m.id >= ?3")
    } else {
        ("m.id < ?3", "m.id > ?3")
    };
    let cond = match order {
        SortOrder::DateDesc => format!("m.date <= ?2 AND (m.date < ?2 OR {id_desc})"),
        SortOrder::DateAsc => format!("m.date >= ?2 AND (m.date > ?2 OR {id_asc})"),
        SortOrder::SenderAsc => format!(
            "m.sender_sort >= ?6 AND (m.sender_sort > ?6 OR m.date < ?2 OR \
             (m.date = ?2 AND {id_desc}))"
        ),
    };
    let sql = format!(
        "SELECT {MESSAGE_COLS} FROM message m WHERE m.folder = ?1 AND {cond} \
         ORDER BY {} LIMIT ?4 OFFSET ?5",
        order_sql(order, false)
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let (limit, offset) = (limit as i64, offset as i64);
    let rows = if order == SortOrder::SenderAsc {
        let p = params![folder, key.date, key.id, limit, offset, key.sender];
        stmt.query_map(p, message_from_row)?
            .collect::<Result<_, _>>()?
    } else {
        let p = params![folder, key.date, key.id, limit, offset];
        stmt.query_map(p, message_from_row)?
            .collect::<Result<_, _>>()?
    };
    Ok(rows)
}

/// One pass over the folder's index in `order`, keeping every STRIDE-th key.
fn build_marks(
    conn: &Connection,
    folder: FolderId,
    order: SortOrder,
) -> Result<Vec<Key>, StoreError> {
    // Date orders must not name sender_sort: the (folder, date) index lacks it.
    let cols = if order == SortOrder::SenderAsc {
        "m.date, m.id, m.sender_sort"
    } else {
        "m.date, m.id"
    };
    let sql = format!(
        "SELECT {cols} FROM message m WHERE m.folder = ?1 ORDER BY {}",
        order_sql(order, false)
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([folder])?;
    let mut keys = Vec::new();
    let mut n: u64 = 0;
    let key = |r: &Row<'_>| -> rusqlite::Result<Key> {
        Ok(Key {
            date: r.get(0)?,
            id: r.get(1)?,
            sender: if order == SortOrder::SenderAsc {
                r.get(2)?
            } else {
                String::new()
            },
        })
    };
    while let Some(r) = rows.next()? {
        if n.is_multiple_of(STRIDE) {
            keys.push(key(r)?);
        }
        n += 1;
    }
    Ok(keys)
}

impl Store {
    /// Rows `offset..offset+limit` of a folder in the given order.
    pub fn page(
        &self,
        folder: FolderId,
        offset: u32,
        limit: u32,
        order: SortOrder,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let total: Option<i64> = self
            .conn
            .prepare_cached("SELECT total FROM folder WHERE id = ?1")?
            .query_row([folder], |r| r.get(0))
            .optional()?;
        let total = total.unwrap_or(0).max(0) as u64;
        let (offset, limit) = (u64::from(offset), u64::from(limit));
        if offset >= total || limit == 0 {
            return Ok(Vec::new());
        }
        let limit = limit.min(total - offset);
        let reverse = offset > total / 2;
        let skip = if reverse {
            total - offset - limit
        } else {
            offset
        };
        if skip > DIRECT
            && let Some(rows) = self.page_by_marks(folder, offset, limit, order)?
        {
            return Ok(rows);
        }
        let sql = format!(
            "SELECT {MESSAGE_COLS} FROM message m WHERE m.folder = ?1 ORDER BY {} \
             LIMIT ?2 OFFSET ?3",
            order_sql(order, reverse)
        );
        let mut rows: Vec<MessageRow> = self
            .conn
            .prepare_cached(&sql)?
            .query_map(params![folder, limit as i64, skip as i64], message_from_row)?
            .collect::<Result<_, _>>()?;
        if reverse {
            rows.reverse();
        }
        Ok(rows)
    }

    /// A deep page through the marks; None when they are not (yet) worth building.
    fn page_by_marks(
        &self,
        folder: FolderId,
        offset: u64,
        limit: u64,
        order: SortOrder,
    ) -> Result<Option<Vec<MessageRow>>, StoreError> {
        let k = (folder, order_code(order));
        let mut cache = self.marks.borrow_mut();
        let fresh = matches!(cache.marks.get(&k), Some((g, _)) if *g == self.generation);
        if !fresh {
            if cache.misses.get(&k) != Some(&self.generation) {
                cache.misses.insert(k, self.generation);
                return Ok(None);
            }
            let keys = build_marks(&self.conn, folder, order)?;
            cache.marks.insert(k, (self.generation, keys));
        }
        let Some((_, keys)) = cache.marks.get(&k) else {
            return Ok(None);
        };
        let i = offset / STRIDE;
        let Some(key) = keys.get(i as usize) else {
            return Ok(None);
        };
        rows_from_key(
            &self.conn,
            folder,
            key,
            true,
            order,
            limit,
            offset - i * STRIDE,
        )
        .map(Some)
    }

    /// Keyset paging: the `limit` rows after (in `order`) the row `after`, or the first rows
    /// when `after` is None. Costs the same at any depth. Empty if `after` no longer exists.
    pub fn page_after(
        &self,
        folder: FolderId,
        after: Option<MessageId>,
        limit: u32,
        order: SortOrder,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let Some(after) = after else {
            return self.page(folder, 0, limit, order);
        };
        let key = self
            .conn
            .prepare_cached("SELECT date, id, sender_sort FROM message WHERE id = ?1")?
            .query_row([after], |r| {
                Ok(Key {
                    date: r.get(0)?,
                    id: r.get(1)?,
                    sender: r.get(2)?,
                })
            })
            .optional()?;
        match key {
            Some(key) => rows_from_key(&self.conn, folder, &key, false, order, limit.into(), 0),
            None => Ok(Vec::new()),
        }
    }
}

//! Message headers from the server: insert (with adoption of local-only rows), flag updates,
//! expunges, uid bookkeeping.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::folders::folder_key;
use super::ids::Ids;
use super::queue::flag_overlay;
use super::threads::{ThreadInput, Threader, clean_id, linked_thread};
use super::{Address, Flags, FolderId, MessageId, NewMessage, Store, StoreError};

/// A Date header this far after the internal date is a spammer's or a broken clock's.
const MAX_DATE_SKEW_SECS: i64 = 24 * 60 * 60;

/// The date the list shows and sorts by: the Date header unless it is missing or absurd.
pub(super) fn sane_date(header: Option<i64>, internal: i64) -> i64 {
    match header {
        Some(d) if d > 0 && (internal <= 0 || d <= internal.saturating_add(MAX_DATE_SKEW_SECS)) => {
            d
        }
        _ => internal,
    }
}

/// The sort key for SenderAsc: display name if any, else the address, case-folded.
fn sender_sort(from: &[Address]) -> String {
    from.first()
        .map(|a| {
            let name = a.name.as_deref().map(str::trim).unwrap_or("");
            let s = if name.is_empty() {
                a.email.as_str()
            } else {
                name
            };
            s.to_lowercase()
        })
        .unwrap_or_default()
}

/// "name email name email ..." for the full-text index (the same text the V2 backfill builds).
pub(super) fn address_text<'a>(lists: impl IntoIterator<Item = &'a [Address]>) -> String {
    let mut out = String::new();
    for a in lists.into_iter().flatten() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(a.name.as_deref().unwrap_or(""));
        out.push(' ');
        out.push_str(&a.email);
    }
    out
}

fn clean_opt(id: &Option<String>) -> Option<&str> {
    id.as_deref().map(clean_id).filter(|s| !s.is_empty())
}

/// A message's row in the full-text index, written after the batch's message rows: FTS5
/// flushes its in-memory index at every statement savepoint (a trigger makes one) and every
/// time the rowid goes down, so index rows go in last, in ascending id order.
pub(super) struct FtsRow {
    id: MessageId,
    sender: String,
    recipients: String,
    subject: String,
    body: String,
}

pub(super) fn insert_fts(conn: &Connection, rows: &mut [FtsRow]) -> Result<(), StoreError> {
    rows.sort_unstable_by_key(|r| r.id);
    let mut stmt = conn.prepare_cached(
        "INSERT INTO message_fts (rowid, sender, recipients, subject, body)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for r in rows.iter() {
        stmt.execute(params![r.id, r.sender, r.recipients, r.subject, r.body])?;
    }
    Ok(())
}

/// The index row of a stored message, built from its columns (the text `insert_row` gives
/// it); None if there is no such message.
pub(super) fn fts_row_of(
    conn: &Connection,
    id: MessageId,
    body: String,
) -> Result<Option<FtsRow>, StoreError> {
    let cols = conn
        .prepare_cached(
            "SELECT subject, addr_from, addr_to, addr_cc, addr_bcc FROM message WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .optional()?;
    let Some((subject, from, to, cc, bcc)) = cols else {
        return Ok(None);
    };
    let list = |s: &str| serde_json::from_str::<Vec<Address>>(s);
    let (from, to, cc, bcc) = (list(&from)?, list(&to)?, list(&cc)?, list(&bcc)?);
    Ok(Some(FtsRow {
        id,
        sender: address_text([from.as_slice()]),
        recipients: address_text([to.as_slice(), cc.as_slice(), bcc.as_slice()]),
        subject,
        body,
    }))
}

/// Adjusts a folder's counts for inserted rows (updates and deletes have triggers; an insert
/// trigger would cost a statement savepoint per row).
pub(super) fn add_counts(
    conn: &Connection,
    folder: FolderId,
    total: i64,
    unread: i64,
) -> Result<(), StoreError> {
    if total != 0 || unread != 0 {
        conn.prepare_cached(
            "UPDATE folder SET total = total + ?2, unread = unread + ?3 WHERE id = ?1",
        )?
        .execute(params![folder, total, unread])?;
    }
    Ok(())
}

/// Inserts a new message row with its thread; returns its id and its index row, which the
/// caller writes with [`insert_fts`] and counts with [`add_counts`].
pub(super) fn insert_row(
    conn: &Connection,
    ids: &mut Ids,
    threader: &Threader<'_>,
    folder: FolderId,
    uid: Option<u32>,
    m: &NewMessage,
    body_text: &str,
) -> Result<(MessageId, FtsRow), StoreError> {
    let date = sane_date(m.date, m.internal_date);
    let message_id = clean_opt(&m.message_id);
    let in_reply_to = clean_opt(&m.in_reply_to);
    let input = ThreadInput {
        message_id,
        in_reply_to,
        references: &m.references,
        subject: &m.subject,
        date,
    };
    let subject = input.subject_key();
    let thread = threader.assign(conn, ids, &input)?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO message (id, folder, uid, flags, keywords, modseq, date, internal_date,
            size, subject, sender_sort, addr_from, addr_to, addr_cc, addr_bcc, addr_reply_to,
            message_id, in_reply_to, refs, thread, subject_key, subject_kind, has_attachment)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
            ?18, ?19, ?20, ?21, ?22, ?23)",
    )?;
    let keywords = serde_json::to_string(&m.keywords)?;
    let from = serde_json::to_string(&m.from)?;
    let to = serde_json::to_string(&m.to)?;
    let cc = serde_json::to_string(&m.cc)?;
    let bcc = serde_json::to_string(&m.bcc)?;
    let reply_to = serde_json::to_string(&m.reply_to)?;
    let refs = serde_json::to_string(&m.references)?;
    let sender = sender_sort(&m.from);
    let mut id = ids.next_message(date);
    // Trying the insert is cheaper than probing first; a taken id (see ids.rs) is rare.
    loop {
        let done = stmt.execute(params![
            id,
            folder,
            uid,
            m.flags.0,
            keywords,
            m.modseq as i64,
            date,
            m.internal_date,
            m.size,
            m.subject,
            sender,
            from,
            to,
            cc,
            bcc,
            reply_to,
            message_id,
            in_reply_to,
            refs,
            thread,
            subject.key,
            subject.kind,
            m.has_attachment,
        ]);
        match done {
            Ok(_) => break,
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                id += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
    let fts = FtsRow {
        id,
        sender: address_text([m.from.as_slice()]),
        recipients: address_text([m.to.as_slice(), m.cc.as_slice(), m.bcc.as_slice()]),
        subject: m.subject.clone(),
        body: body_text.to_string(),
    };
    Ok((id, fts))
}

/// Gives a local-only row its server uid. A row the sync already inserted at that uid (before
/// the engine reported the uid) is the same message: it goes, and the local row, which has the
/// body and history, stays.
pub(super) fn assign_uid(
    conn: &Connection,
    message: MessageId,
    folder: FolderId,
    uid: u32,
) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM message WHERE folder = ?1 AND uid = ?2 AND id != ?3")?
        .execute(params![folder, uid, message])?;
    conn.prepare_cached("UPDATE message SET uid = ?2 WHERE id = ?1")?
        .execute(params![message, uid])?;
    Ok(())
}

impl Store {
    /// Inserts a batch in one transaction (upsert on (folder, uid)). A local-only row (uid
    /// None) in the same folder with the same Message-ID is adopted (gets the uid) instead of
    /// inserting a duplicate. Assigns thread ids. Updates counts and the FTS index.
    ///
    /// A uid already stored only has its flags, keywords and modseq refreshed: headers of a
    /// uid never change within one UIDVALIDITY. An adopted row takes the server's flags.
    pub fn insert_messages(
        &mut self,
        folder: FolderId,
        batch: &[NewMessage],
    ) -> Result<(), StoreError> {
        self.insert_batch(folder, batch, false)
    }

    /// [`Store::insert_messages`] without the full-text index, which is most of the cost of
    /// an insert: the new rows are noted as pending and [`Store::index_pending`] indexes them
    /// later. Search does not find them until then. For a first sync.
    pub fn insert_messages_unindexed(
        &mut self,
        folder: FolderId,
        batch: &[NewMessage],
    ) -> Result<(), StoreError> {
        self.set_bulk(true)?;
        self.insert_batch(folder, batch, true)
    }

    /// Writes the full-text index of up to `limit` pending rows, newest first, in one
    /// transaction; returns how many it indexed (0: none are left).
    pub fn index_pending(&mut self, limit: u32) -> Result<usize, StoreError> {
        // The first sync is over: checkpoints resume (the next commit runs one).
        self.set_bulk(false)?;
        let tx = self.write_tx()?;
        let ids: Vec<MessageId> = tx
            .prepare_cached("SELECT id FROM fts_pending ORDER BY id DESC LIMIT ?1")?
            .query_map([limit], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if ids.is_empty() {
            return Ok(0);
        }
        let mut rows = Vec::with_capacity(ids.len());
        for &id in &ids {
            if let Some(row) = fts_row_of(&tx, id, String::new())? {
                rows.push(row);
            }
        }
        insert_fts(&tx, &mut rows)?;
        // The ids are a contiguous stretch of the table's top: one range delete.
        let (lo, hi) = (ids[ids.len() - 1], ids[0]);
        tx.prepare_cached("DELETE FROM fts_pending WHERE id BETWEEN ?1 AND ?2")?
            .execute([lo, hi])?;
        tx.commit()?;
        Ok(ids.len())
    }

    /// How many rows wait for [`Store::index_pending`].
    pub fn pending_index_count(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT count(*) FROM fts_pending")?
            .query_row([], |r| r.get(0))?)
    }

    fn insert_batch(
        &mut self,
        folder: FolderId,
        batch: &[NewMessage],
        defer_index: bool,
    ) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        let key = folder_key(&tx, folder)?;
        let threader = Threader {
            account: &key.account,
        };
        let mut ids = Ids::load(&tx)?;
        let mut fts = Vec::new();
        let mut pending: Vec<MessageId> = Vec::new();
        let (mut total, mut unread) = (0, 0);
        // Adoption lookups cost an index probe per message; skip them when nothing waits.
        let any_local: bool = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM message WHERE folder = ?1 AND uid IS NULL)",
            )?
            .query_row([folder], |r| r.get(0))?;
        // The batch's uids already stored, in one statement.
        let uids: Vec<u32> = batch.iter().map(|m| m.uid).collect();
        let mut known: HashMap<u32, MessageId> = tx
            .prepare_cached(
                "SELECT uid, id FROM message
                 WHERE folder = ?1 AND uid IN (SELECT value FROM json_each(?2))",
            )?
            .query_map(params![folder, serde_json::to_string(&uids)?], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<_, _>>()?;
        for m in batch {
            if let Some(&id) = known.get(&m.uid) {
                tx.prepare_cached(
                    "UPDATE message SET flags = ?2, keywords = ?3, modseq = ?4 WHERE id = ?1",
                )?
                .execute(params![
                    id,
                    m.flags.0,
                    serde_json::to_string(&m.keywords)?,
                    m.modseq as i64
                ])?;
                continue;
            }
            let adoptee: Option<MessageId> = match clean_opt(&m.message_id) {
                Some(mid) if any_local => tx
                    .prepare_cached(
                        "SELECT id FROM message
                         WHERE folder = ?1 AND message_id = ?2 AND uid IS NULL
                         ORDER BY id LIMIT 1",
                    )?
                    .query_row(params![folder, mid], |r| r.get(0))
                    .optional()?,
                _ => None,
            };
            if let Some(id) = adoptee {
                known.insert(m.uid, id);
                tx.prepare_cached(
                    "UPDATE message SET uid = ?2, flags = ?3, keywords = ?4, modseq = ?5,
                        internal_date = ?6, size = ?7 WHERE id = ?1",
                )?
                .execute(params![
                    id,
                    m.uid,
                    m.flags.0,
                    serde_json::to_string(&m.keywords)?,
                    m.modseq as i64,
                    m.internal_date,
                    m.size
                ])?;
                continue;
            }
            let (id, row) = insert_row(&tx, &mut ids, &threader, folder, Some(m.uid), m, "")?;
            known.insert(m.uid, id);
            if defer_index {
                pending.push(id);
            } else {
                fts.push(row);
            }
            total += 1;
            unread += i64::from(!m.flags.contains(Flags::SEEN));
        }
        add_counts(&tx, folder, total, unread)?;
        insert_fts(&tx, &mut fts)?;
        if !pending.is_empty() {
            pending.sort_unstable();
            let mut stmt = tx.prepare_cached("INSERT INTO fts_pending (id) VALUES (?1)")?;
            for id in &pending {
                stmt.execute([id])?;
            }
        }
        ids.save(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Applies server flag changes: (uid, flags, keywords, modseq); unknown uids are ignored.
    /// Flag changes the user made that are still queued are re-applied on top, so a sync that
    /// runs before the queue is replayed does not flip the message back.
    pub fn update_flags(
        &mut self,
        folder: FolderId,
        changes: &[(u32, Flags, Vec<String>, u64)],
    ) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        let key = folder_key(&tx, folder)?;
        let overlay = flag_overlay(&tx, folder, key.uidvalidity)?;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE message SET flags = ?3, keywords = ?4, modseq = ?5
                 WHERE folder = ?1 AND uid = ?2",
            )?;
            for (uid, flags, keywords, modseq) in changes {
                let mut flags = *flags;
                for (add, remove) in overlay.get(uid).into_iter().flatten() {
                    flags.insert(*add);
                    flags.remove(*remove);
                }
                stmt.execute(params![
                    folder,
                    uid,
                    flags.0,
                    serde_json::to_string(keywords)?,
                    *modseq as i64
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Drops messages the server expunged (bodies, counts and index follow).
    pub fn remove_uids(&mut self, folder: FolderId, uids: &[u32]) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        // One statement, ids ascending: see FtsRow on why the index wants that.
        tx.prepare_cached(
            "DELETE FROM message WHERE id IN (
                SELECT id FROM message
                WHERE folder = ?1 AND uid IN (SELECT value FROM json_each(?2)) ORDER BY id)",
        )?
        .execute(params![folder, serde_json::to_string(uids)?])?;
        tx.commit()?;
        Ok(())
    }

    /// Every known uid of the folder, ascending.
    pub fn uids(&self, folder: FolderId) -> Result<Vec<u32>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT uid FROM message WHERE folder = ?1 AND uid IS NOT NULL ORDER BY uid",
            )?
            .query_map([folder], |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    }

    pub fn max_uid(&self, folder: FolderId) -> Result<Option<u32>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT max(uid) FROM message WHERE folder = ?1")?
            .query_row([folder], |r| r.get(0))?)
    }

    pub fn min_uid(&self, folder: FolderId) -> Result<Option<u32>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT min(uid) FROM message WHERE folder = ?1")?
            .query_row([folder], |r| r.get(0))?)
    }

    /// Gives a local-only row the uid the server assigned (COPYUID/APPENDUID). A duplicate row
    /// the sync may already have inserted at that uid is removed in favour of this one.
    /// [`Store::complete_op`] does this race-free for rows created by queued ops.
    pub fn set_uid(&mut self, message: MessageId, uid: u32) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        let folder: FolderId = tx
            .prepare_cached("SELECT folder FROM message WHERE id = ?1")?
            .query_row([message], |r| r.get(0))
            .optional()?
            .ok_or(StoreError::NoSuchMessage(message))?;
        assign_uid(&tx, message, folder, uid)?;
        tx.commit()?;
        Ok(())
    }

    /// The uid of a message with this Message-ID in the folder (the highest, if duplicated).
    pub fn uid_by_message_id(
        &self,
        folder: FolderId,
        message_id: &str,
    ) -> Result<Option<u32>, StoreError> {
        let message_id = clean_id(message_id);
        let Some(account) = self
            .conn
            .prepare_cached("SELECT account FROM folder WHERE id = ?1")?
            .query_row([folder], |r| r.get::<_, String>(0))
            .optional()?
        else {
            return Ok(None);
        };
        let Some(thread) = linked_thread(&self.conn, &account, message_id)? else {
            return Ok(None);
        };
        Ok(self
            .conn
            .prepare_cached(
                "SELECT uid FROM message WHERE thread = ?1 AND folder = ?2 AND message_id = ?3
                 AND uid IS NOT NULL ORDER BY uid DESC LIMIT 1",
            )?
            .query_row(params![thread, folder, message_id], |r| r.get(0))
            .optional()?)
    }
}

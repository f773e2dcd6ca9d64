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

/// The per-row work of an insert that needs no database: thread keys, the normalised
/// subject, the JSON columns. [`Store::prepare_headers`] does it ahead, off the store.
pub(super) struct RowPrep {
    input: ThreadInput,
    sender: String,
    keywords: String,
    from: String,
    to: String,
    cc: String,
    bcc: String,
    reply_to: String,
    refs: String,
}

fn prep_row(account: &str, m: &NewMessage) -> Result<RowPrep, StoreError> {
    Ok(RowPrep {
        input: ThreadInput::new(
            account,
            clean_opt(&m.message_id),
            clean_opt(&m.in_reply_to),
            &m.references,
            &m.subject,
            sane_date(m.date, m.internal_date),
        ),
        sender: sender_sort(&m.from),
        keywords: json_list(&m.keywords)?,
        from: json_list(&m.from)?,
        to: json_list(&m.to)?,
        cc: json_list(&m.cc)?,
        bcc: json_list(&m.bcc)?,
        reply_to: json_list(&m.reply_to)?,
        refs: json_list(&m.references)?,
    })
}

/// Fetched headers with the per-row work of their insert done (see
/// [`Store::prepare_headers`]), for [`Store::insert_prepared_unindexed`].
pub struct PreparedHeaders {
    account: String,
    rows: Vec<RowPrep>,
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
    let mut stmt = conn.prepare_cached(INSERT_MESSAGE)?;
    let prep = prep_row(threader.account(), m)?;
    let id = insert_message(conn, &mut stmt, ids, threader, folder, uid, m, prep)?;
    Ok((id, fts_row(id, m, body_text)))
}

/// The index row [`insert_row`] returns.
fn fts_row(id: MessageId, m: &NewMessage, body_text: &str) -> FtsRow {
    FtsRow {
        id,
        sender: address_text([m.from.as_slice()]),
        recipients: address_text([m.to.as_slice(), m.cc.as_slice(), m.bcc.as_slice()]),
        subject: m.subject.clone(),
        body: body_text.to_string(),
    }
}

/// JSON of a list, without the serializer for the common empty one.
fn json_list<T: serde::Serialize>(list: &[T]) -> Result<String, StoreError> {
    if list.is_empty() {
        Ok("[]".to_owned())
    } else {
        Ok(serde_json::to_string(list)?)
    }
}

const INSERT_MESSAGE: &str = "INSERT INTO message (id, folder, uid, flags, keywords, modseq,
        date, internal_date, size, subject, sender_sort, addr_from, addr_to, addr_cc, addr_bcc,
        addr_reply_to, message_id, in_reply_to, refs, thread, subject_key, subject_kind,
        has_attachment)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
        ?20, ?21, ?22, ?23)";

/// [`insert_row`] without the index row; `stmt` is [`INSERT_MESSAGE`], prepared once for a
/// batch; `prep` is `m`'s, made for the threader's account.
#[allow(clippy::too_many_arguments)]
fn insert_message(
    conn: &Connection,
    stmt: &mut rusqlite::Statement<'_>,
    ids: &mut Ids,
    threader: &Threader<'_>,
    folder: FolderId,
    uid: Option<u32>,
    m: &NewMessage,
    prep: RowPrep,
) -> Result<MessageId, StoreError> {
    let thread = threader.assign(conn, ids, &prep.input)?;
    let date = prep.input.date;
    let subject = prep.input.subject;
    let mut id = ids.next_message(date);
    // Trying the insert is cheaper than probing first; a taken id (see ids.rs) is rare.
    loop {
        let done = stmt.execute(params![
            id,
            folder,
            uid,
            m.flags.0,
            prep.keywords,
            m.modseq as i64,
            date,
            m.internal_date,
            m.size,
            m.subject,
            prep.sender,
            prep.from,
            prep.to,
            prep.cc,
            prep.bcc,
            prep.reply_to,
            clean_opt(&m.message_id),
            clean_opt(&m.in_reply_to),
            prep.refs,
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
    Ok(id)
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
        self.insert_batch(folder, batch, false, None)
    }

    /// [`Store::insert_messages`] without the full-text index, which is most of the cost of
    /// an insert: the new rows are noted as pending and [`Store::index_pending`] indexes them
    /// later. Search does not find them until then, nor address completion until
    /// [`Store::fold_pending_addresses`] (or any ordinary write) reads them. For a first sync.
    pub fn insert_messages_unindexed(
        &mut self,
        folder: FolderId,
        batch: &[NewMessage],
    ) -> Result<(), StoreError> {
        self.set_bulk(true)?;
        self.insert_batch(folder, batch, true, None)
    }

    /// Orders a batch as the message table and its date indexes are keyed (by the date the
    /// list shows), so that inserting it walks each B-tree page once, not once per row that
    /// lands there: a folder's UIDs need not follow its dates (moved or imported mail).
    pub fn order_for_insert(batch: &mut [NewMessage]) {
        batch.sort_by_key(|m| sane_date(m.date, m.internal_date));
    }

    /// Does the per-row work of inserting `batch` into one of `account`'s folders that needs
    /// no database (JSON columns, thread keys, subject keys), so a first sync can do it while
    /// the store writes the previous batch; see [`Store::insert_prepared_unindexed`].
    pub fn prepare_headers(
        account: &str,
        batch: &[NewMessage],
    ) -> Result<PreparedHeaders, StoreError> {
        Ok(PreparedHeaders {
            account: account.to_owned(),
            rows: batch
                .iter()
                .map(|m| prep_row(account, m))
                .collect::<Result<_, _>>()?,
        })
    }

    /// [`Store::insert_messages_unindexed`] with the work of [`Store::prepare_headers`]
    /// done ahead (`prepared` is `batch`'s; made for another account, or another batch, it
    /// is done again).
    pub fn insert_prepared_unindexed(
        &mut self,
        folder: FolderId,
        batch: &[NewMessage],
        prepared: PreparedHeaders,
    ) -> Result<(), StoreError> {
        self.set_bulk(true)?;
        self.insert_batch(folder, batch, true, Some(prepared))
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
        bulk: bool,
        prepared: Option<PreparedHeaders>,
    ) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        let key = folder_key(&tx, folder)?;
        let threader = Threader::new(&key.account);
        let mut ids = Ids::load(&tx)?;
        if bulk {
            ids.defer_addresses();
        }
        let mut fts = Vec::new();
        let mut pending: Vec<MessageId> = Vec::new();
        let (mut total, mut unread) = (0, 0);
        // Adoption lookups cost an index probe per message; skip them when nothing waits.
        let any_local: bool = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM message WHERE folder = ?1 AND uid IS NULL)",
            )?
            .query_row([folder], |r| r.get(0))?;
        // The batch's uids already stored, in one statement; none when the batch lies
        // outside the stored range, as each batch of a first sync does.
        let (low, high): (Option<u32>, Option<u32>) = tx
            .prepare_cached(
                "SELECT (SELECT min(uid) FROM message WHERE folder = ?1),
                        (SELECT max(uid) FROM message WHERE folder = ?1)",
            )?
            .query_row([folder], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let uids: Vec<u32> = batch
            .iter()
            .map(|m| m.uid)
            .filter(|u| low.is_some_and(|l| l <= *u) && high.is_some_and(|h| *u <= h))
            .collect();
        let mut known: HashMap<u32, MessageId> = if uids.is_empty() {
            HashMap::new()
        } else {
            tx.prepare_cached(
                "SELECT uid, id FROM message
                 WHERE folder = ?1 AND uid IN (SELECT value FROM json_each(?2))",
            )?
            .query_map(params![folder, serde_json::to_string(&uids)?], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<_, _>>()?
        };
        let prepared = prepared
            .filter(|p| p.account == key.account && p.rows.len() == batch.len())
            .map(|p| p.rows);
        let mut preps: Vec<Option<RowPrep>> = match prepared {
            Some(rows) => rows
                .into_iter()
                .zip(batch)
                .map(|(p, m)| (!known.contains_key(&m.uid)).then_some(p))
                .collect(),
            None => batch
                .iter()
                .map(|m| {
                    (!known.contains_key(&m.uid))
                        .then(|| prep_row(&key.account, m))
                        .transpose()
                })
                .collect::<Result<_, _>>()?,
        };
        // One lookup of every thread link (and subject) the new rows need, not one each.
        // Rows adopted below are looked up needlessly; they are rare.
        threader.read_ahead(&tx, preps.iter().flatten().map(|p| &p.input))?;
        let mut insert = tx.prepare_cached(INSERT_MESSAGE)?;
        for (m, prep) in batch.iter().zip(preps.iter_mut()) {
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
            let prep = match prep.take() {
                Some(prep) => prep,
                None => prep_row(&key.account, m)?,
            };
            let id = insert_message(
                &tx,
                &mut insert,
                &mut ids,
                &threader,
                folder,
                Some(m.uid),
                m,
                prep,
            )?;
            known.insert(m.uid, id);
            if bulk {
                pending.push(id);
            } else {
                fts.push(fts_row(id, m, ""));
            }
            total += 1;
            unread += i64::from(!m.flags.contains(Flags::SEEN));
        }
        drop(insert);
        threader.write_links(&tx)?;
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

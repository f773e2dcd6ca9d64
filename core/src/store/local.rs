//! User actions applied locally at once, each with the server ops it implies queued in the
//! same transaction.
//!
//! Rows with uid None have no server copy at a known uid yet; they were created by a queued
//! Move/Copy/Append (their "creating op"). Acting on such a row edits that op instead of
//! queueing one that names a uid nobody knows:
//! - set flags: local only; the replay of the creating op carries the row's flags;
//! - move: the creating op's destination becomes the new folder (a Move back to its source
//!   cancels the Move and the row gets its old uid back);
//! - delete for good: a queued Copy/Append is dropped, a queued Move becomes an Expunge at
//!   the source;
//! - copy: a source with a cached body is uploaded (Append), else Copy with uid 0;
//! - if no creating op is queued (replayed, but the engine never reported the new uid), the
//!   op is queued with uid 0 / uidvalidity 0: "find it by Message-ID".
//!
//! An edit can land while the engine replays that very op; the engine should then finish it
//! with [`Store::complete_op`], which turns the edited op into the follow-up it implies.
//!
//! Unknown message ids are skipped: the UI may act on a row a sync just removed.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::folders::{FolderKey, folder_key, folder_with_role};
use super::ids::Ids;
use super::messages::{add_counts, assign_uid, insert_fts, insert_row};
use super::queue::{creating_op, delete, enqueue, rewrite};
use super::threads::Threader;
use super::{Flags, FolderId, FolderRole, MessageId, NewMessage, PendingOp, Store, StoreError};

/// What an action needs to know about a message.
struct LocalRow {
    id: MessageId,
    folder: FolderId,
    uid: Option<u32>,
    flags: Flags,
    message_id: Option<String>,
    has_body: bool,
    account: String,
    uidvalidity: Option<u32>,
}

fn load_row(conn: &Connection, id: MessageId) -> Result<Option<LocalRow>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT m.id, m.folder, m.uid, m.flags, m.message_id, m.has_body, f.account,
                    f.uidvalidity
             FROM message m JOIN folder f ON f.id = m.folder WHERE m.id = ?1",
        )?
        .query_row([id], |r| {
            Ok(LocalRow {
                id: r.get(0)?,
                folder: r.get(1)?,
                uid: r.get(2)?,
                flags: Flags(r.get(3)?),
                message_id: r.get(4)?,
                has_body: r.get(5)?,
                account: r.get(6)?,
                uidvalidity: r.get(7)?,
            })
        })
        .optional()?)
}

fn set_folder(conn: &Connection, id: MessageId, folder: FolderId) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE message SET folder = ?2, uid = NULL WHERE id = ?1")?
        .execute(params![id, folder])?;
    Ok(())
}

/// Moves one row to `to` (same account, different folder) and queues or edits the op.
fn move_row(conn: &Connection, row: &LocalRow, to: FolderId) -> Result<(), StoreError> {
    if let Some(uid) = row.uid {
        enqueue(
            conn,
            &row.account,
            &PendingOp::Move {
                from: row.folder,
                uid,
                uidvalidity: row.uidvalidity.unwrap_or(0),
                message_id: row.message_id.clone(),
                to,
                local: row.id,
            },
        )?;
        return set_folder(conn, row.id, to);
    }
    match creating_op(conn, row.id)? {
        Some((
            op_id,
            PendingOp::Move {
                from,
                uid,
                uidvalidity,
                ..
            },
        )) if from == to => {
            // Moved back before the server saw the move: nothing to do there.
            delete(conn, op_id)?;
            set_folder(conn, row.id, to)?;
            if folder_key(conn, from)?.uidvalidity == Some(uidvalidity) {
                assign_uid(conn, row.id, from, uid)?;
            }
            // Otherwise the folder was reset; the next sync adopts the row by Message-ID.
        }
        Some((op_id, mut op)) if op.destination().is_some() => {
            op.set_destination(to);
            rewrite(conn, op_id, &op)?;
            set_folder(conn, row.id, to)?;
        }
        _ => {
            enqueue(
                conn,
                &row.account,
                &PendingOp::Move {
                    from: row.folder,
                    uid: 0,
                    uidvalidity: 0,
                    message_id: row.message_id.clone(),
                    to,
                    local: row.id,
                },
            )?;
            set_folder(conn, row.id, to)?;
        }
    }
    Ok(())
}

/// Deletes one row for good and queues (or edits) what makes the server forget it.
fn expunge_row(conn: &Connection, row: &LocalRow) -> Result<(), StoreError> {
    match (row.uid, creating_op(conn, row.id)?) {
        (Some(uid), _) => {
            enqueue(
                conn,
                &row.account,
                &PendingOp::Expunge {
                    folder: row.folder,
                    uid,
                    uidvalidity: row.uidvalidity.unwrap_or(0),
                    message_id: row.message_id.clone(),
                },
            )?;
        }
        (
            None,
            Some((
                op_id,
                PendingOp::Move {
                    from,
                    uid,
                    uidvalidity,
                    message_id,
                    ..
                },
            )),
        ) => {
            // The server copy is still in the Move's source.
            let op = PendingOp::Expunge {
                folder: from,
                uid,
                uidvalidity,
                message_id,
            };
            rewrite(conn, op_id, &op)?;
        }
        (None, Some((op_id, PendingOp::Copy { .. }))) => {
            // The server never had this copy.
            delete(conn, op_id)?;
        }
        (None, Some((op_id, PendingOp::Append { .. }))) => {
            // The server may be getting this upload right now (a draft replaced while its
            // last copy uploads): the op becomes "expunge it by Message-ID", which finds
            // nothing if it never arrived and removes it if it did (`complete_op` gives it
            // the new uid). Appended messages are ours, with Message-IDs of their own, so
            // the search cannot hit another message.
            match &row.message_id {
                Some(id) => rewrite(
                    conn,
                    op_id,
                    &PendingOp::Expunge {
                        folder: row.folder,
                        uid: 0,
                        uidvalidity: 0,
                        message_id: Some(id.clone()),
                    },
                )?,
                None => delete(conn, op_id)?,
            }
        }
        (None, _) => {
            // Without a Message-ID the server copy cannot be found: nothing useful to queue.
            if row.message_id.is_some() {
                enqueue(
                    conn,
                    &row.account,
                    &PendingOp::Expunge {
                        folder: row.folder,
                        uid: 0,
                        uidvalidity: 0,
                        message_id: row.message_id.clone(),
                    },
                )?;
            }
        }
    }
    conn.prepare_cached("DELETE FROM message WHERE id = ?1")?
        .execute([row.id])?;
    Ok(())
}

/// The destination of a move or copy, checked to be in the row's account.
fn check_dest(row: &LocalRow, to: FolderId, dest: &FolderKey) -> Result<(), StoreError> {
    if row.account == dest.account {
        Ok(())
    } else {
        Err(StoreError::CrossAccount(row.folder, to))
    }
}

impl Store {
    /// Sets and clears flags; queues SetFlags with the change that actually happened (nothing
    /// if the row already had it). Local-only rows change locally only (see module docs).
    pub fn local_set_flags(
        &mut self,
        ids: &[MessageId],
        add: Flags,
        remove: Flags,
    ) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        for &id in ids {
            let Some(row) = load_row(&tx, id)? else {
                continue;
            };
            let mut new = row.flags;
            new.insert(add);
            new.remove(remove);
            let added = Flags(new.0 & !row.flags.0);
            let removed = Flags(row.flags.0 & !new.0);
            if added.is_empty() && removed.is_empty() {
                continue;
            }
            tx.prepare_cached("UPDATE message SET flags = ?2 WHERE id = ?1")?
                .execute(params![id, new.0])?;
            if let Some(uid) = row.uid {
                let op = PendingOp::SetFlags {
                    folder: row.folder,
                    uid,
                    uidvalidity: row.uidvalidity.unwrap_or(0),
                    message_id: row.message_id.clone(),
                    add: added,
                    remove: removed,
                };
                enqueue(&tx, &row.account, &op)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Moves rows to `to`; each keeps its id, body and thread and gets uid None; op Move.
    pub fn local_move(&mut self, ids: &[MessageId], to: FolderId) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        let dest = folder_key(&tx, to)?;
        for &id in ids {
            let Some(row) = load_row(&tx, id)? else {
                continue;
            };
            if row.folder == to {
                continue;
            }
            check_dest(&row, to, &dest)?;
            move_row(&tx, &row, to)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Copies rows into `to` as new local-only rows (same thread, body and index text); op
    /// Copy. A local-only source with a cached body is uploaded (Append) instead, since the
    /// server has no copy at a known uid to copy from.
    pub fn local_copy(&mut self, ids: &[MessageId], to: FolderId) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        let dest = folder_key(&tx, to)?;
        let mut alloc = Ids::load(&tx)?;
        for &id in ids {
            let Some(row) = load_row(&tx, id)? else {
                continue;
            };
            check_dest(&row, to, &dest)?;
            let date: i64 = tx
                .prepare_cached("SELECT date FROM message WHERE id = ?1")?
                .query_row([id], |r| r.get(0))?;
            let copy = alloc.message(&tx, date)?;
            tx.prepare_cached(
                "INSERT INTO message (id, folder, uid, flags, keywords, modseq, date, internal_date,
                    size, subject, sender_sort, addr_from, addr_to, addr_cc, addr_bcc,
                    addr_reply_to, message_id, in_reply_to, refs, thread, subject_key,
                    subject_kind, has_attachment, has_body)
                 SELECT ?3, ?2, NULL, flags, keywords, 0, date, internal_date, size, subject,
                    sender_sort, addr_from, addr_to, addr_cc, addr_bcc, addr_reply_to,
                    message_id, in_reply_to, refs, thread, subject_key, subject_kind,
                    has_attachment, has_body
                 FROM message WHERE id = ?1",
            )?
            .execute(params![id, to, copy])?;
            add_counts(&tx, to, 1, i64::from(!row.flags.contains(Flags::SEEN)))?;
            tx.prepare_cached(
                "INSERT INTO body (message, raw) SELECT ?2, raw FROM body WHERE message = ?1",
            )?
            .execute(params![id, copy])?;
            tx.prepare_cached(
                "INSERT INTO message_fts (rowid, sender, recipients, subject, body)
                 SELECT ?2, sender, recipients, subject, body FROM message_fts WHERE rowid = ?1",
            )?
            .execute(params![id, copy])?;
            // A source not indexed yet leaves its copy to index_pending too.
            tx.prepare_cached(
                "INSERT INTO fts_pending (id) SELECT ?2 FROM fts_pending WHERE id = ?1",
            )?
            .execute(params![id, copy])?;
            let op = match row.uid {
                Some(uid) => PendingOp::Copy {
                    from: row.folder,
                    uid,
                    uidvalidity: row.uidvalidity.unwrap_or(0),
                    message_id: row.message_id.clone(),
                    to,
                    local: copy,
                },
                None if row.has_body => PendingOp::Append {
                    folder: to,
                    local: copy,
                },
                None => PendingOp::Copy {
                    from: row.folder,
                    uid: 0,
                    uidvalidity: 0,
                    message_id: row.message_id.clone(),
                    to,
                    local: copy,
                },
            };
            enqueue(&tx, &row.account, &op)?;
        }
        alloc.save(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Delete: if the account has a Trash folder and the message isn't in it, this is
    /// local_move to Trash; else the row is removed and an Expunge op queued.
    pub fn local_delete(&mut self, ids: &[MessageId]) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        let mut trash: HashMap<String, Option<FolderId>> = HashMap::new();
        for &id in ids {
            let Some(row) = load_row(&tx, id)? else {
                continue;
            };
            let trash_id = match trash.get(&row.account) {
                Some(t) => *t,
                None => {
                    let t = folder_with_role(&tx, &row.account, FolderRole::Trash)?.map(|f| f.id);
                    trash.insert(row.account.clone(), t);
                    t
                }
            };
            match trash_id {
                Some(t) if t != row.folder => move_row(&tx, &row, t)?,
                _ => expunge_row(&tx, &row)?,
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Replaces a draft's copy in a Drafts folder: rows of `folder` with Message-ID `old`
    /// are deleted for good (a copy not uploaded yet is simply never uploaded) and `new`, if
    /// given, is stored and its upload queued; `upload` false keeps it local (POP3 accounts).
    /// One transaction, so the folder never shows both or neither.
    pub fn replace_draft_copy(
        &mut self,
        folder: FolderId,
        old: Option<&str>,
        new: Option<(&NewMessage, &[u8], &str)>,
        upload: bool,
    ) -> Result<Option<MessageId>, StoreError> {
        let tx = self.write_tx()?;
        if let Some(old) = old {
            let ids: Vec<MessageId> = tx
                .prepare_cached("SELECT id FROM message WHERE folder = ?1 AND message_id = ?2")?
                .query_map(params![folder, old], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            for id in ids {
                if let Some(row) = load_row(&tx, id)? {
                    if upload {
                        expunge_row(&tx, &row)?;
                    } else {
                        tx.prepare_cached("DELETE FROM message WHERE id = ?1")?
                            .execute([id])?;
                    }
                }
            }
        }
        let mut created = None;
        if let Some((msg, raw, index_text)) = new {
            let (id, account) = insert_with_body(&tx, folder, msg, raw, index_text)?;
            if upload {
                enqueue(&tx, &account, &PendingOp::Append { folder, local: id })?;
            }
            created = Some(id);
        }
        tx.commit()?;
        Ok(created)
    }

    /// Stores a message written here (a draft, a sent copy) as a local-only row with its raw
    /// bytes and queues its upload; `msg.uid` is ignored. Returns the new row's id.
    pub fn local_append(
        &mut self,
        folder: FolderId,
        msg: &NewMessage,
        raw: &[u8],
        index_text: &str,
    ) -> Result<MessageId, StoreError> {
        let tx = self.write_tx()?;
        let (id, account) = insert_with_body(&tx, folder, msg, raw, index_text)?;
        enqueue(&tx, &account, &PendingOp::Append { folder, local: id })?;
        tx.commit()?;
        Ok(id)
    }
}

/// Inserts a local-only row with its raw bytes, indexed; returns it and its account.
pub(super) fn insert_with_body(
    tx: &Connection,
    folder: FolderId,
    msg: &NewMessage,
    raw: &[u8],
    index_text: &str,
) -> Result<(MessageId, String), StoreError> {
    let key = folder_key(tx, folder)?;
    let threader = Threader::new(&key.account);
    let mut alloc = Ids::load(tx)?;
    let (id, fts) = insert_row(tx, &mut alloc, &threader, folder, None, msg, index_text)?;
    add_counts(tx, folder, 1, i64::from(!msg.flags.contains(Flags::SEEN)))?;
    insert_fts(tx, &mut [fts])?;
    alloc.save(tx)?;
    tx.prepare_cached("INSERT INTO body (message, raw) VALUES (?1, ?2)")?
        .execute(params![id, raw])?;
    tx.prepare_cached("UPDATE message SET has_body = 1 WHERE id = ?1")?
        .execute([id])?;
    Ok((id, key.account))
}

//! The durable queue of server operations the sync engine replays, oldest first.
//!
//! Ops are written in the same transaction as the local change they mirror (see local.rs),
//! so after a crash the queue and the local rows agree.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};

use super::folders::folder_key;
use super::messages::assign_uid;
use super::{Flags, FolderId, MessageId, OpId, PendingOp, Store, StoreError};

/// How often an op failed and why, for the UI and for back-off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpStatus {
    pub attempts: u32,
    pub last_error: Option<String>,
}

impl PendingOp {
    /// The local row this op creates on the server (Move/Copy/Append).
    pub fn local(&self) -> Option<MessageId> {
        match self {
            PendingOp::Move { local, .. }
            | PendingOp::Copy { local, .. }
            | PendingOp::Append { local, .. } => Some(*local),
            PendingOp::SetFlags { .. } | PendingOp::Expunge { .. } => None,
        }
    }

    /// Where the op puts a message (Move/Copy: `to`, Append: `folder`).
    pub fn destination(&self) -> Option<FolderId> {
        match self {
            PendingOp::Move { to, .. } | PendingOp::Copy { to, .. } => Some(*to),
            PendingOp::Append { folder, .. } => Some(*folder),
            PendingOp::SetFlags { .. } | PendingOp::Expunge { .. } => None,
        }
    }

    pub(super) fn set_destination(&mut self, dest: FolderId) {
        match self {
            PendingOp::Move { to, .. } | PendingOp::Copy { to, .. } => *to = dest,
            PendingOp::Append { folder, .. } => *folder = dest,
            PendingOp::SetFlags { .. } | PendingOp::Expunge { .. } => {}
        }
    }

    /// The folder the op acts on at the server (the source of a Move/Copy).
    fn folder(&self) -> FolderId {
        match self {
            PendingOp::SetFlags { folder, .. }
            | PendingOp::Expunge { folder, .. }
            | PendingOp::Append { folder, .. } => *folder,
            PendingOp::Move { from, .. } | PendingOp::Copy { from, .. } => *from,
        }
    }

    fn uid(&self) -> Option<u32> {
        match self {
            PendingOp::SetFlags { uid, .. }
            | PendingOp::Move { uid, .. }
            | PendingOp::Copy { uid, .. }
            | PendingOp::Expunge { uid, .. } => Some(*uid),
            PendingOp::Append { .. } => None,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            PendingOp::SetFlags { .. } => "SetFlags",
            PendingOp::Move { .. } => "Move",
            PendingOp::Copy { .. } => "Copy",
            PendingOp::Expunge { .. } => "Expunge",
            PendingOp::Append { .. } => "Append",
        }
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub(super) fn enqueue(
    conn: &Connection,
    account: &str,
    op: &PendingOp,
) -> Result<OpId, StoreError> {
    conn.prepare_cached(
        "INSERT INTO pending_op (account, kind, folder, uid, local, op, created)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        account,
        op.kind(),
        op.folder(),
        op.uid(),
        op.local(),
        serde_json::to_string(op)?,
        now()
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Replaces an op in place: it keeps its id and so its place in the queue.
pub(super) fn rewrite(conn: &Connection, id: OpId, op: &PendingOp) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE pending_op SET kind = ?2, folder = ?3, uid = ?4, local = ?5, op = ?6
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        op.kind(),
        op.folder(),
        op.uid(),
        op.local(),
        serde_json::to_string(op)?
    ])?;
    Ok(())
}

pub(super) fn delete(conn: &Connection, id: OpId) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM pending_op WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

fn load(conn: &Connection, id: OpId) -> Result<Option<PendingOp>, StoreError> {
    let json: Option<String> = conn
        .prepare_cached("SELECT op FROM pending_op WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
}

/// The queued Move/Copy/Append that will create a local-only row on the server, if any.
pub(super) fn creating_op(
    conn: &Connection,
    local: MessageId,
) -> Result<Option<(OpId, PendingOp)>, StoreError> {
    let row: Option<(OpId, String)> = conn
        .prepare_cached("SELECT id, op FROM pending_op WHERE local = ?1 ORDER BY id DESC LIMIT 1")?
        .query_row([local], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    row.map(|(id, j)| Ok((id, serde_json::from_str(&j)?)))
        .transpose()
}

/// Queued flag changes per uid of a folder (in queue order), for ops queued under the
/// folder's current UIDVALIDITY.
pub(super) fn flag_overlay(
    conn: &Connection,
    folder: FolderId,
    uidvalidity: Option<u32>,
) -> Result<HashMap<u32, Vec<(Flags, Flags)>>, StoreError> {
    let mut map: HashMap<u32, Vec<(Flags, Flags)>> = HashMap::new();
    let Some(current) = uidvalidity else {
        return Ok(map);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT op FROM pending_op WHERE folder = ?1 AND kind = 'SetFlags' ORDER BY id",
    )?;
    let ops = stmt.query_map([folder], |r| r.get::<_, String>(0))?;
    for json in ops {
        if let PendingOp::SetFlags {
            uid,
            uidvalidity,
            add,
            remove,
            ..
        } = serde_json::from_str(&json?)?
            && uidvalidity == current
        {
            map.entry(uid).or_default().push((add, remove));
        }
    }
    Ok(map)
}

impl Store {
    /// Queues `op` as it is, for an action whose local change is already in the store
    /// (or, in tests, to replay an op again as after a crash before it was recorded).
    pub fn enqueue(&mut self, account: &str, op: &PendingOp) -> Result<OpId, StoreError> {
        let tx = self.write_tx()?;
        let id = enqueue(&tx, account, op)?;
        tx.commit()?;
        Ok(id)
    }

    /// The queued ops of an account, oldest first.
    pub fn pending_ops(&self, account: &str) -> Result<Vec<(OpId, PendingOp)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, op FROM pending_op WHERE account = ?1 ORDER BY id")?;
        let rows = stmt.query_map([account], |r| {
            Ok((r.get::<_, OpId>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, json) = row?;
            out.push((id, serde_json::from_str(&json)?));
        }
        Ok(out)
    }

    /// One queued op as it is stored now (a local action may have rewritten it).
    pub fn op(&self, op: OpId) -> Result<Option<PendingOp>, StoreError> {
        load(&self.conn, op)
    }

    /// The op was replayed: drop it.
    pub fn finish_op(&mut self, op: OpId) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        delete(&tx, op)?;
        tx.commit()?;
        Ok(())
    }

    /// Records a failed attempt and its error; the op stays queued.
    pub fn fail_op(&mut self, op: OpId, error: &str) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        tx.prepare_cached(
            "UPDATE pending_op SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
        )?
        .execute(params![op, error])?;
        tx.commit()?;
        Ok(())
    }

    /// How many times the op failed so far (0 if it is no longer queued).
    pub fn op_attempts(&self, op: OpId) -> Result<u32, StoreError> {
        Ok(self.op_status(op)?.map_or(0, |s| s.attempts))
    }

    pub fn op_status(&self, op: OpId) -> Result<Option<OpStatus>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT attempts, last_error FROM pending_op WHERE id = ?1")?
            .query_row([op], |r| {
                Ok(OpStatus {
                    attempts: r.get(0)?,
                    last_error: r.get(1)?,
                })
            })
            .optional()?)
    }

    /// The race-free way to finish a replayed op: `executed` is the op as the engine read it
    /// and carried out, `new_uid` the uid the server gave the created message (COPYUID /
    /// APPENDUID), if it said.
    ///
    /// If the op is unchanged, the created row gets `new_uid` and the op is dropped (like
    /// `set_uid` + `finish_op`). If the user moved or deleted the local-only row while the op
    /// was in flight, the op was rewritten; it then becomes the follow-up from where the
    /// server copy now is (a Move to the new folder, or an Expunge), uid 0 if unknown.
    pub fn complete_op(
        &mut self,
        op: OpId,
        executed: &PendingOp,
        new_uid: Option<u32>,
    ) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        let Some(stored) = load(&tx, op)? else {
            // Cancelled while in flight (moved back, or an unsent copy deleted): the next
            // sync reconciles with whatever the server now has.
            return Ok(());
        };
        let (Some(local), Some(dest)) = (executed.local(), executed.destination()) else {
            delete(&tx, op)?;
            tx.commit()?;
            return Ok(());
        };
        let row_folder: Option<FolderId> = tx
            .prepare_cached("SELECT folder FROM message WHERE id = ?1")?
            .query_row([local], |r| r.get(0))
            .optional()?;
        if stored == *executed || stored.destination() == Some(dest) {
            if let (Some(uid), Some(f)) = (new_uid, row_folder)
                && f == dest
            {
                assign_uid(&tx, local, dest, uid)?;
            }
            delete(&tx, op)?;
        } else {
            let message_id: Option<String> = tx
                .prepare_cached("SELECT message_id FROM message WHERE id = ?1")?
                .query_row([local], |r| r.get(0))
                .optional()?
                .flatten()
                .or_else(|| match (&stored, executed) {
                    // The row is gone (deleted for good while its upload ran).
                    (PendingOp::Expunge { message_id, .. }, _) => message_id.clone(),
                    (
                        _,
                        PendingOp::Move { message_id, .. } | PendingOp::Copy { message_id, .. },
                    ) => message_id.clone(),
                    _ => None,
                });
            let (uid, uidvalidity) = match new_uid {
                Some(u) => (u, folder_key(&tx, dest)?.uidvalidity.unwrap_or(0)),
                None => (0, 0),
            };
            let next = match stored {
                PendingOp::Move { to, .. } | PendingOp::Copy { to, .. } => PendingOp::Move {
                    from: dest,
                    uid,
                    uidvalidity,
                    message_id,
                    to,
                    local,
                },
                PendingOp::Append { folder, .. } => PendingOp::Move {
                    from: dest,
                    uid,
                    uidvalidity,
                    message_id,
                    to: folder,
                    local,
                },
                PendingOp::Expunge { .. } => PendingOp::Expunge {
                    folder: dest,
                    uid,
                    uidvalidity,
                    message_id,
                },
                PendingOp::SetFlags { .. } => {
                    delete(&tx, op)?;
                    tx.commit()?;
                    return Ok(());
                }
            };
            rewrite(&tx, op, &next)?;
        }
        tx.commit()?;
        Ok(())
    }
}

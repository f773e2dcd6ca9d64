//! Replaying the durable queue of the user's actions on the server.
//!
//! Each operation names its message by UID *and* the UIDVALIDITY it was queued under, plus
//! the Message-ID. If the folder's UIDVALIDITY has changed since, the UID is stale and the
//! message is found again by Message-ID; a stale UID is never used.

use super::{SharedStore, SyncError, with_store};
use crate::imap::{ImapError, Session};
use crate::store::{Folder, PendingOp};

/// What a replay round did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayReport {
    pub done: u32,
    /// Operations the server refused, kept queued with the reason.
    pub failed: u32,
    /// Operations dropped because their message no longer exists anywhere we can find.
    pub dropped: u32,
}

/// After this many refusals an operation is dropped (and reported) rather than retried.
const MAX_ATTEMPTS: u32 = 5;

/// Replays every pending operation of `account`, oldest first. Stops at the first
/// connection-level error (the rest wait for the next round); a refusal of one operation
/// is recorded and the round goes on.
pub async fn replay_pending(
    session: &mut Session,
    store: &SharedStore,
    account: &str,
) -> Result<ReplayReport, SyncError> {
    let mut report = ReplayReport::default();
    let acc = account.to_owned();
    let ops = with_store(store, move |s| s.pending_ops(&acc)).await?;
    for (op_id, op) in ops {
        match replay_one(session, store, &op).await {
            Ok(Replayed::Done(new_uid)) => {
                with_store(store, move |s| s.complete_op(op_id, &op, new_uid)).await?;
                report.done += 1;
            }
            Ok(Replayed::Gone) => {
                tracing::warn!("dropping pending operation {op_id}: message not found");
                with_store(store, move |s| s.finish_op(op_id)).await?;
                report.dropped += 1;
            }
            Err(SyncError::FolderGone(_)) => {
                tracing::warn!("dropping pending operation {op_id}: its folder is gone");
                with_store(store, move |s| s.finish_op(op_id)).await?;
                report.dropped += 1;
            }
            // The connection is out of step after these: end the round, reconnect later.
            Err(SyncError::Imap(e @ (ImapError::Protocol(_) | ImapError::ResponseTooLarge))) => {
                return Err(SyncError::Imap(e));
            }
            Err(SyncError::Imap(e)) if !e.is_transient() => {
                let reason = e.to_string();
                let attempts = with_store(store, move |s| {
                    s.fail_op(op_id, &reason)?;
                    s.op_attempts(op_id)
                })
                .await?;
                if attempts >= MAX_ATTEMPTS {
                    with_store(store, move |s| s.finish_op(op_id)).await?;
                    report.dropped += 1;
                } else {
                    report.failed += 1;
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

/// What replaying one operation came to.
enum Replayed {
    /// Carried out; the UID the server gave a created message, if it said.
    Done(Option<u32>),
    /// Its message is gone from the server: nothing left to do.
    Gone,
}

/// Replays one operation.
async fn replay_one(
    session: &mut Session,
    store: &SharedStore,
    op: &PendingOp,
) -> Result<Replayed, SyncError> {
    match op {
        PendingOp::SetFlags {
            folder,
            uid,
            uidvalidity,
            message_id,
            add,
            remove,
        } => {
            let folder = folder_of(store, *folder).await?;
            let Some(uid) = resolve(session, &folder, *uid, *uidvalidity, message_id).await? else {
                return Ok(Replayed::Gone);
            };
            session.store_flags(&[uid], *add, *remove).await?;
            Ok(Replayed::Done(None))
        }
        PendingOp::Move {
            from,
            uid,
            uidvalidity,
            message_id,
            to,
            local: _,
        }
        | PendingOp::Copy {
            from,
            uid,
            uidvalidity,
            message_id,
            to,
            local: _,
        } => {
            let source = folder_of(store, *from).await?;
            let target = folder_of(store, *to).await?;
            let Some(uid) = resolve(session, &source, *uid, *uidvalidity, message_id).await? else {
                return Ok(Replayed::Gone);
            };
            let pairs = if matches!(op, PendingOp::Move { .. }) {
                session.move_to(&[uid], &target.name).await?
            } else {
                session.copy(&[uid], &target.name).await?
            };
            let new_uid = pairs.iter().find(|(old, _)| *old == uid).map(|p| p.1);
            Ok(Replayed::Done(new_uid))
        }
        PendingOp::Expunge {
            folder,
            uid,
            uidvalidity,
            message_id,
        } => {
            let folder = folder_of(store, *folder).await?;
            let Some(uid) = resolve(session, &folder, *uid, *uidvalidity, message_id).await? else {
                return Ok(Replayed::Gone);
            };
            session.expunge(&[uid]).await?;
            Ok(Replayed::Done(None))
        }
        PendingOp::Append { folder, local } => {
            let target = folder_of(store, *folder).await?;
            let local = *local;
            let Some((raw, row)) =
                with_store(store, move |s| Ok(s.body(local)?.zip(s.message(local)?))).await?
            else {
                return Ok(Replayed::Gone);
            };
            if let Some(id) = &row.message_id {
                // Already there (a replay after a crash between APPEND and finish_op)?
                session.select(&target.name, None).await?;
                let size = raw.len() as u32;
                let found = session.find_message_id(id).await?;
                if let Some(&(uid, _)) = found.iter().find(|(_, s)| *s == size) {
                    return Ok(Replayed::Done(Some(uid)));
                }
            }
            let appended = session.append(&target.name, row.flags, &raw).await?;
            Ok(Replayed::Done(appended.map(|(_, uid)| uid)))
        }
    }
}

async fn folder_of(store: &SharedStore, id: i64) -> Result<Folder, SyncError> {
    with_store(store, move |s| s.folder(id))
        .await?
        .ok_or_else(|| SyncError::FolderGone(format!("#{id}")))
}

/// Selects the folder and finds the message's current UID.
async fn resolve(
    session: &mut Session,
    folder: &Folder,
    uid: u32,
    uidvalidity: u32,
    message_id: &Option<String>,
) -> Result<Option<u32>, ImapError> {
    let selected = session.select(&folder.name, None).await?;
    // UID 0 means "queued before the message had a UID": find it by Message-ID too.
    if uid != 0 && selected.uidvalidity == Some(uidvalidity) {
        return Ok(Some(uid));
    }
    let Some(id) = message_id else {
        return Ok(None);
    };
    match session.find_message_id(id).await?.as_slice() {
        [] => Ok(None),
        [(uid, _)] => Ok(Some(*uid)),
        // Guessing could move or delete the wrong message: refuse and keep the op.
        _ => Err(ImapError::No(format!(
            "several messages have the Message-ID <{id}>"
        ))),
    }
}

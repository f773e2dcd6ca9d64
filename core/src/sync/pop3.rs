//! POP3 accounts: download new mail into the account's local INBOX, then delete the server
//! copies the account's options ([`Pop3Options`]) give up.
//!
//! A POP3 account's folders exist only in the store ([`ensure_local_folders`]); its
//! messages are local-only rows (uid NULL) with their bytes, threads and full-text index, so
//! reading, search and threads work as for IMAP. Local actions on them never queue server
//! operations (see store/pop3.rs).
//!
//! What makes a sync safe to interrupt anywhere:
//! - UIDL says what the server holds; a UIDL recorded in `pop3_seen` is stored here.
//!   Records of UIDLs the server no longer lists are forgotten.
//! - New messages are RETR'd newest first and stored in batches; a message and its
//!   `pop3_seen` record commit together, so a drop loses nothing and duplicates nothing:
//!   what was not committed is fetched again next time. Messages RETR'd in full before a
//!   drop are still stored.
//! - DELE is sent only for recorded UIDLs, after a checkpoint has put them on disk, and
//!   counts only once QUIT answers +OK: a POP3 server applies DELEs at a clean QUIT only.
//!   After a drop before QUIT nothing was deleted and the next sync sends them again; after
//!   a drop during QUIT they may have been, and the next UIDL tells.
//!
//! "Deleted here" (for [`Pop3Options::delete_when_deleted_here`]) means: when the sync
//! runs, the local copy is gone (deleted for good, Trash emptied) or sits in the account's
//! Trash. A move to any other folder is not a delete, and a message taken back out of the
//! Trash before the next sync keeps its server copy.

use std::collections::{HashMap, HashSet};

use tokio::task::JoinHandle;

use super::{SharedStore, SyncError, with_store};
use crate::account::{Account, Incoming, Pop3Options};
use crate::pop3::{self, Pop3Error, Pop3Session};
use crate::store::{
    FolderId, FolderInfo, FolderRole, LocalCopy, Pop3Download, Pop3Seen, Store, StoreError,
};

/// What one POP3 sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pop3Report {
    /// Messages stored in INBOX.
    pub downloaded: usize,
    /// Server copies deleted (QUIT confirmed).
    pub deleted_on_server: usize,
    /// Server messages already downloaded before.
    pub skipped_known: usize,
}

/// Messages in the first stored batch: few, so the first rows show at once.
const FIRST_BATCH: usize = 10;
/// Later batches go to the store once it is idle and they have this many messages: a
/// commit (where the full-text index writes its segment) costs as much as ten messages,
/// and little is left to store after the last RETR.
const MIN_BATCH: usize = 100;
/// The most messages a batch gathers while the store is busy.
const MAX_BATCH: usize = 500;
/// Bytes at which a batch is stored early: large messages must not pile up in memory.
const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;
const DAY_SECS: i64 = 24 * 60 * 60;

/// The local folders of a POP3 account: INBOX for downloads, and the ones the rest of
/// the program looks up by role (drafts, sent copies, deleting to Trash, ...).
const LOCAL_FOLDERS: &[(&str, FolderRole)] = &[
    ("INBOX", FolderRole::Inbox),
    ("Drafts", FolderRole::Drafts),
    ("Sent", FolderRole::Sent),
    ("Trash", FolderRole::Trash),
    ("Junk", FolderRole::Junk),
    ("Archive", FolderRole::Archive),
];

/// Creates the account's local folders it lacks (INBOX, Drafts, Sent, Trash, Junk,
/// Archive, with their roles) and marks it as POP3, so no local action on it queues a
/// server operation. Never removes a folder. Idempotent; [`sync_pop3`] calls it first.
pub fn ensure_local_folders(store: &mut Store, account: &str) -> Result<(), StoreError> {
    let folders: Vec<FolderInfo> = LOCAL_FOLDERS
        .iter()
        .map(|&(name, role)| FolderInfo {
            name: name.to_owned(),
            delimiter: Some('/'),
            role: Some(role),
            subscribed: true,
            selectable: true,
        })
        .collect();
    store.ensure_pop3_account(account, &folders)
}

/// Downloads the account's new mail into its local INBOX, newest first, then deletes the
/// server copies its options give up, and logs out. `progress(stored, to_download)` is
/// called as batches are stored.
pub async fn sync_pop3(
    store: &SharedStore,
    account: &Account,
    password: &str,
    mut progress: impl FnMut(usize, usize) + Send,
) -> Result<Pop3Report, SyncError> {
    let Incoming::Pop3(server) = &account.incoming else {
        return Err(SyncError::NotPop3(account.id.clone()));
    };
    let id = account.id.clone();
    let (inbox, seen) = with_store(store, move |s| {
        ensure_local_folders(s, &id)?;
        let inbox = s.folder_by_role(&id, FolderRole::Inbox)?.map(|f| f.id);
        Ok((inbox, s.pop3_seen(&id)?))
    })
    .await?;
    let inbox = inbox.ok_or_else(|| SyncError::FolderGone("INBOX".into()))?;

    let mut session = pop3::connect(server, password).await?;
    let listing = session.uidl().await?;
    // A UIDL listed twice (a broken server) is one message: the first number wins.
    let mut on_server: HashMap<String, u32> = HashMap::with_capacity(listing.len());
    for (msgno, uidl) in listing {
        on_server.entry(uidl).or_insert(msgno);
    }
    let known: HashSet<&str> = seen.iter().map(|s| s.uidl.as_str()).collect();
    let gone: Vec<String> = seen
        .iter()
        .filter(|s| !on_server.contains_key(&s.uidl))
        .map(|s| s.uidl.clone())
        .collect();
    let mut new: Vec<(u32, String)> = on_server
        .iter()
        .filter(|(uidl, _)| !known.contains(uidl.as_str()))
        .map(|(uidl, &msgno)| (msgno, uidl.clone()))
        .collect();
    new.sort_unstable_by_key(|&(msgno, _)| std::cmp::Reverse(msgno));
    let mut report = Pop3Report {
        skipped_known: on_server.len() - new.len(),
        ..Pop3Report::default()
    };
    if !gone.is_empty() {
        let id = account.id.clone();
        with_store(store, move |s| s.forget_pop3_uidls(&id, &gone)).await?;
    }

    report.downloaded =
        download(&mut session, store, &account.id, inbox, new, &mut progress).await?;

    let id = account.id.clone();
    let seen = with_store(store, move |s| s.pop3_seen(&id)).await?;
    let now = chrono::Utc::now().timestamp();
    let mut doomed: Vec<u32> = seen
        .iter()
        .filter(|s| should_delete(&account.pop3, s, now))
        .filter_map(|s| on_server.get(&s.uidl).copied())
        .collect();
    doomed.sort_unstable();
    let mut marked = 0;
    if !doomed.is_empty() {
        // Durable on disk, not only committed, before the server copy can go.
        with_store(store, |s| s.sync_to_disk()).await?;
        for msgno in doomed {
            match session.dele(msgno).await {
                Ok(()) => marked += 1,
                // Refused for this one only; the next sync asks again.
                Err(Pop3Error::Rejected(text)) => {
                    tracing::warn!("POP3 DELE {msgno} refused: {text}");
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    match session.quit().await {
        Ok(()) => report.deleted_on_server = marked,
        // The DELEs may not have happened; the next sync finds out from UIDL.
        Err(e) if marked > 0 => return Err(e.into()),
        // Everything is stored and nothing hinged on this QUIT.
        Err(e) => tracing::debug!("POP3 QUIT: {e}"),
    }
    Ok(report)
}

/// Whether the options give up the server copy of a downloaded message.
fn should_delete(options: &Pop3Options, seen: &Pop3Seen, now: i64) -> bool {
    !options.leave_on_server
        || options
            .delete_after_days
            .is_some_and(|days| now - seen.downloaded > i64::from(days) * DAY_SECS)
        || (options.delete_when_deleted_here && seen.local != LocalCopy::Kept)
}

/// RETRs `new` (message number, UIDL) in order and stores them in batches, each batch
/// parsed and written on a blocking thread while the next downloads. Returns how many were
/// stored; on a connection error, stores what arrived in full first.
async fn download(
    session: &mut Pop3Session,
    store: &SharedStore,
    account: &str,
    inbox: FolderId,
    new: Vec<(u32, String)>,
    progress: &mut (impl FnMut(usize, usize) + Send),
) -> Result<usize, SyncError> {
    let total = new.len();
    if total == 0 {
        return Ok(0);
    }
    progress(0, total);
    let mut stored = 0;
    let mut writer: Option<JoinHandle<Result<usize, SyncError>>> = None;
    let mut batch: Vec<(String, Vec<u8>)> = Vec::new();
    let (mut bytes, mut min_batch) = (0usize, FIRST_BATCH);
    let mut failure = None;
    for (msgno, uidl) in new {
        match session.retr(msgno).await {
            Ok(raw) => {
                bytes += raw.len();
                batch.push((uidl, raw));
            }
            // Refused for this one only (the session is still in step); next sync retries.
            Err(Pop3Error::Rejected(text)) => {
                tracing::warn!("POP3 RETR {msgno} refused: {text}");
                continue;
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
        let idle = writer.as_ref().is_none_or(JoinHandle::is_finished);
        if (idle && batch.len() >= min_batch)
            || batch.len() >= MAX_BATCH
            || bytes >= MAX_BATCH_BYTES
        {
            if let Some(previous) = writer.take() {
                stored += finish(previous).await?;
                progress(stored, total);
            }
            let full = std::mem::take(&mut batch);
            writer = Some(spawn_store(store, account, inbox, full));
            (bytes, min_batch) = (0, MIN_BATCH);
        }
    }
    if let Some(previous) = writer.take() {
        stored += finish(previous).await?;
    }
    if !batch.is_empty() {
        stored += finish(spawn_store(store, account, inbox, batch)).await?;
    }
    progress(stored, total);
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(stored),
    }
}

/// Parses a batch and stores it with its `pop3_seen` records, off the async threads;
/// the parse runs before the store is locked.
fn spawn_store(
    store: &SharedStore,
    account: &str,
    inbox: FolderId,
    batch: Vec<(String, Vec<u8>)>,
) -> JoinHandle<Result<usize, SyncError>> {
    let (store, account) = (store.clone(), account.to_owned());
    tokio::task::spawn_blocking(move || {
        let now = chrono::Utc::now().timestamp();
        let downloads: Vec<Pop3Download> = batch
            .into_iter()
            .map(|(uidl, raw)| {
                let summary = crate::mime::summarize(&raw, now);
                Pop3Download {
                    uidl,
                    message: summary.message,
                    raw,
                    index_text: summary.index_text,
                }
            })
            .collect();
        let mut guard = store.lock().map_err(|_| SyncError::StorePoisoned)?;
        Ok(guard.store_pop3_downloads(&account, inbox, &downloads, now)?)
    })
}

async fn finish(writer: JoinHandle<Result<usize, SyncError>>) -> Result<usize, SyncError> {
    writer.await.map_err(|_| SyncError::StorePoisoned)?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(downloaded: i64, local: LocalCopy) -> Pop3Seen {
        Pop3Seen {
            uidl: "u".into(),
            message: None,
            downloaded,
            local,
        }
    }

    #[test]
    fn options_decide_which_server_copies_go() {
        let now = 100 * DAY_SECS;
        let keep = Pop3Options::default();
        assert!(!should_delete(&keep, &seen(0, LocalCopy::Deleted), now));
        let remove = Pop3Options {
            leave_on_server: false,
            ..keep.clone()
        };
        assert!(should_delete(&remove, &seen(now, LocalCopy::Kept), now));
        let days = Pop3Options {
            delete_after_days: Some(7),
            ..keep.clone()
        };
        assert!(should_delete(
            &days,
            &seen(now - 8 * DAY_SECS, LocalCopy::Kept),
            now
        ));
        assert!(!should_delete(
            &days,
            &seen(now - 6 * DAY_SECS, LocalCopy::Kept),
            now
        ));
        let here = Pop3Options {
            delete_when_deleted_here: true,
            ..keep
        };
        assert!(should_delete(&here, &seen(now, LocalCopy::Deleted), now));
        assert!(should_delete(&here, &seen(now, LocalCopy::InTrash), now));
        assert!(!should_delete(&here, &seen(now, LocalCopy::Kept), now));
    }
}

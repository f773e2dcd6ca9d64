//! The sync engine: makes the local store a faithful copy of an IMAP account, and replays
//! the user's offline actions on the server.
//!
//! Order matters: pending local operations are replayed before a folder is synced, so
//! the server already holds the user's changes when we read its state back.

pub mod pop3;
mod replay;

pub use replay::replay_pending;

use crate::imap::{FetchedFlags, ImapError, ListedFolder, Session};
use crate::store::{Folder, FolderInfo, FolderRole, NewMessage, Store, StoreError};
use std::sync::{Arc, Mutex};

/// The store, shared between the engine's tasks. SQLite work runs on blocking threads.
pub type SharedStore = Arc<Mutex<Store>>;

#[derive(Debug, thiserror::Error, Clone)]
pub enum SyncError {
    #[error(transparent)]
    Imap(#[from] ImapError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the local store is unavailable")]
    StorePoisoned,
    #[error("the folder {0:?} is no longer on the server")]
    FolderGone(String),
    #[error(transparent)]
    Pop3(#[from] crate::pop3::Pop3Error),
    /// A POP3 operation was asked of an account that reads mail another way.
    #[error("account {0:?} is not a POP3 account")]
    NotPop3(String),
}

/// Runs `f` on the store from a blocking thread, so SQLite never stalls the network tasks.
pub async fn with_store<T, F>(store: &SharedStore, f: F) -> Result<T, SyncError>
where
    T: Send + 'static,
    F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
{
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        let mut guard = store.lock().map_err(|_| SyncError::StorePoisoned)?;
        f(&mut guard).map_err(SyncError::from)
    })
    .await
    .map_err(|_| SyncError::StorePoisoned)?
}

/// Progress of one folder's sync, for the status line and the list's progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub fetched: u32,
    pub total: u32,
}

/// What a folder sync changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FolderReport {
    pub new: u32,
    pub changed_flags: u32,
    pub removed: u32,
    /// The server's UIDVALIDITY changed, so the cached copy was dropped and refetched.
    pub uidvalidity_reset: bool,
}

/// The size of the first batch: small, so the first screen of messages lands at once.
const FIRST_BATCH: u32 = 50;
/// The size of later batches.
const BATCH: u32 = 2000;
/// Rows a first sync gathers at most for one insert while the store is busy.
const MAX_COALESCED: usize = 4 * BATCH as usize;
/// FETCH commands kept in flight while the earlier replies are stored.
const PIPELINE: usize = 3;

/// Fetches the folder list and records it; returns the account's folders from the store.
pub async fn sync_folder_list(
    session: &mut Session,
    store: &SharedStore,
    account: &str,
) -> Result<Vec<Folder>, SyncError> {
    let listed = session.list().await?;
    let infos = with_fallback_roles(listed);
    let account = account.to_owned();
    with_store(store, move |s| {
        s.sync_folder_list(&account, &infos)?;
        s.folders(&account)
    })
    .await
}

/// Gives roles by well-known names where the server announced no SPECIAL-USE folder.
fn with_fallback_roles(listed: Vec<ListedFolder>) -> Vec<FolderInfo> {
    const NAMES: &[(FolderRole, &[&str])] = &[
        (FolderRole::Drafts, &["drafts", "draft", "entwürfe"]),
        (
            FolderRole::Sent,
            &[
                "sent",
                "sent items",
                "sent messages",
                "sent mail",
                "gesendet",
            ],
        ),
        (
            FolderRole::Trash,
            &[
                "trash",
                "deleted items",
                "deleted messages",
                "bin",
                "papierkorb",
            ],
        ),
        (
            FolderRole::Junk,
            &["junk", "spam", "junk e-mail", "bulk mail"],
        ),
        (FolderRole::Archive, &["archive", "archives", "archiv"]),
    ];
    let mut infos: Vec<FolderInfo> = listed
        .into_iter()
        .map(|f| FolderInfo {
            name: f.name,
            delimiter: f.delimiter,
            role: f.role,
            subscribed: f.subscribed,
            selectable: f.selectable,
        })
        .collect();
    for (role, names) in NAMES {
        if infos.iter().any(|f| f.role == Some(*role)) {
            continue;
        }
        let leaf = |f: &FolderInfo| -> String {
            let name = match f.delimiter {
                Some(d) => f.name.rsplit(d).next().unwrap_or(&f.name),
                None => &f.name,
            };
            name.to_lowercase()
        };
        if let Some(f) = infos
            .iter_mut()
            .find(|f| f.role.is_none() && f.selectable && names.contains(&leaf(f).as_str()))
        {
            f.role = Some(*role);
        }
    }
    infos
}

/// Brings one folder's messages, flags and expunges in line with the server.
pub async fn sync_folder(
    session: &mut Session,
    store: &SharedStore,
    folder: &Folder,
    mut progress: impl FnMut(Progress),
) -> Result<FolderReport, SyncError> {
    let mut report = FolderReport::default();
    let known = match (folder.uidvalidity, folder.highestmodseq) {
        (Some(v), Some(m)) => Some((v, m)),
        _ => None,
    };
    let selected = session.select(&folder.name, known).await?;
    let uidvalidity = selected.uidvalidity.unwrap_or(0);
    let id = folder.id;

    if folder.uidvalidity.is_some_and(|v| v != uidvalidity) {
        // Every cached UID is now meaningless; pending operations stay and are re-targeted
        // by Message-ID when replayed.
        with_store(store, move |s| s.reset_folder(id, uidvalidity)).await?;
        report.uidvalidity_reset = true;
    }
    let complete = folder.uidnext.is_some() && !report.uidvalidity_reset;
    let local_max = with_store(store, move |s| s.max_uid(id)).await?;

    if !complete {
        // First sync (or one that was interrupted): fetch what we lack, newest first.
        report.new = if local_max.is_none() {
            fetch_all_newest_first(session, store, folder, selected.exists, &mut progress).await?
        } else {
            fetch_missing(session, store, id, &mut progress).await?
        };
    } else {
        let nothing_new = selected.uidnext == folder.uidnext;
        let modseq_same =
            selected.highestmodseq.is_some() && selected.highestmodseq == folder.highestmodseq;
        if !(nothing_new && modseq_same) {
            // New mail by UID.
            if !nothing_new || selected.highestmodseq.is_none() {
                let from = local_max.map_or(1, |m| m + 1);
                let tag = session.send_headers_by_uid(from).await?;
                let mut batch = Vec::new();
                session.finish_headers(&tag, &mut batch).await?;
                // `n:*` always returns the last message, even when its UID is below n.
                batch.retain(|m| local_max.is_none_or(|max| m.uid > max));
                report.new = batch.len() as u32;
                if !batch.is_empty() {
                    with_store(store, move |s| s.insert_messages(id, &batch)).await?;
                }
            }
            // Flag changes and expunges.
            let (changed, vanished) = if session.qresync() && known.is_some() {
                let ranges = selected.vanished.clone();
                let vanished = if ranges.is_empty() {
                    Vec::new()
                } else {
                    let local = with_store(store, move |s| s.uids(id)).await?;
                    local
                        .into_iter()
                        .filter(|u| ranges.iter().any(|r| r.contains(u)))
                        .collect()
                };
                (selected.changed.clone(), vanished)
            } else {
                let since = folder
                    .highestmodseq
                    .filter(|_| selected.highestmodseq.is_some());
                let (changed, _) = session.flags_since(since).await?;
                let server = session.all_uids().await?;
                let local = with_store(store, move |s| s.uids(id)).await?;
                // Anything the server has that we lack (a message an earlier sync could
                // not read) is fetched now rather than left invisible.
                let missing: Vec<u32> = server
                    .iter()
                    .copied()
                    .filter(|u| {
                        local.binary_search(u).is_err() && local_max.is_some_and(|m| *u <= m)
                    })
                    .collect();
                if !missing.is_empty() {
                    let mut batch = Vec::new();
                    let tag = session.send_headers_by_uid_set(&missing).await?;
                    session.finish_headers(&tag, &mut batch).await?;
                    report.new += batch.len() as u32;
                    with_store(store, move |s| s.insert_messages(id, &batch)).await?;
                }
                (changed, removed_uids(&local, &server))
            };
            report.changed_flags = changed.len() as u32;
            report.removed = vanished.len() as u32;
            apply_changes(store, id, changed, vanished).await?;
        }
    }
    let uidnext = selected.uidnext.unwrap_or(0);
    let modseq = selected.highestmodseq;
    with_store(store, move |s| {
        s.set_sync_state(id, uidvalidity, uidnext, modseq)
    })
    .await?;
    Ok(report)
}

async fn apply_changes(
    store: &SharedStore,
    id: i64,
    changed: Vec<FetchedFlags>,
    vanished: Vec<u32>,
) -> Result<(), SyncError> {
    if changed.is_empty() && vanished.is_empty() {
        return Ok(());
    }
    with_store(store, move |s| {
        let changes: Vec<_> = changed
            .into_iter()
            .map(|c| (c.uid, c.flags, c.keywords, c.modseq))
            .collect();
        s.update_flags(id, &changes)?;
        s.remove_uids(id, &vanished)
    })
    .await
}

/// Local UIDs the server no longer has (both lists ascending).
fn removed_uids(local: &[u32], server: &[u32]) -> Vec<u32> {
    local
        .iter()
        .copied()
        .filter(|u| server.binary_search(u).is_err())
        .collect()
}

/// Rows a call to [`Store::index_pending`] indexes: a transaction short enough (~0.1 s) for
/// the list's reads to interleave, long enough that FTS5 is not left many small segments.
const INDEX_CHUNK: u32 = 5000;

/// Rows a call to [`Store::fold_pending_addresses`] folds into the address book: about as
/// long a transaction as an index chunk.
const ADDRESS_CHUNK: u32 = 10_000;

/// Writes the full-text index of the rows a first sync stored without it (see
/// [`Store::insert_messages_unindexed`]), newest first, then folds their addresses into the
/// address book; a chunk per transaction so readers and the user's actions get the store in
/// between. The engine calls it after each folder's sync; returns the rows indexed.
pub async fn index_pending(store: &SharedStore) -> Result<usize, SyncError> {
    let mut done = 0;
    loop {
        let n = with_store(store, |s| s.index_pending(INDEX_CHUNK)).await?;
        if n == 0 {
            break;
        }
        done += n;
    }
    while with_store(store, |s| s.fold_pending_addresses(ADDRESS_CHUNK)).await? > 0 {}
    Ok(done)
}

/// A first sync's insert under way. Its task prepares the rows (see
/// [`Store::prepare_headers`]) before it takes the store, so that work overlaps the previous
/// batch's write; `locked` says it has the store, and the rows come back to be freed.
struct Insert {
    task: tokio::task::JoinHandle<Result<Vec<NewMessage>, SyncError>>,
    locked: tokio::sync::oneshot::Receiver<()>,
}

impl Insert {
    fn spawn(store: &SharedStore, account: &str, folder: i64, rows: Vec<NewMessage>) -> Insert {
        let (locked_tx, locked) = tokio::sync::oneshot::channel();
        let (store, account) = (store.clone(), account.to_owned());
        let task = tokio::task::spawn_blocking(move || {
            let mut rows = rows;
            Store::order_for_insert(&mut rows);
            let prepared = Store::prepare_headers(&account, &rows)?;
            let mut store = store.lock().map_err(|_| SyncError::StorePoisoned)?;
            let _ = locked_tx.send(());
            store.insert_prepared_unindexed(folder, &rows, prepared)?;
            Ok(rows)
        });
        Insert { task, locked }
    }

    /// Waits until the insert holds the store (or has failed, which `finish` reports).
    async fn wait_locked(&mut self) {
        let _ = (&mut self.locked).await;
    }

    async fn finish(self) -> Result<Vec<NewMessage>, SyncError> {
        self.task.await.map_err(|_| SyncError::StorePoisoned)?
    }
}

/// First sync of a folder: FETCH by sequence number from the top down, a few commands in
/// flight, each batch stored while the next ones stream in.
async fn fetch_all_newest_first(
    session: &mut Session,
    store: &SharedStore,
    folder: &Folder,
    exists: u32,
    progress: &mut impl FnMut(Progress),
) -> Result<u32, SyncError> {
    let id = folder.id;
    let mut ranges = Vec::new();
    let mut top = exists;
    let mut size = FIRST_BATCH;
    while top > 0 {
        let bottom = top.saturating_sub(size - 1).max(1);
        ranges.push((bottom, top));
        top = bottom - 1;
        size = BATCH;
    }
    let mut fetched = 0;
    let mut in_flight = std::collections::VecDeque::new();
    // At most two: one writing, the next preparing its rows and waiting for the store.
    let mut inserts: std::collections::VecDeque<Insert> = std::collections::VecDeque::new();
    let mut next = ranges.into_iter();
    // Room for a whole coalesced batch: growing one copies every row fetched so far.
    let capacity = MAX_COALESCED + PIPELINE * BATCH as usize;
    let mut batch: Vec<NewMessage> = Vec::with_capacity(capacity);
    // The first screen goes alone: servers may run pipelined FETCHes concurrently and
    // interleave their replies, which would hold the first rows back behind the rest.
    if let Some((from, to)) = next.next() {
        let tag = session.send_headers_by_seq(from, to).await?;
        let mut batch = Vec::with_capacity((to - from + 1) as usize);
        session.finish_headers(&tag, &mut batch).await?;
        fetched += batch.len() as u32;
        with_store(store, move |s| s.insert_messages_unindexed(id, &batch)).await?;
        progress(Progress {
            fetched,
            total: exists,
        });
    }
    loop {
        while in_flight.len() < PIPELINE {
            let Some((from, to)) = next.next() else { break };
            in_flight.push_back(session.send_headers_by_seq(from, to).await?);
        }
        let Some(tag) = in_flight.pop_front() else {
            break;
        };
        let before = batch.len();
        session.finish_headers(&tag, &mut batch).await?;
        fetched += (batch.len() - before) as u32;
        progress(Progress {
            fetched,
            total: exists,
        });
        let last = in_flight.is_empty();
        // While the store is busy with earlier batches, the next ones join this one (up to a
        // bound): one larger transaction writes each index page once, not per batch.
        let busy = inserts.back().is_some_and(|i| !i.task.is_finished());
        if busy && !last && batch.len() < MAX_COALESCED {
            continue;
        }
        let mut written = None;
        if inserts.len() == 2
            && let Some(oldest) = inserts.pop_front()
        {
            written = Some(oldest.finish().await?);
        }
        // Batches are written in order: the next starts once the one before holds the store.
        if let Some(newest) = inserts.back_mut() {
            newest.wait_locked().await;
        }
        let rows = std::mem::replace(&mut batch, Vec::with_capacity(capacity));
        inserts.push_back(Insert::spawn(store, &folder.account, id, rows));
        // Freed here while the store writes, not between two writes.
        drop(written);
    }
    while let Some(insert) = inserts.pop_front() {
        insert.finish().await?;
    }
    Ok(fetched)
}

/// Resumes an interrupted first sync: fetch every UID the store lacks, newest first.
async fn fetch_missing(
    session: &mut Session,
    store: &SharedStore,
    id: i64,
    progress: &mut impl FnMut(Progress),
) -> Result<u32, SyncError> {
    let server = session.all_uids().await?;
    let local = with_store(store, move |s| s.uids(id)).await?;
    let gone = removed_uids(&local, &server);
    if !gone.is_empty() {
        with_store(store, move |s| s.remove_uids(id, &gone)).await?;
    }
    let mut missing: Vec<u32> = server
        .iter()
        .copied()
        .filter(|u| local.binary_search(u).is_err())
        .collect();
    missing.reverse();
    let total = server.len() as u32;
    let mut fetched = total - missing.len() as u32;
    let mut new = 0;
    for chunk in missing.chunks(BATCH as usize) {
        let mut batch: Vec<NewMessage> = Vec::with_capacity(chunk.len());
        let tag = session.send_headers_by_uid_set(chunk).await?;
        session.finish_headers(&tag, &mut batch).await?;
        new += batch.len() as u32;
        fetched += chunk.len() as u32;
        with_store(store, move |s| s.insert_messages_unindexed(id, &batch)).await?;
        progress(Progress { fetched, total });
    }
    Ok(new)
}

/// Downloads and caches the bodies of recent messages without one, so they open offline.
pub async fn prefetch_bodies(
    session: &mut Session,
    store: &SharedStore,
    folder: &Folder,
    newer_than: i64,
    limit: u32,
) -> Result<u32, SyncError> {
    let id = folder.id;
    let wanted = with_store(store, move |s| {
        s.messages_without_body(id, newer_than, limit)
    })
    .await?;
    if wanted.is_empty() {
        return Ok(0);
    }
    let selected = session.select(&folder.name, None).await?;
    if selected.uidvalidity != folder.uidvalidity {
        // The cached UIDs are stale until the next sync of this folder.
        return Ok(0);
    }
    let mut done = 0;
    // Stored in batches: one transaction per body would leave FTS5 a segment per body.
    for chunk in wanted.chunks(25) {
        let mut bodies = Vec::with_capacity(chunk.len());
        for &(message, uid) in chunk {
            if let Some(raw) = session.fetch_body(uid).await? {
                let text = crate::mime::body_text_for_index(&raw);
                bodies.push((message, raw, text));
            }
        }
        done += bodies.len() as u32;
        with_store(store, move |s| {
            let refs: Vec<_> = bodies
                .iter()
                .map(|(id, raw, text)| (*id, raw.as_slice(), text.as_str()))
                .collect();
            s.put_bodies(&refs)
        })
        .await?;
    }
    Ok(done)
}

/// Fetches one body (folder already selected) and caches it; false if the server has it no
/// longer.
pub async fn fetch_body_into_store(
    session: &mut Session,
    store: &SharedStore,
    message: i64,
    uid: u32,
) -> Result<bool, SyncError> {
    let Some(raw) = session.fetch_body(uid).await? else {
        return Ok(false);
    };
    let text = crate::mime::body_text_for_index(&raw);
    with_store(store, move |s| s.put_body(message, &raw, &text)).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_uids_are_the_local_ones_the_server_lacks() {
        assert_eq!(removed_uids(&[1, 2, 3, 7, 9], &[2, 3, 8, 9]), vec![1, 7]);
        assert!(removed_uids(&[], &[1]).is_empty());
    }

    #[test]
    fn roles_fall_back_to_well_known_names() {
        let folder = |name: &str, role| ListedFolder {
            name: name.into(),
            delimiter: Some('/'),
            role,
            subscribed: true,
            selectable: true,
        };
        let infos = with_fallback_roles(vec![
            folder("INBOX", Some(FolderRole::Inbox)),
            folder("Sent Items", None),
            folder("Old/Trash", None),
            folder("Spam", None),
            folder("Papers", Some(FolderRole::Archive)),
            folder("Archive", None),
        ]);
        let role = |name: &str| infos.iter().find(|f| f.name == name).and_then(|f| f.role);
        assert_eq!(role("Sent Items"), Some(FolderRole::Sent));
        assert_eq!(role("Old/Trash"), Some(FolderRole::Trash));
        assert_eq!(role("Spam"), Some(FolderRole::Junk));
        // The server named its archive; a folder merely called Archive stays plain.
        assert_eq!(role("Archive"), None);
    }
}

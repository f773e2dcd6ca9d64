//! Drafts: every change the composer reports is saved locally at once (fsync'd, so a crash
//! reopens the latest text), and a copy goes to the account's Drafts folder at most every
//! 30 seconds, replacing the previous copy there.
//!
//! The composer (GUI) picks a draft id with [`new_draft_id`] and sends
//! `Command::SaveDraft` after each pause in typing (at most a second after the last change);
//! the engine's drafts task does the rest.
//!
//! A message the server refused comes back from the outbox as a draft
//! ([`compose_from_sent`], `Command::EditOutgoing`).

mod reopen;

pub use reopen::compose_from_sent;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::account::{Account, Incoming};
use crate::compose::{Attachment, Compose, ComposeError};
use crate::engine::Event;
use crate::mime;
use crate::store::{DraftAttachment, DraftId, Flags, FolderRole};
use crate::sync::{SharedStore, SyncError, with_store};

/// The shortest time between two server copies of one draft, unless the config says.
pub const SERVER_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error, Clone)]
pub enum DraftError {
    #[error(transparent)]
    Store(#[from] SyncError),
    #[error("the draft could not be read back: {0}")]
    Json(Arc<serde_json::Error>),
    #[error(transparent)]
    Compose(Arc<ComposeError>),
}

/// A fresh draft id: unix microseconds, strictly increasing within this process, so ids
/// never repeat across restarts either.
pub fn new_draft_id() -> DraftId {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// What identifies an attachment set (and a forwarded message) without comparing bytes: the
/// buffers are shared (`Arc`), so the same attachments keep the same pointers between saves.
fn fingerprint(compose: &Compose) -> Vec<(String, usize, usize)> {
    let forwarded = compose
        .forwarded
        .iter()
        .map(|f| (String::new(), Arc::as_ptr(&f.raw) as usize, f.raw.len()));
    compose
        .attachments
        .iter()
        .map(|a| (a.name.clone(), Arc::as_ptr(&a.data) as usize, a.data.len()))
        .chain(forwarded)
        .collect()
}

/// A compose model as the store keeps a draft: JSON, with the bytes of the attachments
/// and of a forwarded message apart.
#[derive(Clone, Debug)]
pub struct StoredForm {
    pub compose: String,
    pub attachments: Vec<DraftAttachment>,
    pub forwarded: Option<Vec<u8>>,
}

/// `compose` in the form [`crate::store::Store::draft_save`] takes.
pub fn stored_form(compose: &Compose) -> Result<StoredForm, DraftError> {
    Ok(StoredForm {
        compose: serde_json::to_string(compose).map_err(|e| DraftError::Json(Arc::new(e)))?,
        attachments: attachment_rows(compose),
        forwarded: compose.forwarded.as_ref().map(|f| f.raw.as_ref().clone()),
    })
}

fn attachment_rows(compose: &Compose) -> Vec<DraftAttachment> {
    compose
        .attachments
        .iter()
        .map(|a| DraftAttachment {
            name: a.name.clone(),
            content_type: a.content_type.clone(),
            data: a.data.as_ref().clone(),
        })
        .collect()
}

/// Saves a draft locally, durably. `attachments_changed` false skips rewriting their bytes.
pub async fn save_local(
    store: &SharedStore,
    id: DraftId,
    compose: &Compose,
    attachments_changed: bool,
) -> Result<(), DraftError> {
    let json = serde_json::to_string(compose).map_err(|e| DraftError::Json(Arc::new(e)))?;
    let account = compose.account.clone();
    let attachments: Option<Vec<DraftAttachment>> =
        attachments_changed.then(|| attachment_rows(compose));
    let forwarded: Option<Vec<u8>> = compose.forwarded.as_ref().map(|f| f.raw.as_ref().clone());
    with_store(store, move |s| {
        s.draft_save(
            id,
            &account,
            &json,
            attachments.as_deref().map(|a| (a, forwarded.as_deref())),
        )
    })
    .await?;
    Ok(())
}

/// Reads a draft back (after a crash, or to reopen it), attachments included.
pub async fn load(store: &SharedStore, id: DraftId) -> Result<Option<Compose>, DraftError> {
    let found = with_store(store, move |s| {
        Ok(match s.draft(id)? {
            Some(d) => Some((d, s.draft_attachments(id)?, s.draft_forwarded(id)?)),
            None => None,
        })
    })
    .await?;
    let Some((draft, stored, forwarded)) = found else {
        return Ok(None);
    };
    let mut compose: Compose =
        serde_json::from_str(&draft.compose).map_err(|e| DraftError::Json(Arc::new(e)))?;
    // The JSON names the attachments; the bytes come from their own table, in order.
    compose.attachments = stored
        .into_iter()
        .zip(
            compose
                .attachments
                .iter()
                .map(|a| a.content_id.clone())
                .chain(std::iter::repeat(None)),
        )
        .map(|(a, content_id)| Attachment {
            name: a.name,
            content_type: a.content_type,
            content_id,
            data: Arc::new(a.data),
        })
        .collect();
    // The JSON keeps the forwarded message's subject; its bytes come from the store.
    if let Some(f) = compose.forwarded.as_mut() {
        f.raw = Arc::new(forwarded.unwrap_or_default());
    }
    Ok(Some(compose))
}

/// Saves the draft's copy in the account's Drafts folder, replacing the previous one; the
/// upload itself is a queued Append the account task replays (IMAP accounts only).
async fn save_server(
    store: &SharedStore,
    account: &Account,
    id: DraftId,
    compose: &Compose,
) -> Result<(), DraftError> {
    // Encoding and parsing the copy is CPU work: off the async threads and the store lock.
    let to_build = compose.clone();
    let prepared = tokio::task::spawn_blocking(move || {
        let built = to_build.build_draft(chrono::Utc::now())?;
        let mut copy = built.bcc_header.clone().unwrap_or_default().into_bytes();
        copy.extend_from_slice(&built.bytes);
        let summary = mime::summarize(&copy, now_millis() / 1000);
        Ok::<_, ComposeError>((built.message_id, copy, summary))
    })
    .await
    .map_err(|_| DraftError::Store(SyncError::StorePoisoned))?
    .map_err(|e| DraftError::Compose(Arc::new(e)))?;
    let (message_id, copy, summary) = prepared;
    let upload = matches!(account.incoming, Incoming::Imap(_));
    let account_id = account.id.clone();
    with_store(store, move |s| {
        let Some(folder) = s.folder_by_role(&account_id, FolderRole::Drafts)? else {
            return Ok(());
        };
        let previous = s.draft(id)?.and_then(|d| d.server_message_id);
        let mut msg = summary.message;
        msg.flags = Flags(Flags::SEEN.0 | Flags::DRAFT.0);
        let text = summary.index_text;
        s.replace_draft_copy(
            folder.id,
            previous.as_deref(),
            Some((&msg, &copy, &text)),
            upload,
        )?;
        s.draft_set_server_copy(id, &message_id, now_millis())
    })
    .await?;
    Ok(())
}

/// Deletes a draft here and its copy on the server (after sending it, or when discarded).
pub async fn discard(
    store: &SharedStore,
    account: &Account,
    id: DraftId,
) -> Result<(), DraftError> {
    let upload = matches!(account.incoming, Incoming::Imap(_));
    let account_id = account.id.clone();
    with_store(store, move |s| {
        if let Some(previous) = s.draft(id)?.and_then(|d| d.server_message_id)
            && let Some(folder) = s.folder_by_role(&account_id, FolderRole::Drafts)?
        {
            s.replace_draft_copy(folder.id, Some(&previous), None, upload)?;
        }
        s.draft_delete(id)
    })
    .await?;
    Ok(())
}

/// Commands to the drafts task.
#[derive(Debug)]
pub enum DraftCommand {
    Save { id: DraftId, compose: Box<Compose> },
    Discard { id: DraftId, account: String },
}

/// One draft's in-memory state between saves.
struct Open {
    /// The attachment set last written (None: not known since the start).
    attachments: Option<Vec<(String, usize, usize)>>,
    /// The last server copy, else when the draft was first saved in this run.
    last_server: Instant,
    /// The latest text not yet on the server.
    pending: Option<Box<Compose>>,
}

impl Open {
    fn due(&self, every: Duration) -> Option<Instant> {
        self.pending.as_ref().map(|_| self.last_server + every)
    }
}

/// The engine's drafts task: local saves at once, server copies at most every `every`
/// ([`SERVER_EVERY`] by default). `nudge(account)` asks that account to replay its queue
/// (the upload).
pub async fn drafts_task(
    store: SharedStore,
    accounts: Vec<Account>,
    every: Duration,
    events: mpsc::UnboundedSender<Event>,
    mut commands: mpsc::UnboundedReceiver<DraftCommand>,
    nudge: impl Fn(&str) + Send + 'static,
) {
    let accounts: HashMap<String, Account> =
        accounts.into_iter().map(|a| (a.id.clone(), a)).collect();
    let mut open: HashMap<DraftId, Open> = HashMap::new();
    // Drafts sent or discarded in this run: a save still in flight from the composer (its
    // pause-in-typing timer) must not bring them back.
    let mut closed: std::collections::HashSet<DraftId> = std::collections::HashSet::new();
    loop {
        let due = open.values().filter_map(|o| o.due(every)).min();
        let command = match due {
            Some(at) => tokio::select! {
                c = commands.recv() => match c { Some(c) => Some(c), None => return },
                _ = tokio::time::sleep_until(at) => None,
            },
            None => match commands.recv().await {
                Some(c) => Some(c),
                None => return,
            },
        };
        match command {
            Some(DraftCommand::Save { id, .. }) if closed.contains(&id) => {}
            Some(DraftCommand::Save { id, compose }) => {
                let state = open.entry(id).or_insert_with(|| Open {
                    attachments: None,
                    last_server: Instant::now(),
                    pending: None,
                });
                let print = fingerprint(&compose);
                let changed = state.attachments.as_ref() != Some(&print);
                match save_local(&store, id, &compose, changed).await {
                    Ok(()) => {
                        state.attachments = Some(print);
                        let _ = events.send(Event::DraftSaved { id });
                    }
                    Err(error) => {
                        let _ = events.send(Event::DraftError { id, error });
                    }
                }
                state.pending = Some(compose);
            }
            Some(DraftCommand::Discard { id, account }) => {
                open.remove(&id);
                closed.insert(id);
                let Some(account) = accounts.get(&account) else {
                    continue;
                };
                match discard(&store, account, id).await {
                    Ok(()) => nudge(&account.id),
                    Err(error) => {
                        let _ = events.send(Event::DraftError { id, error });
                    }
                }
            }
            None => {
                let now = Instant::now();
                for (&id, state) in open.iter_mut() {
                    if state.due(every).is_none_or(|at| at > now) {
                        continue;
                    }
                    let Some(compose) = state.pending.take() else {
                        continue;
                    };
                    // A failed copy waits for the next interval like a saved one: the local
                    // save already holds the text.
                    state.last_server = now;
                    let Some(account) = accounts.get(&compose.account) else {
                        continue;
                    };
                    match save_server(&store, account, id, &compose).await {
                        Ok(()) => nudge(&account.id),
                        Err(error) => {
                            let _ = events.send(Event::DraftError { id, error });
                        }
                    }
                }
            }
        }
    }
}

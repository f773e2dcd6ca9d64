//! The facade the GUI talks to: commands in, events out.
//!
//! [`Engine::open`] loads the profile's accounts and starts one task per account on the
//! tokio runtime. The caller never blocks on the network: commands are queued, local
//! changes are applied to the store at once, and the account task replays them on the
//! server when it can.

use crate::account::{Account, Config, Incoming};
use crate::compose::Compose;
use crate::drafts::{self, DraftCommand, DraftError};
use crate::imap::{self, ImapError, Session};
use crate::outbox::{self, OutboxError, SentFiling};
use crate::profile::Profile;
use crate::secrets::{self, SecretsError};
use crate::store::{
    DraftId, Flags, FolderId, FolderRole, MessageId, MessageRow, OutboxId, OutboxState, Store,
    StoreError,
};
use crate::sync::{self, Progress, SharedStore, SyncError, with_store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

/// What the GUI asks of the engine.
#[derive(Clone, Debug)]
pub enum Command {
    /// Sync every account now.
    SyncAll,
    /// Make sure a message's body is in the store; answered by `BodyReady`.
    FetchBody(MessageId),
    SetFlags {
        ids: Vec<MessageId>,
        add: Flags,
        remove: Flags,
    },
    Move {
        ids: Vec<MessageId>,
        to: FolderId,
    },
    Copy {
        ids: Vec<MessageId>,
        to: FolderId,
    },
    Delete(Vec<MessageId>),
    /// Put a message in the outbox (durably, at once) and send it; `draft` is the draft it
    /// was written as, deleted once the message is safely in the outbox.
    Send {
        compose: Box<Compose>,
        draft: Option<DraftId>,
    },
    /// The composer's latest text: saved locally at once, to the server's Drafts throttled.
    SaveDraft {
        id: DraftId,
        compose: Box<Compose>,
    },
    DiscardDraft {
        id: DraftId,
        account: String,
    },
    /// The user asks to send a failed or "may have been sent" message again.
    RetryOutgoing(OutboxId),
    /// The user removes a message from the outbox without sending it.
    DiscardOutgoing(OutboxId),
    /// The user takes a failed or "may have been sent" message back as a draft to fix and
    /// send again: answered by `DraftReopened`, or `OutboxError` with
    /// `OutboxError::NotEditable` for a message that is queued, being sent or sent.
    EditOutgoing {
        id: OutboxId,
    },
    Search {
        query: String,
        account: Option<String>,
        folder: Option<FolderId>,
    },
    Shutdown,
}

/// What the engine reports.
#[derive(Clone, Debug)]
pub enum Event {
    Online {
        account: String,
    },
    Offline {
        account: String,
        error: EngineError,
    },
    SyncProgress {
        account: String,
        folder: FolderId,
        progress: Progress,
    },
    FolderListChanged {
        account: String,
    },
    FolderChanged {
        account: String,
        folder: FolderId,
    },
    NewMail {
        account: String,
        folder: FolderId,
        count: u32,
    },
    BodyReady(MessageId),
    SearchResults {
        query: String,
        rows: Vec<MessageRow>,
    },
    /// The outbox changed (queued, sent, failed); the GUI rereads `Store::outbox`.
    OutboxChanged {
        account: String,
    },
    OutboxError {
        account: String,
        error: OutboxError,
    },
    DraftSaved {
        id: DraftId,
    },
    /// Outbox entry `outgoing` is now draft `draft` (the GUI opens a composer on
    /// `drafts::load(draft)`); the outbox changed too.
    DraftReopened {
        account: String,
        draft: DraftId,
        outgoing: OutboxId,
    },
    DraftError {
        id: DraftId,
        error: DraftError,
    },
    Error(EngineError),
}

#[derive(Debug, thiserror::Error, Clone)]
pub enum EngineError {
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Imap(#[from] ImapError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error(transparent)]
    Config(#[from] crate::account::ConfigError),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error("no account {0:?}")]
    NoSuchAccount(String),
    #[error("this profile is already open in another Tern window")]
    ProfileInUse,
    #[error("cannot use the profile folder: {0}")]
    Profile(String),
    #[error("no such message")]
    NoSuchMessage,
}

/// The handle the GUI holds.
pub struct Engine {
    commands: mpsc::UnboundedSender<Command>,
    store: SharedStore,
    tasks: Mutex<Tasks>,
    /// Held while the engine runs; the OS releases it if the process dies.
    lock: Mutex<Option<std::fs::File>>,
}

/// The engine's long-running tasks, by how [`Engine::stop`] ends them.
#[derive(Default)]
struct Tasks {
    /// End by themselves once the dispatcher has passed on the Shutdown (the drafts task
    /// stores every draft still queued first).
    graceful: Vec<JoinHandle<()>>,
    /// Account tasks: may be in the middle of a sync, which is safe to cut.
    accounts: Vec<JoinHandle<()>>,
    /// Outbox tasks: cut only while no message is being submitted.
    outboxes: Vec<JoinHandle<()>>,
}

/// How long a stop waits for queued drafts and a submission in progress.
const STOP_GRACE: Duration = Duration::from_secs(15);

/// Takes the profile's lock file, or says another Tern has the profile open.
fn lock_profile(profile: &Profile) -> Result<std::fs::File, EngineError> {
    let path = profile.dir().join("tern.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| EngineError::Profile(format!("{}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(EngineError::ProfileInUse),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(EngineError::Profile(format!("{}: {e}", path.display())))
        }
    }
}

fn is_imap(account: &Account) -> bool {
    matches!(account.incoming, Incoming::Imap(_))
}

/// The accounts whose task replays queued server operations (IMAP): the ones a local
/// action, a draft copy or a Sent copy nudges. POP3 accounts have nothing to replay.
fn replays(
    accounts: &HashMap<String, AccountHandle>,
) -> HashMap<String, mpsc::UnboundedSender<AccountCommand>> {
    accounts
        .iter()
        .filter(|(_, a)| is_imap(&a.account))
        .map(|(id, a)| (id.clone(), a.commands.clone()))
        .collect()
}

/// What the dispatcher holds of one account.
struct AccountHandle {
    account: Account,
    commands: mpsc::UnboundedSender<AccountCommand>,
    /// Wakes the account's outbox task.
    outbox: Arc<Notify>,
}

/// Messages to one account's task.
enum AccountCommand {
    Sync,
    FetchBody(MessageId),
    Shutdown,
}

impl Engine {
    /// Opens the profile's store and config and starts the account tasks. Must be called
    /// inside a tokio runtime. Returns the handle and the stream of events.
    pub fn open(
        profile: &Profile,
    ) -> Result<(Engine, mpsc::UnboundedReceiver<Event>), EngineError> {
        // One engine per profile: a second one would replay and send the same queues.
        let lock = lock_profile(profile)?;
        let config = Config::load(&profile.config_path())?;
        let mut store = Store::open(&profile.store_path())?;
        // Whatever a stop interrupted is settled before anything is sent again.
        store.outbox_resume()?;
        // A POP3 account's folders exist only here, and are marked so that no local action
        // on them is ever queued for a server.
        for account in &config.accounts {
            match account.incoming {
                Incoming::Pop3(_) => sync::pop3::ensure_local_folders(&mut store, &account.id)?,
                // An account that was POP3 under this id must have its server ops back.
                Incoming::Imap(_) => store.forget_pop3_account(&account.id)?,
            }
        }
        let store: SharedStore = Arc::new(Mutex::new(store));
        let (events, events_rx) = mpsc::unbounded_channel();
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let mut accounts = HashMap::new();
        let mut tasks = Tasks::default();
        for account in &config.accounts {
            let (tx, rx) = mpsc::unbounded_channel();
            let outbox = Arc::new(Notify::new());
            // What the server says at login about filing sent mail, for the outbox.
            let filing = Arc::new(SentFiling::default());
            // Sent copies of IMAP accounts are uploaded by the account's replay; a POP3
            // account has nothing to upload (and a nudge would be a download).
            let replay = is_imap(account).then(|| tx.clone());
            let outbox_task = tokio::spawn(outbox::outbox_task(
                store.clone(),
                account.clone(),
                filing.clone(),
                events.clone(),
                outbox.clone(),
                move || {
                    if let Some(replay) = &replay {
                        let _ = replay.send(AccountCommand::Sync);
                    }
                },
            ));
            let account_task = tokio::spawn(account_task(
                account.clone(),
                store.clone(),
                events.clone(),
                rx,
                outbox.clone(),
                filing,
            ));
            tasks.outboxes.push(outbox_task);
            tasks.accounts.push(account_task);
            let handle = AccountHandle {
                account: account.clone(),
                commands: tx,
                outbox,
            };
            accounts.insert(account.id.clone(), handle);
        }
        let (drafts_tx, drafts_rx) = mpsc::unbounded_channel();
        let syncs = replays(&accounts);
        let drafts_task = tokio::spawn(drafts::drafts_task(
            store.clone(),
            config.accounts.clone(),
            config
                .draft_server_interval_secs
                .map_or(drafts::SERVER_EVERY, Duration::from_secs),
            events.clone(),
            drafts_rx,
            move |account: &str| {
                if let Some(tx) = syncs.get(account) {
                    let _ = tx.send(AccountCommand::Sync);
                }
            },
        ));
        let dispatch_task = tokio::spawn(dispatch(
            commands_rx,
            accounts,
            drafts_tx,
            store.clone(),
            events,
        ));
        tasks.graceful = vec![dispatch_task, drafts_task];
        Ok((
            Engine {
                commands,
                store,
                tasks: Mutex::new(tasks),
                lock: Mutex::new(Some(lock)),
            },
            events_rx,
        ))
    }

    /// Queues a command; never blocks.
    pub fn send(&self, command: Command) {
        let _ = self.commands.send(command);
    }

    /// The store, for the GUI's reads (pages, counts, threads, bodies).
    pub fn store(&self) -> SharedStore {
        self.store.clone()
    }

    /// Stops every task of the engine and releases the profile, so that a new engine can
    /// open it (after the accounts changed) or the app can quit. Commands sent before are
    /// handled first, so a draft just saved is on disk; a message being submitted is let
    /// finish (up to [`STOP_GRACE`]), so stopping never makes a send uncertain. Later calls
    /// do nothing.
    pub async fn stop(&self) {
        let tasks = std::mem::take(&mut *lock_ignoring_poison(&self.tasks));
        let _ = self.commands.send(Command::Shutdown);
        let deadline = tokio::time::Instant::now() + STOP_GRACE;
        for task in tasks.graceful {
            let abort = task.abort_handle();
            if tokio::time::timeout_at(deadline, task).await.is_err() {
                abort.abort();
            }
        }
        for task in &tasks.accounts {
            task.abort();
        }
        while tokio::time::Instant::now() < deadline && self.submitting() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for task in tasks.outboxes.iter().chain(&tasks.accounts) {
            task.abort();
        }
        for task in tasks.outboxes.into_iter().chain(tasks.accounts) {
            let _ = task.await;
        }
        lock_ignoring_poison(&self.lock).take();
    }

    /// Whether a message is between "submitting" and the server's answer.
    fn submitting(&self) -> bool {
        let store = lock_ignoring_poison(&self.store);
        store.outbox(None).is_ok_and(|items| {
            items
                .iter()
                .any(|i| matches!(i.state, OutboxState::Submitting | OutboxState::Finishing))
        })
    }
}

/// A poisoned lock only means a task panicked while holding it; what it guards is still
/// usable (the store is SQLite's, the task list is plain data).
fn lock_ignoring_poison<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn dispatch(
    mut commands: mpsc::UnboundedReceiver<Command>,
    accounts: HashMap<String, AccountHandle>,
    drafts: mpsc::UnboundedSender<DraftCommand>,
    store: SharedStore,
    events: mpsc::UnboundedSender<Event>,
) {
    let syncs: HashMap<String, mpsc::UnboundedSender<AccountCommand>> = accounts
        .iter()
        .map(|(id, a)| (id.clone(), a.commands.clone()))
        .collect();
    let replay = replays(&accounts);
    while let Some(command) = commands.recv().await {
        let result = match command {
            Command::Shutdown => {
                for tx in syncs.values() {
                    let _ = tx.send(AccountCommand::Shutdown);
                }
                return;
            }
            Command::SyncAll => {
                for a in accounts.values() {
                    let _ = a.commands.send(AccountCommand::Sync);
                    send_queued_now(&store, &a.account.id, &a.outbox).await;
                }
                Ok(())
            }
            Command::FetchBody(id) => {
                route(&store, &syncs, id, AccountCommand::FetchBody(id), &events).await
            }
            Command::SetFlags { ids, add, remove } => {
                local(&store, &replay, ids, move |s, ids| {
                    s.local_set_flags(ids, add, remove)
                })
                .await
            }
            Command::Move { ids, to } => {
                local(&store, &replay, ids, move |s, ids| s.local_move(ids, to)).await
            }
            Command::Copy { ids, to } => {
                local(&store, &replay, ids, move |s, ids| s.local_copy(ids, to)).await
            }
            Command::Delete(ids) => local(&store, &replay, ids, |s, ids| s.local_delete(ids)).await,
            Command::Send { compose, draft } => {
                send(&store, &accounts, &drafts, &events, &compose, draft).await
            }
            Command::SaveDraft { id, compose } => {
                let _ = drafts.send(DraftCommand::Save { id, compose });
                Ok(())
            }
            Command::DiscardDraft { id, account } => {
                let _ = drafts.send(DraftCommand::Discard { id, account });
                Ok(())
            }
            Command::RetryOutgoing(id) => {
                outgoing(&store, &accounts, &events, id, move |s| s.outbox_retry(id)).await
            }
            Command::DiscardOutgoing(id) => {
                outgoing(&store, &accounts, &events, id, move |s| {
                    s.outbox_discard(id)
                })
                .await
            }
            Command::EditOutgoing { id } => edit_outgoing(&store, &accounts, &events, id).await,
            Command::Search {
                query,
                account,
                folder,
            } => {
                let q = query.clone();
                with_store(&store, move |s| {
                    s.search(&q, account.as_deref(), folder, 500)
                })
                .await
                .map(|rows| {
                    let _ = events.send(Event::SearchResults { query, rows });
                })
                .map_err(EngineError::from)
            }
        };
        if let Err(e) = result {
            let _ = events.send(Event::Error(e));
        }
    }
}

/// Puts a message in the outbox (durable before anything else happens), drops the draft it
/// was written as, and wakes the account's outbox.
async fn send(
    store: &SharedStore,
    accounts: &HashMap<String, AccountHandle>,
    drafts: &mpsc::UnboundedSender<DraftCommand>,
    events: &mpsc::UnboundedSender<Event>,
    compose: &Compose,
    draft: Option<DraftId>,
) -> Result<(), EngineError> {
    let handle = accounts
        .get(&compose.account)
        .ok_or_else(|| EngineError::NoSuchAccount(compose.account.clone()))?;
    outbox::queue(store, compose).await?;
    let _ = events.send(Event::OutboxChanged {
        account: handle.account.id.clone(),
    });
    if let Some(id) = draft {
        let _ = drafts.send(DraftCommand::Discard {
            id,
            account: handle.account.id.clone(),
        });
    }
    handle.outbox.notify_one();
    Ok(())
}

/// A user decision on an outbox entry; wakes that account's outbox.
async fn outgoing(
    store: &SharedStore,
    accounts: &HashMap<String, AccountHandle>,
    events: &mpsc::UnboundedSender<Event>,
    id: OutboxId,
    f: impl FnOnce(&mut Store) -> Result<bool, StoreError> + Send + 'static,
) -> Result<(), EngineError> {
    let account = with_store(store, move |s| {
        let account = s.outbox_item(id)?.map(|i| i.account);
        f(s)?;
        Ok(account)
    })
    .await?;
    if let Some(handle) = account.as_deref().and_then(|a| accounts.get(a)) {
        let _ = events.send(Event::OutboxChanged {
            account: handle.account.id.clone(),
        });
        handle.outbox.notify_one();
    }
    Ok(())
}

/// Takes an outbox entry back as a draft; a refusal (queued, being sent, sent) is reported
/// as that account's `OutboxError`.
async fn edit_outgoing(
    store: &SharedStore,
    accounts: &HashMap<String, AccountHandle>,
    events: &mpsc::UnboundedSender<Event>,
    id: OutboxId,
) -> Result<(), EngineError> {
    let account = with_store(store, move |s| Ok(s.outbox_item(id)?.map(|i| i.account)))
        .await?
        .ok_or(EngineError::Outbox(OutboxError::NoSuchEntry(id)))?;
    let handle = accounts
        .get(&account)
        .ok_or_else(|| EngineError::NoSuchAccount(account.clone()))?;
    match outbox::reopen_as_draft(store, &handle.account, id).await {
        Ok(draft) => {
            let _ = events.send(Event::DraftReopened {
                account: account.clone(),
                draft,
                outgoing: id,
            });
            let _ = events.send(Event::OutboxChanged { account });
        }
        Err(error) => {
            let _ = events.send(Event::OutboxError { account, error });
        }
    }
    Ok(())
}

/// Applies a local action to the store at once, then nudges the accounts to replay it.
async fn local(
    store: &SharedStore,
    accounts: &HashMap<String, mpsc::UnboundedSender<AccountCommand>>,
    ids: Vec<MessageId>,
    f: impl FnOnce(&mut Store, &[MessageId]) -> Result<(), StoreError> + Send + 'static,
) -> Result<(), EngineError> {
    with_store(store, move |s| f(s, &ids)).await?;
    for tx in accounts.values() {
        let _ = tx.send(AccountCommand::Sync);
    }
    Ok(())
}

/// Lets queued messages waiting out a backoff go now, and wakes the account's outbox.
async fn send_queued_now(store: &SharedStore, account: &str, outbox: &Notify) {
    let id = account.to_owned();
    if let Err(e) = with_store(store, move |s| s.outbox_retry_now(&id)).await {
        tracing::warn!("outbox of {account}: {e}");
    }
    outbox.notify_one();
}

/// Sends a command to the account that owns `message`; answers at once if nothing to do.
async fn route(
    store: &SharedStore,
    accounts: &HashMap<String, mpsc::UnboundedSender<AccountCommand>>,
    message: MessageId,
    command: AccountCommand,
    events: &mpsc::UnboundedSender<Event>,
) -> Result<(), EngineError> {
    let found = with_store(store, move |s| {
        let Some(row) = s.message(message)? else {
            return Ok(None);
        };
        let folder = s.folder(row.folder)?;
        Ok(Some((row.has_body, folder.map(|f| f.account))))
    })
    .await?;
    match found {
        None => Err(EngineError::NoSuchMessage),
        Some((true, _)) => {
            let _ = events.send(Event::BodyReady(message));
            Ok(())
        }
        Some((false, Some(account))) => {
            if let Some(tx) = accounts.get(&account) {
                let _ = tx.send(command);
            }
            Ok(())
        }
        Some((false, None)) => Err(EngineError::NoSuchMessage),
    }
}

/// A task that ends with its owner.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How often folders other than INBOX are polled while IDLE watches INBOX.
const POLL_EVERY: Duration = Duration::from_secs(300);
/// Bodies of mail newer than this are prefetched so they open offline.
const PREFETCH_DAYS: i64 = 14;

/// One account: connect, replay, sync, then wait for IDLE news, a command or the poll
/// timer; reconnect with backoff whenever the connection drops.
async fn account_task(
    account: Account,
    store: SharedStore,
    events: mpsc::UnboundedSender<Event>,
    mut commands: mpsc::UnboundedReceiver<AccountCommand>,
    outbox: Arc<Notify>,
    filing: Arc<SentFiling>,
) {
    let server = match account.incoming.clone() {
        Incoming::Imap(server) => server,
        Incoming::Pop3(_) => {
            return pop3_account_task(account, store, events, commands, outbox).await;
        }
    };
    let mut backoff = Duration::from_secs(1);
    loop {
        let result = async {
            let password = secrets::password_async(account.incoming_secret_key()).await?;
            let mut session = imap::connect(&server, &password).await?;
            filing.record(session.files_sent_mail());
            backoff = Duration::from_secs(1);
            let _ = events.send(Event::Online {
                account: account.id.clone(),
            });
            // Back online: whatever waits in the outbox can go now.
            send_queued_now(&store, &account.id, &outbox).await;
            let (idle_tx, mut idle_rx) = mpsc::unbounded_channel();
            // Aborted when this connection ends, also when the account task is cut short.
            let idle = AbortOnDrop(tokio::spawn(idle_inbox(server.clone(), password, idle_tx)));
            let outcome = async {
                loop {
                    full_sync(&mut session, &store, &account, &events).await?;
                    // The folder list is known now: accepted mail can be filed in Sent.
                    outbox.notify_one();
                    let next = tokio::select! {
                        c = commands.recv() => c,
                        // A closed channel (no IDLE on this server) disables this branch.
                        Some(()) = idle_rx.recv() => Some(AccountCommand::Sync),
                        _ = tokio::time::sleep(POLL_EVERY) => Some(AccountCommand::Sync),
                    };
                    match next {
                        None | Some(AccountCommand::Shutdown) => {
                            return Ok::<bool, EngineError>(true);
                        }
                        Some(AccountCommand::Sync) => {}
                        Some(AccountCommand::FetchBody(id)) => {
                            fetch_body(&mut session, &store, id).await?;
                            let _ = events.send(Event::BodyReady(id));
                        }
                    }
                }
            }
            .await;
            drop(idle);
            outcome
        }
        .await;
        match result {
            Ok(true) => return,
            Ok(false) => {}
            Err(error) => {
                let retry = match &error {
                    EngineError::Imap(e) | EngineError::Sync(SyncError::Imap(e)) => {
                        e.is_transient()
                    }
                    _ => false,
                };
                let _ = events.send(Event::Offline {
                    account: account.id.clone(),
                    error,
                });
                if !retry {
                    // Wrong settings or password: wait for the user to ask again.
                    match commands.recv().await {
                        None | Some(AccountCommand::Shutdown) => return,
                        Some(_) => continue,
                    }
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            c = commands.recv() => if matches!(c, None | Some(AccountCommand::Shutdown)) { return },
        }
        backoff = (backoff * 2).min(Duration::from_secs(300));
    }
}

/// Replays pending operations, refreshes the folder list and syncs every folder, INBOX
/// first; then prefetches recent bodies.
async fn full_sync(
    session: &mut Session,
    store: &SharedStore,
    account: &Account,
    events: &mpsc::UnboundedSender<Event>,
) -> Result<(), EngineError> {
    sync::replay_pending(session, store, &account.id).await?;
    let mut folders = sync::sync_folder_list(session, store, &account.id).await?;
    let _ = events.send(Event::FolderListChanged {
        account: account.id.clone(),
    });
    folders.retain(|f| f.selectable);
    folders.sort_by_key(|f| f.role != Some(FolderRole::Inbox));
    for folder in &folders {
        let (acc, id) = (account.id.clone(), folder.id);
        let synced = sync::sync_folder(session, store, folder, |progress| {
            let _ = events.send(Event::SyncProgress {
                account: acc.clone(),
                folder: id,
                progress,
            });
        })
        .await;
        let report = match synced {
            Ok(report) => report,
            // One folder the server refuses (or that vanished meanwhile) must not stop
            // the others; the user sees the error.
            Err(
                e
                @ SyncError::Imap(ImapError::No(_) | ImapError::Bad(_) | ImapError::InvalidString),
            )
            | Err(e @ SyncError::FolderGone(_)) => {
                let _ = events.send(Event::Error(e.into()));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        // A first sync stores headers unindexed (the list fills sooner); search needs them.
        sync::index_pending(store).await?;
        if report != sync::FolderReport::default() {
            let _ = events.send(Event::FolderChanged {
                account: account.id.clone(),
                folder: folder.id,
            });
        }
        if report.new > 0 && folder.role == Some(FolderRole::Inbox) && folder.uidnext.is_some() {
            let _ = events.send(Event::NewMail {
                account: account.id.clone(),
                folder: folder.id,
                count: report.new,
            });
        }
    }
    let since = chrono::Utc::now().timestamp() - PREFETCH_DAYS * 86_400;
    for folder in folders.iter().filter(|f| f.role == Some(FolderRole::Inbox)) {
        // Prefetching is a convenience: a body it cannot get is fetched when opened.
        match sync::prefetch_bodies(session, store, folder, since, 200).await {
            Err(SyncError::Imap(e)) if e.is_transient() => return Err(e.into()),
            Err(e) => tracing::warn!("prefetch in {}: {e}", folder.name),
            Ok(_) => {}
        }
    }
    Ok(())
}

async fn fetch_body(
    session: &mut Session,
    store: &SharedStore,
    id: MessageId,
) -> Result<(), EngineError> {
    let found = with_store(store, move |s| {
        let Some(row) = s.message(id)? else {
            return Ok(None);
        };
        Ok(s.folder(row.folder)?.zip(row.uid))
    })
    .await?;
    let Some((folder, uid)) = found else {
        return Err(EngineError::NoSuchMessage);
    };
    // Always SELECT: it tells us whether the cached UID is still valid.
    let selected = session.select(&folder.name, None).await?;
    if selected.uidvalidity != folder.uidvalidity {
        // Stale UID: the sync (queued by the caller) refetches; never read another message.
        return Err(EngineError::NoSuchMessage);
    }
    sync::fetch_body_into_store(session, store, id, uid).await?;
    Ok(())
}

/// Watches INBOX with IDLE on a connection of its own; signals on every change.
async fn idle_inbox(
    server: crate::account::Server,
    password: String,
    changed: mpsc::UnboundedSender<()>,
) {
    let mut backoff = Duration::from_secs(1);
    let mut first_attempt = true;
    loop {
        // Any attempt after the first (even if the first never got through) may have missed
        // changes, and the account's own connection has likely died too: a sync finds out.
        let catch_up = !std::mem::replace(&mut first_attempt, false);
        let result: Result<(), ImapError> = async {
            let mut session = imap::connect(&server, &password).await?;
            if !session.has("IDLE") {
                // No push on this server: the account task's polling does the work.
                return Ok(());
            }
            session.select("INBOX", None).await?;
            backoff = Duration::from_secs(1);
            if catch_up && changed.send(()).is_err() {
                return Ok(());
            }
            loop {
                // Re-issue IDLE well inside the 30-minute server timeout (RFC 2177).
                if session.idle(Duration::from_secs(25 * 60)).await? && changed.send(()).is_err() {
                    return Ok(());
                }
            }
        }
        .await;
        match result {
            // Wrong settings are the account task's to report; retrying would only
            // hammer the server with a bad password.
            Err(e) if e.is_transient() && !changed.is_closed() => {}
            _ => return,
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(300));
    }
}

/// A POP3 account: download into the local Inbox now, then every `POLL_EVERY` or when
/// asked. Its folders live only in the store, so local actions need no replay.
async fn pop3_account_task(
    account: Account,
    store: SharedStore,
    events: mpsc::UnboundedSender<Event>,
    mut commands: mpsc::UnboundedReceiver<AccountCommand>,
    outbox: Arc<Notify>,
) {
    let _ = events.send(Event::FolderListChanged {
        account: account.id.clone(),
    });
    // Starts true: the first good sync is a coming online.
    let mut offline = true;
    let mut backoff = Duration::from_secs(1);
    loop {
        let result = async {
            let password = secrets::password_async(account.incoming_secret_key()).await?;
            let inbox = {
                let id = account.id.clone();
                with_store(&store, move |s| s.folder_by_role(&id, FolderRole::Inbox)).await?
            };
            let (acc, folder) = (account.id.clone(), inbox.map_or(0, |f| f.id));
            let report = sync::pop3::sync_pop3(&store, &account, &password, |done, total| {
                let _ = events.send(Event::SyncProgress {
                    account: acc.clone(),
                    folder,
                    progress: Progress {
                        fetched: u32::try_from(done).unwrap_or(u32::MAX),
                        total: u32::try_from(total).unwrap_or(u32::MAX),
                    },
                });
            })
            .await?;
            Ok::<_, EngineError>((report, folder))
        }
        .await;
        let wait = match result {
            Ok((report, folder)) => {
                backoff = Duration::from_secs(1);
                let _ = events.send(Event::Online {
                    account: account.id.clone(),
                });
                if std::mem::replace(&mut offline, false) {
                    send_queued_now(&store, &account.id, &outbox).await;
                }
                if report.downloaded > 0 {
                    let _ = events.send(Event::FolderChanged {
                        account: account.id.clone(),
                        folder,
                    });
                    let _ = events.send(Event::NewMail {
                        account: account.id.clone(),
                        folder,
                        count: report.downloaded as u32,
                    });
                }
                Some(POLL_EVERY)
            }
            Err(error) => {
                offline = true;
                let retry =
                    matches!(&error, EngineError::Sync(SyncError::Pop3(e)) if e.is_transient());
                let _ = events.send(Event::Offline {
                    account: account.id.clone(),
                    error,
                });
                let wait = backoff;
                backoff = (backoff * 2).min(Duration::from_secs(300));
                // Wrong settings or password: wait for the user to ask again.
                retry.then_some(wait)
            }
        };
        let deadline = wait.map(|w| tokio::time::Instant::now() + w);
        loop {
            let next = match deadline {
                Some(at) => tokio::select! {
                    c = commands.recv() => c,
                    _ = tokio::time::sleep_until(at) => Some(AccountCommand::Sync),
                },
                None => commands.recv().await,
            };
            match next {
                None | Some(AccountCommand::Shutdown) => return,
                // Bodies come with the download: nothing to fetch on demand.
                Some(AccountCommand::FetchBody(id)) => {
                    let _ = events.send(Event::BodyReady(id));
                }
                Some(AccountCommand::Sync) => break,
            }
        }
    }
}

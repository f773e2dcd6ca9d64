//! The facade the GUI talks to: commands in, events out.
//!
//! [`Engine::open`] loads the profile's accounts and starts one task per account on the
//! tokio runtime. The caller never blocks on the network: commands are queued, local
//! changes are applied to the store at once, and the account task replays them on the
//! server when it can.

use crate::account::{Account, Config, Incoming};
use crate::imap::{self, ImapError, Session};
use crate::profile::Profile;
use crate::secrets::{self, SecretsError};
use crate::store::{Flags, FolderId, FolderRole, MessageId, MessageRow, Store, StoreError};
use crate::sync::{self, Progress, SharedStore, SyncError, with_store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

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
    #[error("this account type is not supported yet")]
    Unsupported,
    #[error("no such message")]
    NoSuchMessage,
}

/// The handle the GUI holds.
pub struct Engine {
    commands: mpsc::UnboundedSender<Command>,
    store: SharedStore,
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
        let config = Config::load(&profile.config_path())?;
        let store: SharedStore = Arc::new(Mutex::new(Store::open(&profile.store_path())?));
        let (events, events_rx) = mpsc::unbounded_channel();
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let mut accounts = HashMap::new();
        for account in config.accounts {
            let (tx, rx) = mpsc::unbounded_channel();
            let id = account.id.clone();
            tokio::spawn(account_task(account, store.clone(), events.clone(), rx));
            accounts.insert(id, tx);
        }
        tokio::spawn(dispatch(commands_rx, accounts, store.clone(), events));
        Ok((Engine { commands, store }, events_rx))
    }

    /// Queues a command; never blocks.
    pub fn send(&self, command: Command) {
        let _ = self.commands.send(command);
    }

    /// The store, for the GUI's reads (pages, counts, threads, bodies).
    pub fn store(&self) -> SharedStore {
        self.store.clone()
    }
}

async fn dispatch(
    mut commands: mpsc::UnboundedReceiver<Command>,
    accounts: HashMap<String, mpsc::UnboundedSender<AccountCommand>>,
    store: SharedStore,
    events: mpsc::UnboundedSender<Event>,
) {
    while let Some(command) = commands.recv().await {
        let result = match command {
            Command::Shutdown => {
                for tx in accounts.values() {
                    let _ = tx.send(AccountCommand::Shutdown);
                }
                return;
            }
            Command::SyncAll => {
                for tx in accounts.values() {
                    let _ = tx.send(AccountCommand::Sync);
                }
                Ok(())
            }
            Command::FetchBody(id) => {
                route(
                    &store,
                    &accounts,
                    id,
                    AccountCommand::FetchBody(id),
                    &events,
                )
                .await
            }
            Command::SetFlags { ids, add, remove } => {
                local(&store, &accounts, ids, move |s, ids| {
                    s.local_set_flags(ids, add, remove)
                })
                .await
            }
            Command::Move { ids, to } => {
                local(&store, &accounts, ids, move |s, ids| s.local_move(ids, to)).await
            }
            Command::Copy { ids, to } => {
                local(&store, &accounts, ids, move |s, ids| s.local_copy(ids, to)).await
            }
            Command::Delete(ids) => {
                local(&store, &accounts, ids, |s, ids| s.local_delete(ids)).await
            }
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
) {
    let Incoming::Imap(server) = account.incoming.clone() else {
        let _ = events.send(Event::Offline {
            account: account.id.clone(),
            error: EngineError::Unsupported,
        });
        return;
    };
    let mut backoff = Duration::from_secs(1);
    loop {
        let result = async {
            let password = secrets::password_async(account.incoming_secret_key()).await?;
            let mut session = imap::connect(&server, &password).await?;
            backoff = Duration::from_secs(1);
            let _ = events.send(Event::Online {
                account: account.id.clone(),
            });
            let (idle_tx, mut idle_rx) = mpsc::unbounded_channel();
            let idle = tokio::spawn(idle_inbox(server.clone(), password, idle_tx));
            let outcome = async {
                loop {
                    full_sync(&mut session, &store, &account, &events).await?;
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
            idle.abort();
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
    let mut reconnecting = false;
    loop {
        let result: Result<(), ImapError> = async {
            let mut session = imap::connect(&server, &password).await?;
            if !session.has("IDLE") {
                // No push on this server: the account task's polling does the work.
                return Ok(());
            }
            session.select("INBOX", None).await?;
            backoff = Duration::from_secs(1);
            // Changes may have happened while we were away, and the account's own
            // connection has likely died too: a sync finds out either way.
            if std::mem::replace(&mut reconnecting, true) && changed.send(()).is_err() {
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

//! The only bridge between iced and the mail engine: a subscription that opens the
//! engine for a profile on iced's tokio runtime, hands the app a [`Handle`] first and
//! then every engine [`CoreEvent`] as it comes.

use iced::Subscription;
use iced::futures::{SinkExt, Stream};
use iced::stream;
use std::path::PathBuf;
use std::sync::{Arc, MutexGuard, TryLockError};
use std::time::Duration;
use tern_core::engine::{Command, Engine, EngineError};
use tern_core::profile::Profile;
use tern_core::store::{Store, StoreError};

pub use tern_core::engine::Event as CoreEvent;

/// What the subscription reports.
#[derive(Clone, Debug)]
pub enum Event {
    /// The engine is open: the app can read the store and send commands.
    Connected(Handle),
    /// The engine could not open; the text says why.
    Failed(String),
    Core(CoreEvent),
}

/// The app's handle on a running engine; cheap to clone.
#[derive(Clone)]
pub struct Handle(Arc<Engine>);

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("engine::Handle")
    }
}

impl Handle {
    /// Wraps an engine the caller opened (tests, benchmarks).
    pub fn new(engine: Engine) -> Handle {
        Handle(Arc::new(engine))
    }

    /// Queues a command; never blocks.
    pub fn send(&self, command: Command) {
        self.0.send(command);
    }

    /// The engine's store, for async reads through `tern_core` (drafts).
    pub fn store(&self) -> tern_core::sync::SharedStore {
        self.0.store()
    }

    /// Stops the engine: what it was given is stored, and the profile is freed for the
    /// next one.
    pub async fn stop(&self) {
        self.0.stop().await;
    }

    /// Runs a read on the store now. Waits for the engine's current write, which is one
    /// short transaction; reads the GUI does here are a page or a few rows.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let store = self.0.store();
        let guard = lock(&store);
        f(&guard)
    }

    /// Runs a read only if the store is free this instant; `None` when the engine is
    /// writing (the caller reads later instead of stalling a frame).
    pub fn try_read<T>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError>,
    ) -> Option<Result<T, StoreError>> {
        let store = self.0.store();
        let guard = match store.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        Some(f(&guard))
    }

    /// Runs a read on a blocking thread, for reads that may take a while.
    pub async fn read_later<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ReadError> {
        let this = self.clone();
        match tokio::task::spawn_blocking(move || this.read(f)).await {
            Ok(result) => result.map_err(ReadError::Store),
            Err(e) => Err(ReadError::Stopped(e.to_string())),
        }
    }
}

/// Why a read on a blocking thread failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the read stopped: {0}")]
    Stopped(String),
}

/// A poisoned lock only means another thread panicked mid-read; the data is SQLite's and
/// still consistent, so keep going.
fn lock(store: &std::sync::Mutex<Store>) -> MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(|p| p.into_inner())
}

/// How long opening waits for a profile held by an engine that is still stopping.
const IN_USE_WAIT: Duration = Duration::from_secs(20);

/// The engine of the profile at `dir`, as a stream of [`Event`]s; one per profile and
/// `generation` (a new generation stops following the old engine and opens a new one).
pub fn connect(dir: Option<PathBuf>, generation: u64) -> Subscription<Event> {
    Subscription::run_with((dir, generation), |(dir, generation)| {
        run(dir.clone(), *generation > 0)
    })
}

/// Opens the engine. After a restart, a profile still held (by this app's previous
/// engine finishing its stop) is tried again for a while; at start, a profile held by
/// another Tern is said at once.
async fn open(dir: Option<PathBuf>, restarted: bool) -> Result<(Engine, EngineEvents), String> {
    let profile = Profile::open(dir).map_err(|e| e.to_string())?;
    let wait = if restarted {
        IN_USE_WAIT
    } else {
        Duration::ZERO
    };
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match Engine::open(&profile) {
            Err(EngineError::ProfileInUse) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => return other.map_err(|e| e.to_string()),
        }
    }
}

type EngineEvents = tokio::sync::mpsc::UnboundedReceiver<CoreEvent>;

fn run(dir: Option<PathBuf>, restarted: bool) -> impl Stream<Item = Event> {
    stream::channel(100, async move |mut output| {
        let opened = open(dir, restarted).await;
        let (engine, mut events) = match opened {
            Ok(pair) => pair,
            Err(reason) => {
                let _ = output.send(Event::Failed(reason)).await;
                return;
            }
        };
        let handle = Handle::new(engine);
        if output.send(Event::Connected(handle.clone())).await.is_err() {
            return;
        }
        while let Some(event) = events.recv().await {
            if output.send(Event::Core(event)).await.is_err() {
                break;
            }
        }
        handle.send(Command::Shutdown);
    })
}

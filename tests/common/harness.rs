//! The app on a real engine inside iced_test's Simulator. The Simulator runs no
//! subscriptions or tasks, so the harness hands engine events to the app itself.

use super::NOW;
use iced::keyboard::Key;
use iced::{Settings, Size};
use iced_test::Simulator;
use std::time::{Duration, Instant};
use tern::app::{self, State};
use tern::engine::{self, Handle};
use tern::screen::mailbox;
use tern::screen::mailbox::format::Dates;
use tern::settings::Settings as GuiSettings;
use tern_core::engine::{Engine, Event as CoreEvent};
use tern_core::profile::Profile;
use tern_core::store::Store;
use tokio::sync::mpsc::UnboundedReceiver;

pub const SIZE: Size = Size::new(1280.0, 800.0);

/// The app on an engine over a test profile.
pub struct Harness {
    pub state: State,
    events: UnboundedReceiver<CoreEvent>,
    pub profile: Profile,
    _dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
}

impl Harness {
    pub fn new(inbox: usize, second_account: bool) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let profile = super::profile(&dir.path().join("profile"), inbox, second_account);
        Harness::open(profile, dir)
    }

    /// The app on `profile`; `dir` is kept alive as long as the harness.
    pub fn open(profile: Profile, dir: tempfile::TempDir) -> Harness {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (engine, events) = {
            let _guard = runtime.enter();
            Engine::open(&profile).unwrap()
        };
        let settings = GuiSettings::load(&GuiSettings::path(profile.dir()));
        let state = State::with_engine(
            &profile,
            Handle::new(engine),
            settings,
            Dates::fixed(NOW, 0),
        );
        Harness {
            state,
            events,
            profile,
            _dir: dir,
            runtime,
        }
    }

    pub fn mailbox(&self) -> &mailbox::Mailbox {
        self.state.mailbox().expect("the mailbox is shown")
    }

    pub fn ui(&self) -> Simulator<'_, app::Message> {
        Simulator::with_size(Settings::default(), SIZE, self.state.view())
    }

    /// Lets the user do `f` in the window, then feeds what it produced to the app.
    pub fn user(&mut self, f: impl FnOnce(&mut Simulator<'_, app::Message>)) {
        let messages: Vec<app::Message> = {
            let mut ui = self.ui();
            f(&mut ui);
            ui.into_messages().collect()
        };
        for m in messages {
            self.send(m);
        }
    }

    pub fn send(&mut self, message: app::Message) {
        let _guard = self.runtime.enter();
        // Tasks (scrolling, timers) are not run here; the state changes are what count.
        let _task = self.state.update(message);
    }

    /// Runs a task the app returned as its runtime would (window operations are skipped)
    /// and hands the app the messages it produced; their own tasks are not run.
    pub fn run(&mut self, task: iced::Task<app::Message>) {
        for message in super::screens::run(&self.runtime, task) {
            self.send(message);
        }
    }

    /// Sends `message`; the task it returns is the caller's to run.
    pub fn update(&mut self, message: app::Message) -> iced::Task<app::Message> {
        let _guard = self.runtime.enter();
        self.state.update(message)
    }

    /// Sends `message` and runs the task it returns.
    pub fn send_and_run(&mut self, message: app::Message) {
        let task = {
            let _guard = self.runtime.enter();
            self.state.update(message)
        };
        self.run(task);
    }

    /// The app as it starts after its process died: the same profile and files, a new
    /// engine, and nothing closed or saved on the way down.
    pub fn after_crash(self) -> Harness {
        let Harness {
            state,
            events,
            profile,
            _dir,
            runtime,
        } = self;
        drop((state, events));
        runtime.shutdown_timeout(Duration::from_secs(1));
        Harness::open(profile, _dir)
    }

    /// What the engine subscription does once the old engine has stopped: opens a new
    /// engine on the profile and hands it to the app.
    pub fn connect_new_engine(&mut self) {
        let (engine, events) = {
            let _guard = self.runtime.enter();
            Engine::open(&self.profile).unwrap()
        };
        self.events = events;
        self.send_and_run(app::Message::Engine(engine::Event::Connected(Handle::new(
            engine,
        ))));
    }

    pub fn key(&mut self, key: impl Into<Key>) {
        let key = key.into();
        self.user(|ui| {
            let _ = ui.tap_key(key);
        });
    }

    /// Hands engine events to the app until `done` holds, or fails after a while.
    pub fn pump_until(&mut self, what: &str, mut done: impl FnMut(&State) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut last_tick = Instant::now();
        while !done(&self.state) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            match self.events.try_recv() {
                Ok(event) => self.send(app::Message::Engine(engine::Event::Core(event))),
                Err(_) => {
                    // What the app's timers would do: reread what is shown.
                    std::thread::sleep(Duration::from_millis(10));
                    if last_tick.elapsed() >= Duration::from_millis(100) {
                        last_tick = Instant::now();
                        self.send(app::Message::Mailbox(mailbox::Message::Refresh));
                    }
                }
            }
        }
    }

    /// Hands the engine events that came so far to the app and runs the tasks they start
    /// (one level: loading a draft, say), as the app's runtime would.
    pub fn pump_events_running_tasks(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            self.send_and_run(app::Message::Engine(engine::Event::Core(event)));
        }
        std::thread::sleep(Duration::from_millis(20));
    }

    /// The store as the engine wrote it, opened separately (as another reader would).
    pub fn store(&self) -> Store {
        Store::open(&self.profile.store_path()).unwrap()
    }

    /// Compares the window, drawn in `choice`'s theme, with the committed snapshot.
    pub fn snapshot(&mut self, name: &str, choice: tern::theme::Choice) {
        self.state.settings.theme = choice;
        let theme = self.state.theme();
        let mut ui = self.ui();
        let snapshot = ui.snapshot(&theme).unwrap();
        super::screens::check_snapshot(&snapshot, name);
    }
}

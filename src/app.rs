//! The top of the app: the profile, the engine connection, the GUI settings, the main
//! window's screen and the composer windows. Screens get their messages here and answer
//! with actions; this is the only place that opens windows or restarts the engine.

mod composers;

use crate::engine::{self, Handle};
use crate::i18n::tr;
use crate::instance;
use crate::notify;
use crate::screen::compose::{self, Compose};
use crate::screen::mailbox::folders::AccountInfo;
use crate::screen::mailbox::format::Dates;
use crate::screen::mailbox::{self, ComposeRequest, Mailbox};
use crate::screen::settings::{self as settings_screen, Settings as SettingsScreen};
use crate::screen::setup::{self, Setup};
use crate::screen::welcome;
use crate::settings::Settings;
use crate::theme;
use iced::theme::Mode;
use iced::widget::container;
use iced::{Element, Size, Subscription, Task, Theme, window};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use tern_core::account::{Account, Config};
use tern_core::profile::Profile;

/// Set to make the app print `tern: list painted` once the first message list has been
/// drawn (the GUI benchmark times start-up with it).
pub const REPORT_FIRST_LIST_ENV: &str = "TERN_REPORT_FIRST_LIST";

/// What the command line asked for.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--profile DIR`; else `TERN_PROFILE` or the OS default.
    pub profile: Option<PathBuf>,
    /// A `mailto:` URL to compose to.
    pub mailto: Option<String>,
}

/// Runs the app until its last window closes.
pub fn run(options: Options) -> iced::Result {
    iced::daemon(
        move || {
            let (mut state, task) = State::boot(options.clone());
            let open = state.open_main_window();
            (state, Task::batch([task, open]))
        },
        State::update,
        State::view_window,
    )
    .title(State::window_title)
    .theme(State::window_theme)
    .subscription(State::subscription)
    .run()
}

/// The main window's settings: roomy, with a minimum that keeps three panes usable.
fn main_window_settings() -> window::Settings {
    window::Settings {
        size: Size::new(1280.0, 800.0),
        min_size: Some(Size::new(820.0, 520.0)),
        ..window::Settings::default()
    }
}

/// The screen in the main window.
pub enum Screen {
    /// The engine is opening.
    Loading,
    /// The engine could not start (the reason), or no account yet and the user left
    /// the setup form.
    Welcome(Option<String>),
    /// Account setup on first run.
    Setup(Box<Setup>),
    Mailbox(Box<Mailbox>),
}

#[derive(Clone, Debug)]
pub enum Message {
    Engine(engine::Event),
    Mailbox(mailbox::Message),
    Setup(setup::Message),
    Settings(settings_screen::Message),
    /// The welcome page's "Set up an account".
    StartSetup,
    /// Start a composer in its own window.
    Compose(ComposeRequest),
    /// A composer window is open: put the cursor where typing starts.
    ComposerOpened(window::Id),
    Composer(window::Id, compose::Message),
    /// Saved drafts that were open in a composer when the app last stopped.
    ReopenDrafts(Vec<(tern_core::store::DraftId, tern_core::compose::Compose)>),
    /// Saved drafts to open, each in its own composer.
    OpenDrafts(Vec<(tern_core::store::DraftId, tern_core::compose::Compose)>),
    WindowClosed(window::Id),
    /// The old engine has stopped: open the new one (the accounts changed) or quit.
    EngineStopped(AfterStop),
    SystemTheme(Mode),
    FirstListPainted,
    /// A later launch on this profile asked for something (see `instance`).
    Instance(instance::Request),
    /// A saved draft the user asked to open could not be read.
    DraftUnreadable(String),
}

/// What to do once the engine has stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterStop {
    Restart,
    Quit,
}

/// See the module docs.
pub struct State {
    profile: Option<PathBuf>,
    profile_dir: String,
    settings_path: Option<PathBuf>,
    pub settings: Settings,
    /// The accounts as config.toml has them (composers need identities and signatures).
    accounts: Vec<Account>,
    pub screen: Screen,
    /// The settings page, shown over the mailbox (which keeps its place meanwhile).
    pub settings_screen: Option<Box<SettingsScreen>>,
    /// The running engine; None while it opens or restarts.
    engine: Option<Handle>,
    /// Bumped to restart the engine: the subscription is keyed by it.
    generation: u64,
    main_window: Option<window::Id>,
    pub composers: BTreeMap<window::Id, Compose>,
    /// Composer messages for the engine, held while it restarts.
    deferred: Vec<(window::Id, compose::Message)>,
    /// Composers asked for while the engine restarts.
    deferred_requests: Vec<ComposeRequest>,
    /// The old engine is stopping for a restart.
    stopping: bool,
    system_dark: bool,
    mailto: Option<String>,
    dates: Dates,
    report_first_list: bool,
}

fn account_infos(accounts: &[Account]) -> Vec<AccountInfo> {
    accounts
        .iter()
        .map(|a| AccountInfo {
            id: a.id.clone(),
            name: if a.display_name.trim().is_empty() {
                a.email.clone()
            } else {
                a.display_name.clone()
            },
            email: a.email.clone(),
        })
        .collect()
}

impl State {
    /// Reads the profile's config and settings; the engine opens in the subscription.
    pub fn boot(options: Options) -> (State, Task<Message>) {
        let mut state = State {
            profile: options.profile.clone(),
            profile_dir: String::new(),
            settings_path: None,
            settings: Settings::default(),
            accounts: Vec::new(),
            screen: Screen::Loading,
            settings_screen: None,
            engine: None,
            generation: 0,
            main_window: None,
            composers: BTreeMap::new(),
            deferred: Vec::new(),
            deferred_requests: Vec::new(),
            stopping: false,
            system_dark: false,
            mailto: options.mailto,
            dates: Dates::local(),
            report_first_list: std::env::var_os(REPORT_FIRST_LIST_ENV).is_some(),
        };
        match Profile::open(options.profile) {
            Ok(profile) => {
                state.profile_dir = profile.dir().display().to_string();
                let path = Settings::path(profile.dir());
                state.settings = Settings::load(&path);
                state.settings_path = Some(path);
                if let Err(e) = state.reload_accounts() {
                    state.screen = Screen::Welcome(Some(e));
                }
            }
            Err(e) => state.screen = Screen::Welcome(Some(e.to_string())),
        }
        (state, iced::system::theme().map(Message::SystemTheme))
    }

    /// A state on an engine the caller opened (tests, benchmarks): the mailbox at once.
    pub fn with_engine(
        profile: &Profile,
        engine: Handle,
        settings: Settings,
        dates: Dates,
    ) -> State {
        let accounts = Config::load(&profile.config_path())
            .map(|c| c.accounts)
            .unwrap_or_default();
        let mailbox = Mailbox::new(
            engine.clone(),
            profile.dir().to_path_buf(),
            account_infos(&accounts),
            &settings,
            dates,
        );
        State {
            profile: Some(profile.dir().to_path_buf()),
            profile_dir: profile.dir().display().to_string(),
            settings_path: Some(Settings::path(profile.dir())),
            settings,
            accounts,
            screen: Screen::Mailbox(Box::new(mailbox)),
            settings_screen: None,
            engine: Some(engine),
            generation: 0,
            main_window: None,
            composers: BTreeMap::new(),
            deferred: Vec::new(),
            deferred_requests: Vec::new(),
            stopping: false,
            system_dark: false,
            mailto: None,
            dates,
            report_first_list: false,
        }
    }

    fn config_path(&self) -> PathBuf {
        setup::config_path(std::path::Path::new(&self.profile_dir))
    }

    /// Rereads config.toml.
    fn reload_accounts(&mut self) -> Result<(), String> {
        let config = Config::load(&self.config_path()).map_err(|e| e.to_string())?;
        self.accounts = config.accounts;
        Ok(())
    }

    /// Opens the main window (at start, or again from a composer when it was closed).
    fn open_main_window(&mut self) -> Task<Message> {
        let (id, open) = window::open(main_window_settings());
        self.main_window = Some(id);
        open.discard()
    }

    /// The mailbox, when it is the screen.
    pub fn mailbox(&self) -> Option<&Mailbox> {
        match &self.screen {
            Screen::Mailbox(m) => Some(m),
            _ => None,
        }
    }

    pub fn title(&self) -> String {
        tr("app-title")
    }

    fn window_title(&self, window: window::Id) -> String {
        match self.composers.get(&window) {
            Some(c) => c.title(),
            None => self.title(),
        }
    }

    pub fn theme(&self) -> Theme {
        self.settings.theme.theme(self.system_dark)
    }

    fn window_theme(&self, _window: window::Id) -> Theme {
        self.theme()
    }

    pub fn subscription(&self) -> Subscription<Message> {
        let later_launches = if self.profile_dir.is_empty() {
            Subscription::none()
        } else {
            instance::requests(PathBuf::from(&self.profile_dir)).map(Message::Instance)
        };
        Subscription::batch([
            // Keyed by the generation: a restart drops the old stream and opens anew.
            engine::connect(self.profile.clone(), self.generation).map(Message::Engine),
            iced::system::theme_changes().map(Message::SystemTheme),
            window::close_events().map(Message::WindowClosed),
            compose::window_events().map(|(id, m)| Message::Composer(id, m)),
            later_launches,
        ])
    }

    fn save_settings(&self) {
        if let Some(path) = &self.settings_path
            && let Err(e) = self.settings.save(path)
        {
            tracing::warn!("{e}");
        }
    }

    pub fn update(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::Engine(engine::Event::Connected(handle)) => self.connected(handle),
            Message::Engine(engine::Event::Failed(reason)) => {
                self.screen = Screen::Welcome(Some(reason));
                Task::none()
            }
            Message::Engine(engine::Event::Core(event)) => {
                for composer in self.composers.values_mut() {
                    composer.event(&event, &self.accounts);
                }
                let notice = self.new_mail_notice(&event);
                let reopened = match &event {
                    engine::CoreEvent::DraftReopened { draft, .. } => self.edit_reopened(*draft),
                    _ => Task::none(),
                };
                let shown = match &mut self.screen {
                    Screen::Mailbox(m) => m.event(event).map(Message::Mailbox),
                    _ => Task::none(),
                };
                let notice = match notice {
                    Some(notice) => Task::future(notify::show(notice)).discard(),
                    None => Task::none(),
                };
                Task::batch([shown, notice, reopened])
            }
            Message::Mailbox(mailbox::Message::CycleTheme) => {
                self.settings.theme = self.settings.theme.next();
                self.save_settings();
                Task::none()
            }
            Message::Mailbox(message) => self.mailbox_update(message),
            Message::Setup(message) => self.setup_update(message),
            Message::Settings(message) => self.settings_update(message),
            Message::StartSetup => {
                self.screen = Screen::Setup(Box::new(Setup::new(self.config_path(), true)));
                Task::none()
            }
            Message::Compose(request) => self.open_composer(request),
            Message::ComposerOpened(id) => match self.composers.get(&id) {
                Some(c) => c.focus().map(move |m| Message::Composer(id, m)),
                None => Task::none(),
            },
            Message::Composer(id, message) => self.composer_update(id, message),
            Message::ReopenDrafts(drafts) => self.reopen_drafts(drafts),
            Message::OpenDrafts(drafts) => self.open_drafts(drafts),
            Message::WindowClosed(id) => self.window_closed(id),
            Message::EngineStopped(AfterStop::Quit) => iced::exit(),
            Message::EngineStopped(AfterStop::Restart) => {
                self.stopping = false;
                if self.main_window.is_none() && self.composers.is_empty() {
                    return iced::exit();
                }
                // A new key: the subscription opens a new engine on the new config.
                self.generation += 1;
                Task::none()
            }
            Message::SystemTheme(mode) => {
                self.system_dark = mode == Mode::Dark;
                Task::none()
            }
            Message::Instance(request) => self.later_launch(request),
            Message::DraftUnreadable(reason) => {
                if let Screen::Mailbox(m) = &mut self.screen {
                    m.error(reason);
                }
                Task::none()
            }
            Message::FirstListPainted => {
                let mut out = std::io::stdout();
                let _ = writeln!(out, "tern: list painted");
                let _ = out.flush();
                Task::none()
            }
        }
    }

    /// Tern was started again on this profile: bring the main window forward (or open it
    /// again), and compose if it was started for a `mailto:` link.
    fn later_launch(&mut self, request: instance::Request) -> Task<Message> {
        match request {
            instance::Request::MailTo(url) => {
                if self.engine.is_none() && !self.stopping {
                    // Still opening: composed once the engine is there, as at start.
                    self.mailto = Some(url);
                    return Task::none();
                }
                self.open_composer(ComposeRequest::MailTo(url))
            }
            instance::Request::Show => match self.main_window {
                Some(id) => Task::batch([window::minimize(id, false), window::gain_focus(id)]),
                None => self.open_main_window(),
            },
        }
    }

    fn mailbox_update(&mut self, message: mailbox::Message) -> Task<Message> {
        let Screen::Mailbox(m) = &mut self.screen else {
            return Task::none();
        };
        let before = self.settings.clone();
        let action = m.update(message, &mut self.settings);
        if self.settings != before {
            self.save_settings();
        }
        match action {
            mailbox::Action::None => Task::none(),
            mailbox::Action::Run(task) => task.map(Message::Mailbox),
            mailbox::Action::Compose(request) => Task::done(Message::Compose(request)),
            mailbox::Action::OpenSettings => {
                self.settings_screen = Some(Box::new(SettingsScreen::new(
                    self.config_path(),
                    self.settings.theme,
                    self.settings.remote_content,
                    self.settings.remote_images.iter().cloned(),
                )));
                Task::none()
            }
        }
    }

    fn setup_update(&mut self, message: setup::Message) -> Task<Message> {
        let Screen::Setup(form) = &mut self.screen else {
            return Task::none();
        };
        match form.update(message) {
            setup::Action::None => Task::none(),
            setup::Action::Run(task) => task.map(Message::Setup),
            setup::Action::Cancel => {
                self.screen = Screen::Welcome(None);
                Task::none()
            }
            setup::Action::AccountsChanged { .. } => self.restart_engine(),
        }
    }

    fn settings_update(&mut self, message: settings_screen::Message) -> Task<Message> {
        let Some(page) = &mut self.settings_screen else {
            return Task::none();
        };
        match page.update(message) {
            settings_screen::Action::None => Task::none(),
            settings_screen::Action::Run(task) => task.map(Message::Settings),
            settings_screen::Action::AccountsChanged => self.restart_engine(),
            settings_screen::Action::Theme(choice) => {
                self.settings.theme = choice;
                self.save_settings();
                Task::none()
            }
            settings_screen::Action::RemoteContent(policy) => {
                self.settings.remote_content = policy;
                self.save_settings();
                Task::none()
            }
            settings_screen::Action::ForgetSender(sender) => {
                self.settings.remote_images.remove(&sender);
                self.save_settings();
                Task::none()
            }
            settings_screen::Action::Close => {
                self.settings_screen = None;
                Task::none()
            }
        }
    }

    /// config.toml changed: stop the engine (it finishes what it was given and frees the
    /// profile), then open a new one on the new accounts. The settings page stays open.
    fn restart_engine(&mut self) -> Task<Message> {
        if let Err(e) = self.reload_accounts() {
            self.screen = Screen::Welcome(Some(e));
            return Task::none();
        }
        if let Some(page) = &mut self.settings_screen {
            page.reload();
        }
        for composer in self.composers.values_mut() {
            composer.accounts_changed(&self.accounts);
        }
        self.screen = Screen::Loading;
        self.stopping = true;
        match self.engine.take() {
            Some(handle) => Task::perform(async move { handle.stop().await }, |()| {
                Message::EngineStopped(AfterStop::Restart)
            }),
            None => Task::done(Message::EngineStopped(AfterStop::Restart)),
        }
    }

    fn connected(&mut self, handle: Handle) -> Task<Message> {
        self.engine = Some(handle.clone());
        let held = self.engine_back(&handle);
        if matches!(self.screen, Screen::Welcome(Some(_))) {
            return held;
        }
        if self.accounts.is_empty() {
            if !matches!(self.screen, Screen::Setup(_)) {
                self.screen = Screen::Setup(Box::new(Setup::new(self.config_path(), true)));
            }
            return held;
        }
        let dir = PathBuf::from(&self.profile_dir);
        let mailbox = Mailbox::new(
            handle.clone(),
            dir,
            account_infos(&self.accounts),
            &self.settings,
            self.dates,
        );
        let has_rows = mailbox.list.total() > 0;
        self.screen = Screen::Mailbox(Box::new(mailbox));
        let mut tasks = vec![held, self.drafts_to_reopen(&handle)];
        if let Some(url) = self.mailto.take() {
            tasks.push(Task::done(Message::Compose(ComposeRequest::MailTo(url))));
        }
        if self.report_first_list && has_rows {
            self.report_first_list = false;
            // A screenshot is taken from a full render of the current frame: once it
            // is back, the list has been drawn.
            tasks.push(
                window::latest()
                    .and_then(window::screenshot)
                    .map(|_| Message::FirstListPainted),
            );
        }
        Task::batch(tasks)
    }

    /// The desktop notice for new mail in an Inbox, if `event` is that.
    fn new_mail_notice(&self, event: &engine::CoreEvent) -> Option<notify::Notice> {
        let engine::CoreEvent::NewMail {
            account,
            folder,
            count,
        } = event
        else {
            return None;
        };
        let name = account_infos(&self.accounts)
            .into_iter()
            .find(|a| a.id == *account)
            .map_or_else(|| account.clone(), |a| a.name);
        let engine = self.engine.as_ref()?;
        match engine.read(|s| notify::new_mail(s, &name, *folder, *count)) {
            Ok(notice) => notice,
            Err(e) => {
                tracing::warn!("new-mail notice: {e}");
                None
            }
        }
    }

    pub fn view(&self) -> Element<'_, Message> {
        if let Some(page) = &self.settings_screen {
            return page.view().map(Message::Settings);
        }
        match &self.screen {
            Screen::Loading => container("").style(theme::pane).into(),
            Screen::Welcome(error) => {
                welcome::view(&self.profile_dir, error.as_deref(), Message::StartSetup)
            }
            Screen::Setup(form) => form.view().map(Message::Setup),
            Screen::Mailbox(m) => m.view(&self.settings, &self.theme()).map(Message::Mailbox),
        }
    }

    fn view_window(&self, window: window::Id) -> Element<'_, Message> {
        match self.composers.get(&window) {
            Some(c) => c.view().map(move |m| Message::Composer(window, m)),
            None => self.view(),
        }
    }
}

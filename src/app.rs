//! The top of the app: the profile, the engine connection, the GUI settings and the
//! screen being shown. Screens get their messages here and answer with actions.

use crate::engine::{self, Handle};
use crate::i18n::tr;
use crate::screen::mailbox::folders::AccountInfo;
use crate::screen::mailbox::format::Dates;
use crate::screen::mailbox::{self, ComposeRequest, Mailbox};
use crate::screen::welcome;
use crate::settings::Settings;
use crate::theme;
use iced::theme::Mode;
use iced::widget::container;
use iced::{Element, Size, Subscription, Task, Theme, window};
use std::io::Write;
use std::path::PathBuf;
use tern_core::account::Config;
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

/// Runs the app until its window closes.
pub fn run(options: Options) -> iced::Result {
    iced::application(
        move || State::boot(options.clone()),
        State::update,
        State::view,
    )
    .title(State::title)
    .theme(State::theme)
    .subscription(State::subscription)
    .window(window::Settings {
        size: Size::new(1280.0, 800.0),
        min_size: Some(Size::new(820.0, 520.0)),
        ..window::Settings::default()
    })
    .run()
}

/// The screen in the window.
pub enum Screen {
    /// The engine is opening.
    Loading,
    /// No account yet, or the engine could not start (the reason).
    Welcome(Option<String>),
    Mailbox(Box<Mailbox>),
}

#[derive(Clone, Debug)]
pub enum Message {
    Engine(engine::Event),
    Mailbox(mailbox::Message),
    /// Start the composer. The composer screen (its own window) is another part of the
    /// app; this is the hook it plugs into.
    Compose(ComposeRequest),
    SystemTheme(Mode),
    FirstListPainted,
}

/// See the module docs.
pub struct State {
    profile: Option<PathBuf>,
    profile_dir: String,
    settings_path: Option<PathBuf>,
    pub settings: Settings,
    accounts: Vec<AccountInfo>,
    pub screen: Screen,
    system_dark: bool,
    mailto: Option<String>,
    dates: Dates,
    report_first_list: bool,
}

fn account_infos(config: &Config) -> Vec<AccountInfo> {
    config
        .accounts
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
                match Config::load(&profile.config_path()) {
                    Ok(config) => state.accounts = account_infos(&config),
                    Err(e) => state.screen = Screen::Welcome(Some(e.to_string())),
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
            .map(|c| account_infos(&c))
            .unwrap_or_default();
        let mailbox = Mailbox::new(
            engine,
            profile.dir().to_path_buf(),
            accounts.clone(),
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
            system_dark: false,
            mailto: None,
            dates,
            report_first_list: false,
        }
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

    pub fn theme(&self) -> Theme {
        self.settings.theme.theme(self.system_dark)
    }

    pub fn subscription(&self) -> Subscription<Message> {
        Subscription::batch([
            engine::connect(self.profile.clone()).map(Message::Engine),
            iced::system::theme_changes().map(Message::SystemTheme),
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
            Message::Engine(engine::Event::Core(event)) => match &mut self.screen {
                Screen::Mailbox(m) => m.event(event).map(Message::Mailbox),
                _ => Task::none(),
            },
            Message::Mailbox(mailbox::Message::CycleTheme) => {
                self.settings.theme = self.settings.theme.next();
                self.save_settings();
                Task::none()
            }
            Message::Mailbox(message) => {
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
                }
            }
            // The composer screen takes this when it exists (another part of issue 4).
            Message::Compose(_request) => Task::none(),
            Message::SystemTheme(mode) => {
                self.system_dark = mode == Mode::Dark;
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

    fn connected(&mut self, handle: Handle) -> Task<Message> {
        if matches!(self.screen, Screen::Welcome(Some(_))) {
            return Task::none();
        }
        if self.accounts.is_empty() {
            self.screen = Screen::Welcome(None);
            return Task::none();
        }
        let dir = PathBuf::from(&self.profile_dir);
        let mailbox = Mailbox::new(
            handle,
            dir,
            self.accounts.clone(),
            &self.settings,
            self.dates,
        );
        let has_rows = mailbox.list.total() > 0;
        self.screen = Screen::Mailbox(Box::new(mailbox));
        let mut tasks = Vec::new();
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

    pub fn view(&self) -> Element<'_, Message> {
        match &self.screen {
            Screen::Loading => container("").style(theme::pane).into(),
            Screen::Welcome(error) => welcome::view(&self.profile_dir, error.as_deref()),
            Screen::Mailbox(m) => m.view(&self.settings, &self.theme()).map(Message::Mailbox),
        }
    }
}

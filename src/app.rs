//! The top of the GUI: one window showing the local store (folders and the newest
//! messages of the selected folder) while the engine syncs in the background.

use crate::i18n::{tr, tr_args};
use iced::widget::{button, column, container, row, rule, scrollable, text};
use iced::{Element, Length, Subscription, Task};
use std::path::PathBuf;
use std::time::Duration;
use tern_core::account::Config;
use tern_core::engine::{Engine, Event};
use tern_core::profile::Profile;
use tern_core::store::{Folder, FolderId, FolderRole, MessageRow, SortOrder};
use tokio::sync::mpsc;

pub fn run(profile: Option<PathBuf>) -> iced::Result {
    // The engine's tasks run on a runtime of their own, alive as long as the window.
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return Ok(());
        }
    };
    let _guard = runtime.enter();
    iced::application(
        move || State::boot(profile.clone()),
        State::update,
        State::view,
    )
    .title(|_: &State| tr("app-title"))
    .subscription(State::subscription)
    .window_size((1100.0, 700.0))
    .run()
}

struct State {
    profile_dir: String,
    /// Account ids from the profile's config, in the config's order.
    accounts: Vec<String>,
    engine: Option<(Engine, mpsc::UnboundedReceiver<Event>)>,
    error: Option<String>,
    folders: Vec<Folder>,
    selected: Option<FolderId>,
    messages: Vec<MessageRow>,
    status: Vec<String>,
}

#[derive(Debug, Clone)]
enum Message {
    Tick,
    SelectFolder(FolderId),
}

impl State {
    fn boot(profile: Option<PathBuf>) -> (State, Task<Message>) {
        let mut state = State {
            profile_dir: String::new(),
            accounts: Vec::new(),
            engine: None,
            error: None,
            folders: Vec::new(),
            selected: None,
            messages: Vec::new(),
            status: Vec::new(),
        };
        match Profile::open(profile) {
            Ok(profile) => {
                state.profile_dir = profile.dir().display().to_string();
                if let Ok(config) = Config::load(&profile.config_path()) {
                    state.accounts = config.accounts.into_iter().map(|a| a.id).collect();
                }
                match Engine::open(&profile) {
                    Ok(engine) => state.engine = Some(engine),
                    Err(e) => state.error = Some(e.to_string()),
                }
            }
            Err(e) => state.error = Some(e.to_string()),
        }
        state.refresh();
        (state, Task::none())
    }

    fn update(&mut self, message: Message) {
        match message {
            Message::Tick => {
                self.drain_events();
                self.refresh();
            }
            Message::SelectFolder(id) => {
                self.selected = Some(id);
                self.refresh();
            }
        }
    }

    fn drain_events(&mut self) {
        let Some((_, events)) = &mut self.engine else {
            return;
        };
        while let Ok(event) = events.try_recv() {
            let line = match event {
                Event::Online { account } => {
                    tr_args("status-online", &[("account", account.into())])
                }
                Event::Offline { account, error } => tr_args(
                    "status-offline",
                    &[
                        ("account", account.into()),
                        ("reason", error.to_string().into()),
                    ],
                ),
                Event::SyncProgress {
                    account, progress, ..
                } => tr_args(
                    "status-syncing",
                    &[
                        ("account", account.into()),
                        ("fetched", progress.fetched.into()),
                        ("total", progress.total.into()),
                    ],
                ),
                _ => continue,
            };
            self.status.push(line);
            if self.status.len() > 3 {
                self.status.remove(0);
            }
        }
    }

    /// Reads what the view shows from the store: cheap (one page), so done on each tick.
    fn refresh(&mut self) {
        let Some((engine, _)) = &self.engine else {
            return;
        };
        let store = engine.store();
        let Ok(store) = store.lock() else { return };
        self.folders = self
            .accounts
            .iter()
            .flat_map(|a| store.folders(a).unwrap_or_default())
            .collect();
        // Inbox first, then the other special folders, then the user's own by name.
        self.folders.sort_by_key(|f| {
            let rank = match f.role {
                Some(FolderRole::Inbox) => 0,
                Some(FolderRole::Drafts) => 1,
                Some(FolderRole::Sent) => 2,
                Some(FolderRole::Archive) => 3,
                Some(FolderRole::Junk) => 4,
                Some(FolderRole::Trash) => 5,
                None => 6,
            };
            (f.account.clone(), rank, f.name.to_lowercase())
        });
        if self.selected.is_none() {
            self.selected = self
                .folders
                .iter()
                .find(|f| f.role == Some(FolderRole::Inbox))
                .map(|f| f.id);
        }
        if let Some(id) = self.selected {
            self.messages = store
                .page(id, 0, 100, SortOrder::DateDesc)
                .unwrap_or_default();
        }
    }

    fn subscription(&self) -> Subscription<Message> {
        iced::time::every(Duration::from_millis(500)).map(|_| Message::Tick)
    }

    fn view(&self) -> Element<'_, Message> {
        if let Some(error) = &self.error {
            return container(text(tr_args(
                "error-engine",
                &[("reason", error.clone().into())],
            )))
            .padding(24)
            .into();
        }
        if self.folders.is_empty() {
            return container(
                column![
                    text(tr("welcome-title")).size(28),
                    text(tr("welcome-no-accounts")),
                    text(tr_args(
                        "welcome-profile",
                        &[("path", self.profile_dir.clone().into())]
                    ))
                    .size(13),
                ]
                .spacing(12),
            )
            .padding(32)
            .into();
        }
        let folders = self.folders.iter().fold(
            column![text(tr("folders-heading")).size(16)].spacing(4),
            |col, f| {
                let label = if f.unread > 0 {
                    tr_args(
                        "folder-unread",
                        &[("name", f.name.clone().into()), ("unread", f.unread.into())],
                    )
                } else {
                    f.name.clone()
                };
                col.push(
                    button(text(label).size(14))
                        .width(Length::Fill)
                        .style(if Some(f.id) == self.selected {
                            button::primary
                        } else {
                            button::text
                        })
                        .on_press(Message::SelectFolder(f.id)),
                )
            },
        );
        let messages: Element<'_, Message> = if self.messages.is_empty() {
            text(tr("messages-empty")).into()
        } else {
            scrollable(self.messages.iter().fold(column![].spacing(6), |col, m| {
                let from = m
                    .from
                    .first()
                    .map(|a| a.name.clone().unwrap_or_else(|| a.email.clone()))
                    .unwrap_or_default();
                let subject = if m.subject.is_empty() {
                    tr("no-subject")
                } else {
                    m.subject.clone()
                };
                let date = chrono::DateTime::from_timestamp(m.date, 0)
                    .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default();
                col.push(row![
                    text(from).width(Length::FillPortion(2)),
                    text(subject).width(Length::FillPortion(5)),
                    text(date).width(Length::FillPortion(2)),
                ])
            }))
            .into()
        };
        let status = self
            .status
            .iter()
            .fold(column![], |col, s| col.push(text(s.clone()).size(12)));
        column![
            row![
                container(scrollable(folders)).width(260).padding(12),
                rule::vertical(1),
                container(column![text(tr("messages-heading")).size(16), messages].spacing(8))
                    .padding(12)
                    .width(Length::Fill),
            ]
            .height(Length::Fill),
            container(status).padding(8),
        ]
        .into()
    }
}

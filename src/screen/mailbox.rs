//! The mailbox window: folder tree | message list | reader in resizable panes, a toolbar
//! above and a status line below. Reads come from the store (only what is in view);
//! every change goes to the engine as a command and is shown at once.

mod actions;
pub mod chrome;
pub mod drafts;
pub mod drag;
mod events;
pub mod folders;
pub mod format;
pub mod list;
pub mod menu;
pub mod outbox;
pub mod reader;
mod unified;

use crate::engine::Handle;
use crate::i18n::tr_args;
use crate::settings::{Settings, Sort};
use crate::theme::{self, space};
use crate::widget::message_list::{self, Handlers};
use crate::widget::pointer::pointer_area;
use crate::widget::shortcuts::shortcuts;
use drafts::LocalDraft;
use drag::Drag;
use folders::{AccountInfo, Connection, Place, Tree};
use format::Dates;
use iced::keyboard::{Key, Modifiers, key::Named};
use iced::widget::pane_grid::{self, PaneGrid};
use iced::widget::scrollable::Viewport;
use iced::widget::{Space, Stack, column, container};
use iced::{Element, Length, Point, Task};
use list::{List, Source};
use menu::ContextMenu;
use reader::Reader;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tern_core::engine::Command;
use tern_core::store::{DraftId, Flags, FolderId, MessageId, OutboxItem, Store, StoreError};
use tern_core::sync::Progress;

/// Messages bigger than this are read and parsed off the UI thread when opened.
const OPEN_IN_BACKGROUND: u32 = 512 * 1024;

/// The id of the search field, for focusing it from the keyboard.
pub const SEARCH_ID: &str = "search";

/// What the composer is asked to start with. The composer screen is another part of the
/// app; [`Action::Compose`] hands this to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ComposeRequest {
    New,
    Reply(MessageId),
    ReplyAll(MessageId),
    Forward(MessageId),
    /// A `mailto:` link clicked in a message.
    MailTo(String),
    /// A draft saved earlier, to go on writing it.
    Draft(DraftId),
}

/// Something the user does to the selection or the window, from a key or the toolbar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Next,
    Previous,
    /// Read the focused message with the reader filling the window.
    Open,
    /// Leave the full-window reader, or the search.
    Back,
    Delete,
    Archive,
    Junk,
    ToggleRead,
    ToggleFlag,
    Reply,
    ReplyAll,
    Forward,
    Compose,
    Search,
    /// Open the settings (accounts, identities, theme, remote content).
    Settings,
}

/// A folder the selection can be moved to, as the "move to" menu lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    pub id: FolderId,
    pub label: String,
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label)
    }
}

#[derive(Clone, Debug)]
pub enum Message {
    Select(Place),
    RowClicked(usize),
    ToggleThread(usize),
    ListScrolled(Viewport),
    Verb(Verb),
    Modifiers(Modifiers),
    MoveTo(Destination),
    SearchChanged(String),
    Sort(Sort),
    Reader(reader::Message),
    PaneResized(pane_grid::ResizeEvent),
    /// Reread what is shown (after the engine had time to apply an action).
    Refresh,
    /// An attachment was saved (the path) or not (why).
    Saved(Result<Option<PathBuf>, String>),
    ShowError(bool),
    CycleTheme,
    /// A big message, read and parsed in the background (`None`: no body stored yet).
    Prepared(MessageId, Result<Option<Arc<reader::Prepared>>, String>),
    /// A mouse button went down here (window coordinates); the row under the pointer, if
    /// any, reports the press just after.
    PointerDown(Point),
    /// The left button went down on the row at this position: a click, or a drag.
    RowPressed(usize),
    /// The right button went down on the row at this position: the context menu.
    RowMenu(usize),
    CloseMenu,
    /// Show or hide the context menu's "Move to" folder list.
    MoveToMenu(bool),
    /// The pointer moved with the button held after a press on a row.
    DragMoved(Point),
    /// The button came up after a press on a row.
    DragEnded,
    /// The pointer entered or left a folder of the tree during a drag.
    DropEnter(FolderId),
    DropLeave(FolderId),
    Outbox(outbox::Message),
    /// Open a saved draft in a composer.
    EditDraft(DraftId),
}

/// What the app does after an update.
pub enum Action {
    None,
    Run(Task<Message>),
    Compose(ComposeRequest),
    OpenSettings,
}

/// The panes of the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Folders,
    List,
    Reader,
}

/// Sync state of one folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Syncing {
    pub folder: FolderId,
    pub progress: Progress,
}

/// See the module docs.
pub struct Mailbox {
    engine: Handle,
    profile_dir: PathBuf,
    pub accounts: Vec<AccountInfo>,
    pub connections: HashMap<String, Connection>,
    pub tree: Tree,
    pub place: Place,
    pub list: List,
    pub outbox: Vec<OutboxItem>,
    pub reader: Option<Reader>,
    pub search: String,
    pub syncing: HashMap<String, Syncing>,
    /// Errors from the engine, newest last.
    pub errors: Vec<String>,
    pub show_errors: bool,
    /// A line for the status bar about the last thing done (saved a file...).
    pub notice: Option<String>,
    modifiers: Modifiers,
    panes: pane_grid::State<Pane>,
    reader_pane: Option<pane_grid::Pane>,
    pub dates: Dates,
    /// Messages whose remote images the user allowed this session.
    images_allowed: HashSet<MessageId>,
    refresh_scheduled: bool,
    /// When the list was last reread for sync progress.
    last_progress_refresh: Option<std::time::Instant>,
    /// No Inbox was there to open at start and the user has not chosen a place yet.
    auto_place: bool,
    /// Where the last mouse button went down, in window coordinates.
    pointer: Point,
    pub menu: Option<ContextMenu>,
    /// A press on a row, maybe a drag.
    pub drag: Option<Drag>,
    /// The Outbox's question waiting for an answer.
    pub outbox_ask: Option<outbox::Ask>,
    /// The open message and the Tern draft it is the server copy of.
    reader_draft: Option<(MessageId, DraftId)>,
    /// Drafts with no copy in the Drafts folder shown, listed above its messages.
    pub local_drafts: Vec<LocalDraft>,
}

impl Mailbox {
    /// The mailbox of a running engine, opened on the first account's Inbox.
    pub fn new(
        engine: Handle,
        profile_dir: PathBuf,
        accounts: Vec<AccountInfo>,
        settings: &Settings,
        dates: Dates,
    ) -> Mailbox {
        let panes = pane_grid::State::with_configuration(pane_grid::Configuration::Split {
            axis: pane_grid::Axis::Vertical,
            ratio: 0.2,
            a: Box::new(pane_grid::Configuration::Pane(Pane::Folders)),
            b: Box::new(pane_grid::Configuration::Split {
                axis: pane_grid::Axis::Vertical,
                ratio: 0.42,
                a: Box::new(pane_grid::Configuration::Pane(Pane::List)),
                b: Box::new(pane_grid::Configuration::Pane(Pane::Reader)),
            }),
        });
        let reader_pane = panes
            .iter()
            .find(|(_, p)| **p == Pane::Reader)
            .map(|(id, _)| *id);
        let mut mailbox = Mailbox {
            engine,
            profile_dir,
            accounts,
            connections: HashMap::new(),
            tree: Tree::default(),
            place: Place::Outbox,
            list: List::new(
                Source::Search {
                    query: String::new(),
                    rows: Vec::new(),
                },
                settings.sort.order(),
            ),
            outbox: Vec::new(),
            reader: None,
            search: String::new(),
            syncing: HashMap::new(),
            errors: Vec::new(),
            show_errors: false,
            notice: None,
            modifiers: Modifiers::default(),
            panes,
            reader_pane,
            dates,
            images_allowed: HashSet::new(),
            refresh_scheduled: false,
            last_progress_refresh: None,
            auto_place: false,
            pointer: Point::ORIGIN,
            menu: None,
            drag: None,
            outbox_ask: None,
            reader_draft: None,
            local_drafts: Vec::new(),
        };
        mailbox.reload_tree();
        let start = mailbox
            .tree
            .first_inbox()
            .map_or(Place::Outbox, Place::Folder);
        mailbox.auto_place = start == Place::Outbox;
        mailbox.select(start, settings);
        mailbox
    }

    /// The engine this mailbox shows.
    pub fn engine(&self) -> &Handle {
        &self.engine
    }

    fn read<T>(&self, f: impl FnOnce(&Store) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.engine.read(f)
    }

    /// Puts a line in the status bar's errors (the last one shows; all in the details).
    pub fn error(&mut self, e: impl std::fmt::Display) {
        let line = e.to_string();
        tracing::warn!("{line}");
        self.errors.push(line);
        if self.errors.len() > 20 {
            self.errors.remove(0);
        }
    }

    fn reload_tree(&mut self) {
        let (accounts, connections) = (&self.accounts, &self.connections);
        let result = self.engine.read(|s| Tree::load(s, accounts, connections));
        match result {
            Ok(tree) => self.tree = tree,
            Err(e) => self.error(e),
        }
    }

    fn refresh_list(&mut self, changed: bool) {
        if self.place == Place::Outbox {
            match self.read(|s| s.outbox(None)) {
                Ok(items) => self.outbox = items,
                Err(e) => self.error(e),
            }
            return;
        }
        let store = self.engine.clone();
        let list = &mut self.list;
        if let Err(e) = store.read(|s| list.refresh(s, changed)) {
            self.error(e);
        }
        if changed {
            self.reload_local_drafts();
        }
    }

    /// Rereads the list if the store is free this instant; while the engine writes (a
    /// sync's batch), tries again a moment later instead of stalling the window.
    fn try_refresh_list(&mut self) -> Task<Message> {
        if self.place == Place::Outbox {
            self.refresh_list(false);
            return Task::none();
        }
        let engine = self.engine.clone();
        let list = &mut self.list;
        match engine.try_read(|s| list.refresh(s, false)) {
            Some(Ok(())) => Task::none(),
            Some(Err(e)) => {
                self.error(e);
                Task::none()
            }
            None => self.schedule_refresh(Duration::from_millis(20)),
        }
    }

    /// Rereads the list a moment from now (once, however many times asked meanwhile).
    fn schedule_refresh(&mut self, after: Duration) -> Task<Message> {
        if std::mem::replace(&mut self.refresh_scheduled, true) {
            return Task::none();
        }
        Task::perform(tokio::time::sleep(after), |()| Message::Refresh)
    }

    fn select(&mut self, place: Place, settings: &Settings) {
        self.search.clear();
        let source = match &place {
            Place::Folder(id) => Some(Source::Folder(*id)),
            Place::Unified => Some(Source::Unified(self.tree.inboxes())),
            Place::Outbox => None,
        };
        self.place = place;
        if let Some(source) = source {
            self.list = List::new(source, settings.sort.order());
        }
        self.refresh_list(true);
    }

    /// The list was scrolled to `offset` in a viewport `height` tall: reads the rows now
    /// in view if they were not read yet.
    pub fn scroll_list(&mut self, offset: f32, height: f32) -> Task<Message> {
        if self.list.scrolled(offset, height) {
            return self.try_refresh_list();
        }
        Task::none()
    }

    /// The folder being shown, if one is.
    pub fn folder(&self) -> Option<FolderId> {
        match self.place {
            Place::Folder(id) => Some(id),
            _ => None,
        }
    }

    /// Opens message `id` in the reader and marks it read. A big message is read and
    /// parsed on a blocking thread; the task brings it back.
    fn open(&mut self, id: MessageId) -> Task<Message> {
        if self.reader.as_ref().is_some_and(|r| r.id == id) {
            return Task::none();
        }
        let row = match self.read(|s| s.message(id)) {
            Ok(Some(row)) => row,
            Ok(None) => return Task::none(),
            Err(e) => {
                self.error(e);
                return Task::none();
            }
        };
        if !self.list.flags(&row).contains(Flags::SEEN) {
            self.set_flags(vec![id], Flags::SEEN, Flags::empty());
        }
        let big = row.size > OPEN_IN_BACKGROUND;
        self.reader_draft = self.draft_of_row(&row).map(|draft| (id, draft));
        let mut reader = Reader::loading(row);
        reader.images_allowed = self.images_allowed.contains(&id);
        self.reader = Some(reader);
        self.load_body(id, big)
    }

    /// Reads and shows the open message's body: here, or for a big one on a blocking
    /// thread. No body stored yet: the engine is asked for it (`BodyReady` follows).
    fn load_body(&mut self, id: MessageId, in_background: bool) -> Task<Message> {
        if in_background {
            let engine = self.engine.clone();
            return Task::perform(
                async move {
                    let raw = engine.read_later(move |s| s.body(id)).await;
                    match raw.map_err(|e| e.to_string())? {
                        Some(raw) => tokio::task::spawn_blocking(move || reader::prepare(raw))
                            .await
                            .map(|p| Some(Arc::new(p)))
                            .map_err(|e| e.to_string()),
                        None => Ok(None),
                    }
                },
                move |result| Message::Prepared(id, result),
            );
        }
        match self.read(|s| s.body(id)) {
            Ok(Some(raw)) => {
                if let Some(reader) = self.reader.as_mut().filter(|r| r.id == id) {
                    reader.show(raw);
                    return Task::done(Message::Reader(reader::Message::Shown));
                }
            }
            Ok(None) => self.engine.send(Command::FetchBody(id)),
            Err(e) => self.error(e),
        }
        Task::none()
    }

    pub fn update(&mut self, message: Message, settings: &mut Settings) -> Action {
        match message {
            Message::Select(place) => {
                self.auto_place = false;
                self.menu = None;
                self.drag = None;
                self.outbox_ask = None;
                self.select(place, settings);
                Action::Run(message_list::scroll_to(0.0))
            }
            Message::RowClicked(index) => {
                // Let go on the row a drag started from: the drag's end decides.
                if self.drag.as_ref().is_some_and(|d| d.active) {
                    return Action::None;
                }
                self.drag = None;
                self.menu = None;
                let (ctrl, shift) = (self.modifiers.command(), self.modifiers.shift());
                let engine = self.engine.clone();
                let list = &mut self.list;
                if let Err(e) = engine.read(|s| list.click(s, index, ctrl, shift)) {
                    self.error(e);
                }
                if !ctrl
                    && !shift
                    && let Some(id) = self.list.row(index).map(|r| r.message.id)
                {
                    return Action::Run(self.open(id));
                }
                Action::None
            }
            Message::ToggleThread(index) => {
                let engine = self.engine.clone();
                let list = &mut self.list;
                if let Err(e) = engine.read(|s| list.toggle_thread(s, index)) {
                    self.error(e);
                }
                Action::None
            }
            Message::ListScrolled(viewport) => Action::Run(
                self.scroll_list(viewport.absolute_offset().y, viewport.bounds().height),
            ),
            Message::Verb(verb) => {
                // Escape closes the menu (or a question, or drops a drag) before
                // anything else.
                let closed = self.menu.take().is_some();
                if verb == Verb::Back
                    && (closed || self.outbox_ask.take().is_some() || self.drag.take().is_some())
                {
                    return Action::None;
                }
                self.verb(verb)
            }
            Message::Modifiers(m) => {
                self.modifiers = m;
                Action::None
            }
            Message::MoveTo(dest) => {
                self.menu = None;
                let to = dest.id;
                Action::Run(self.take_selection(|ids| Command::Move { ids, to }))
            }
            Message::SearchChanged(query) => self.update_search(query),
            Message::Sort(sort) => {
                settings.sort = sort;
                self.list.order = sort.order();
                let source = self.list.source.clone();
                let selected = std::mem::take(&mut self.list.selected);
                self.list = List::new(source, sort.order());
                self.list.selected = selected;
                self.refresh_list(true);
                Action::Run(message_list::scroll_to(0.0))
            }
            Message::Reader(m) => self.reader_message(m, settings),
            Message::PaneResized(pane_grid::ResizeEvent { split, ratio }) => {
                self.panes.resize(split, ratio);
                Action::None
            }
            Message::Refresh => {
                self.refresh_scheduled = false;
                self.refresh_list(false);
                self.reload_tree();
                Action::None
            }
            Message::Saved(result) => {
                match result {
                    Ok(Some(path)) => {
                        self.notice = Some(tr_args(
                            "notice-saved",
                            &[("path", path.display().to_string().into())],
                        ));
                    }
                    Ok(None) => {}
                    Err(e) => self.error(e),
                }
                Action::None
            }
            Message::ShowError(show) => {
                self.show_errors = show;
                Action::None
            }
            // The app owns the theme; it sees this message before the mailbox does.
            Message::CycleTheme => Action::None,
            Message::Prepared(id, result) => {
                match result {
                    Ok(Some(prepared)) => {
                        if let Some(reader) = self.reader.as_mut().filter(|r| r.id == id) {
                            reader.show_prepared((*prepared).clone());
                            return Action::Run(reader.load_remote(settings).map(Message::Reader));
                        }
                    }
                    Ok(None) => self.engine.send(Command::FetchBody(id)),
                    Err(e) => self.error(e),
                }
                Action::None
            }
            Message::PointerDown(at) => {
                self.pointer = at;
                Action::None
            }
            Message::RowPressed(index) => {
                self.drag = Some(Drag::pressed(index, self.pointer));
                Action::None
            }
            Message::RowMenu(index) => self.open_menu(index),
            Message::CloseMenu => {
                self.menu = None;
                Action::None
            }
            Message::MoveToMenu(show) => {
                if let Some(menu) = &mut self.menu {
                    menu.folders = show;
                }
                Action::None
            }
            Message::DragMoved(at) => {
                self.drag_moved(at);
                Action::None
            }
            Message::DragEnded => Action::Run(self.drag_ended()),
            Message::DropEnter(id) => {
                self.drop_enter(id);
                Action::None
            }
            Message::DropLeave(id) => {
                self.drop_leave(id);
                Action::None
            }
            Message::Outbox(m) => self.outbox_message(m),
            Message::EditDraft(id) => {
                self.menu = None;
                Action::Compose(ComposeRequest::Draft(id))
            }
        }
    }

    /// A right click on the row at `index`: a row outside the selection is selected (and
    /// shown) first, as a click would; then the menu opens at the pointer.
    fn open_menu(&mut self, index: usize) -> Action {
        self.drag = None;
        let Some(id) = self.list.row(index).map(|r| r.message.id) else {
            return Action::None;
        };
        let mut task = Task::none();
        if !self.list.is_selected(id) {
            let engine = self.engine.clone();
            let list = &mut self.list;
            if let Err(e) = engine.read(|s| list.click(s, index, false, false)) {
                self.error(e);
            }
            task = self.open(id);
        }
        let draft = match self.list.selected.as_slice() {
            [one] => self.draft_of(*one),
            _ => None,
        };
        self.menu = Some(ContextMenu {
            at: self.pointer,
            folders: false,
            draft,
        });
        Action::Run(task)
    }

    /// Maps a key press no widget took to a message.
    pub fn key(key: &Key, modifiers: Modifiers) -> Option<Message> {
        let verb = match key.as_ref() {
            Key::Named(Named::ArrowDown) => Verb::Next,
            Key::Named(Named::ArrowUp) => Verb::Previous,
            Key::Named(Named::Enter) => Verb::Open,
            Key::Named(Named::Escape) => Verb::Back,
            Key::Named(Named::Delete) => Verb::Delete,
            Key::Character("f") if modifiers.command() => Verb::Search,
            Key::Character(",") if modifiers.command() => Verb::Settings,
            _ if modifiers.command() || modifiers.alt() => return None,
            Key::Character(c) => match c {
                "j" => Verb::Next,
                "k" => Verb::Previous,
                "/" => Verb::Search,
                "r" => Verb::Reply,
                "a" => Verb::ReplyAll,
                "f" => Verb::Forward,
                "c" => Verb::Compose,
                "m" => Verb::ToggleRead,
                "s" => Verb::ToggleFlag,
                "e" => Verb::Archive,
                "!" => Verb::Junk,
                _ => return None,
            },
            _ => return None,
        };
        Some(Message::Verb(verb))
    }

    pub fn view<'a>(&'a self, settings: &'a Settings, theme: &iced::Theme) -> Element<'a, Message> {
        let colors = theme::colors(theme);
        let grid = PaneGrid::new(&self.panes, move |_id, pane, _maximized| {
            let content: Element<'a, Message> = match pane {
                Pane::Folders => self.tree.view(
                    Some(&self.place),
                    Message::Select,
                    self.drag
                        .as_ref()
                        .filter(|d| d.active)
                        .map(|d| folders::Dropping {
                            over: d.over,
                            enter: Message::DropEnter,
                            leave: Message::DropLeave,
                        }),
                ),
                Pane::List => self.list_pane(),
                Pane::Reader => match &self.reader {
                    Some(reader) => {
                        let trusted = reader
                            .sender()
                            .is_some_and(|s| settings.remote_images.contains(&s));
                        let view = reader
                            .view(&self.dates, colors, settings.remote_content, trusted)
                            .map(Message::Reader);
                        let content: Element<'a, Message> = match self.reader_draft {
                            Some((id, draft)) if id == reader.id => {
                                column![drafts::edit_bar(draft), view].into()
                            }
                            _ => view,
                        };
                        container(content)
                            .style(theme::pane)
                            .height(Length::Fill)
                            .into()
                    }
                    None => chrome::empty_reader(),
                },
            };
            pane_grid::Content::new(content)
        })
        .min_size(200)
        .spacing(1)
        .on_resize(8, Message::PaneResized)
        .width(Length::Fill)
        .height(Length::Fill);
        let page = column![
            chrome::toolbar(self),
            grid,
            chrome::status_line(self, settings)
        ]
        .height(Length::Fill);
        // Layers over the page: the context menu, the label of a drag.
        let mut layers = Stack::new()
            .push(page)
            .width(Length::Fill)
            .height(Length::Fill);
        if let Some(menu) = &self.menu {
            layers = layers.push(menu::view(self, menu));
        }
        if let Some(drag) = self.drag.as_ref().filter(|d| d.active) {
            layers = layers.push(drag::label(drag, self.modifiers.command()));
        }
        let pointer = pointer_area(layers)
            .on_press(Message::PointerDown)
            .on_right_press(Message::PointerDown)
            .following(self.drag.is_some(), Message::DragMoved, |_| {
                Message::DragEnded
            });
        shortcuts(pointer, Mailbox::key)
            .on_modifiers(Message::Modifiers)
            .into()
    }

    fn list_pane(&self) -> Element<'_, Message> {
        let local_drafts = !self.local_drafts.is_empty() && self.drafts_account().is_some();
        let body: Element<'_, Message> = if self.place == Place::Outbox && self.search.is_empty() {
            outbox::view(&self.outbox, &self.dates, self.outbox_ask).map(Message::Outbox)
        } else if self.list.total() == 0 && local_drafts {
            Space::new().into()
        } else if self.list.total() == 0 {
            chrome::empty_list(self)
        } else {
            message_list::view(
                &self.list,
                &self.dates,
                Handlers {
                    click: Message::RowClicked,
                    press: Message::RowPressed,
                    menu: Message::RowMenu,
                    toggle_thread: Message::ToggleThread,
                    scrolled: Message::ListScrolled,
                },
            )
        };
        let mut col = column![chrome::list_header(self)].spacing(space::XS);
        if local_drafts {
            col = col.push(
                container(drafts::local_list(&self.local_drafts, &self.dates))
                    .padding([0.0, space::M]),
            );
        }
        container(col.push(body))
            .style(theme::pane)
            .height(Length::Fill)
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_verbs_and_leave_typing_alone() {
        let none = Modifiers::default();
        let key = |k: &str| Mailbox::key(&Key::Character(k.into()), none);
        assert!(matches!(key("j"), Some(Message::Verb(Verb::Next))));
        assert!(matches!(key("k"), Some(Message::Verb(Verb::Previous))));
        assert!(matches!(key("r"), Some(Message::Verb(Verb::Reply))));
        assert!(matches!(key("/"), Some(Message::Verb(Verb::Search))));
        assert!(key("q").is_none());
        assert!(Mailbox::key(&Key::Character("r".into()), Modifiers::CTRL).is_none());
        assert!(matches!(
            Mailbox::key(&Key::Character("f".into()), Modifiers::CTRL),
            Some(Message::Verb(Verb::Search))
        ));
    }
}

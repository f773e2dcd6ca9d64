//! The composer, shown in its own window: From (an identity), To/Cc/Bcc with completion
//! from mail already seen, subject, the body, attachments (file dialog or files dropped on
//! the window), Send (through the outbox) and Save draft.
//!
//! Drafts save themselves: each change schedules an autosave [`AUTOSAVE_AFTER`] later, and
//! only the last one of a burst of typing goes to the engine (which stores it at once and
//! copies it to the server every 30 s). Closing with unsaved changes asks first.
//! Replies and forwards start from `tern_core::compose::{reply, forward_inline,
//! forward_as_attachment}`; their original is read from the store, or fetched first.

pub mod address_field;
pub mod mailto;
mod start;
mod view;

pub use start::{IdentityChoice, identities};

use crate::engine::{CoreEvent, Handle};
use crate::i18n::{tr, tr_args};
use iced::keyboard::{Key, Modifiers, key::Named};
use iced::widget::text_editor;
use iced::{Subscription, Task, window};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tern_core::account::Account;
use tern_core::compose::{self as model, Attachment, ComposeError, ReplyKind};
use tern_core::engine::Command;
use tern_core::store::{Address, DraftId, MessageId};

/// How long after the last change a draft is saved: a pause in typing, and well within the
/// two seconds the engine promises for a draft to be on disk.
pub const AUTOSAVE_AFTER: Duration = Duration::from_millis(800);

/// How many completions are listed under a field.
const SUGGESTIONS: u32 = 6;

/// Widget ids, for tests and focus.
pub const TO_ID: &str = "compose-to";
pub const CC_ID: &str = "compose-cc";
pub const BCC_ID: &str = "compose-bcc";
pub const SUBJECT_ID: &str = "compose-subject";
pub const BODY_ID: &str = "compose-body";

/// A field of the message being written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    To,
    Cc,
    Bcc,
    Subject,
}

/// Where the draft stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DraftState {
    /// Nothing to save yet, or changes not handed to the engine yet.
    Unsaved,
    /// Handed to the engine; waiting for it to say it is stored.
    Saving,
    Saved,
    /// The engine could not store it: why.
    Failed(String),
}

/// What the user chose when closing with unsaved changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseChoice {
    SaveDraft,
    Discard,
    KeepWriting,
}

#[derive(Clone, Debug)]
pub enum Message {
    From(IdentityChoice),
    Edit(Field, String),
    Body(text_editor::Action),
    ShowCopies,
    /// Put this suggestion in place of the address being typed in the field.
    Complete(Field, Address),
    /// Enter in a field: takes the first suggestion (with Ctrl: sends).
    Submit(Field),
    /// Look the completions up again (the store was busy).
    Suggest(Field),
    Attach,
    /// Files read for attaching, or why one could not be.
    Attached(Vec<Result<Attachment, String>>),
    FileDropped(PathBuf),
    RemoveAttachment(usize),
    /// Forward the original as an attachment instead of quoting it.
    AttachOriginal(bool),
    /// The autosave scheduled after change number `n`.
    Autosave(u64),
    SaveDraft,
    Send,
    CloseRequested,
    Close(CloseChoice),
    Modifiers(Modifiers),
}

/// What the app does after an update.
pub enum Action {
    None,
    Run(Task<Message>),
    /// Close the composer's window: sent, saved or discarded as the user chose.
    Close,
}

/// A reply or forward waiting for its original's body to arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    Reply(MessageId, ReplyKind),
    Forward(MessageId),
}

/// The current completions: for which field, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    pub field: Field,
    pub suggestions: Vec<Address>,
}

/// See the module docs.
pub struct Compose {
    engine: Handle,
    pub identities: Vec<IdentityChoice>,
    pub from: Option<IdentityChoice>,
    pub to: String,
    pub cc: String,
    pub bcc: String,
    pub show_copies: bool,
    pub subject: String,
    pub body: text_editor::Content,
    pub attachments: Vec<Attachment>,
    /// What a reply or forward carries beyond the fields: threading, the forwarded message.
    base: model::Compose,
    /// The original of a forward, for "attach the original" (None for other messages).
    original: Option<Arc<Vec<u8>>>,
    pending: Option<Pending>,
    pub draft: DraftId,
    /// Changes so far, and the change last handed to the engine as a draft.
    revision: u64,
    saved_revision: u64,
    /// A draft was handed to the engine at least once (so one may exist).
    draft_sent: bool,
    pub draft_state: DraftState,
    pub completion: Option<Completion>,
    pub confirm_close: bool,
    /// Why the message cannot be sent or a file not attached, in plain words.
    pub error: Option<String>,
    modifiers: Modifiers,
}

impl Compose {
    /// Puts `text` in the editor with the cursor at the top, where a reply or a new
    /// message is written (above the quote and the signature).
    fn set_body(&mut self, text: &str) {
        self.body = text_editor::Content::with_text(text);
        self.body.perform(text_editor::Action::Move(
            text_editor::Motion::DocumentStart,
        ));
    }

    /// Where typing starts when the window opens: the To field while it is empty, else
    /// the text. The app runs this task once the composer's window is open.
    pub fn focus(&self) -> Task<Message> {
        if self.to.trim().is_empty() {
            iced::widget::operation::focus(TO_ID)
        } else {
            iced::widget::operation::focus(BODY_ID)
        }
    }

    /// The body as typed (the editor keeps a last line break of its own).
    fn body_text(&self) -> String {
        let text = self.body.text();
        text.strip_suffix('\n').map(str::to_owned).unwrap_or(text)
    }

    /// The message as the engine takes it.
    pub fn model(&self) -> model::Compose {
        let mut m = self.base.clone();
        if let Some(from) = &self.from {
            m.account = from.account.clone();
            m.from = from.identity.clone();
        }
        m.to = self.to.trim().to_owned();
        m.cc = self.cc.trim().to_owned();
        m.bcc = self.bcc.trim().to_owned();
        m.subject = self.subject.clone();
        m.body = self.body_text();
        m.attachments = self.attachments.clone();
        m
    }

    /// Whether there are changes the engine has not been given as a draft.
    pub fn has_unsaved_changes(&self) -> bool {
        self.revision != self.saved_revision || matches!(self.draft_state, DraftState::Failed(_))
    }

    /// Whether a reply or forward still waits for its original.
    pub fn is_waiting(&self) -> bool {
        self.pending.is_some()
    }

    /// Notes a change and schedules the autosave that follows it.
    fn changed(&mut self) -> Task<Message> {
        self.revision += 1;
        if self.draft_state != DraftState::Saving {
            self.draft_state = DraftState::Unsaved;
        }
        let n = self.revision;
        Task::perform(
            async { tokio::time::sleep(AUTOSAVE_AFTER).await },
            move |()| Message::Autosave(n),
        )
    }

    fn save_draft(&mut self) {
        if self.from.is_none() {
            return;
        }
        self.engine.send(Command::SaveDraft {
            id: self.draft,
            compose: Box::new(self.model()),
        });
        self.saved_revision = self.revision;
        self.draft_sent = true;
        self.draft_state = DraftState::Saving;
    }

    /// Checks the message, hands it to the outbox and closes.
    fn send(&mut self) -> Action {
        if self.pending.is_some() {
            return Action::None;
        }
        let Some(from) = &self.from else {
            self.error = Some(tr("compose-error-no-identity"));
            return Action::None;
        };
        let m = self.model();
        if let Err(e) = m.build(chrono::Utc::now()) {
            self.error = Some(explain(&e));
            return Action::None;
        }
        tracing::debug!("sending as {}", from.identity.email);
        self.engine.send(Command::Send {
            compose: Box::new(m),
            draft: self.draft_sent.then_some(self.draft),
        });
        Action::Close
    }

    fn field_mut(&mut self, field: Field) -> &mut String {
        match field {
            Field::To => &mut self.to,
            Field::Cc => &mut self.cc,
            Field::Bcc => &mut self.bcc,
            Field::Subject => &mut self.subject,
        }
    }

    /// Looks up completions for the address being typed in `field`; the store is read
    /// only if it is free this instant, else a moment later.
    fn suggest(&mut self, field: Field) -> Task<Message> {
        if field == Field::Subject {
            self.completion = None;
            return Task::none();
        }
        let value = self.field_mut(field).clone();
        let typed = address_field::current_token(&value).to_owned();
        if typed.chars().count() < 1 {
            self.completion = None;
            return Task::none();
        }
        let own: Vec<String> = self
            .identities
            .iter()
            .map(|c| c.identity.email.to_lowercase())
            .chain(address_field::listed(&value))
            .collect();
        let wanted = SUGGESTIONS + own.len() as u32;
        let found = self
            .engine
            .try_read(|s| s.address_suggestions(&typed, wanted));
        match found {
            None => {
                return Task::perform(
                    async { tokio::time::sleep(Duration::from_millis(30)).await },
                    move |()| Message::Suggest(field),
                );
            }
            Some(Err(e)) => {
                tracing::warn!("address completion: {e}");
                self.completion = None;
            }
            Some(Ok(found)) => {
                let suggestions: Vec<Address> = found
                    .into_iter()
                    .filter(|a| !own.contains(&a.email.to_lowercase()))
                    .take(SUGGESTIONS as usize)
                    .collect();
                self.completion =
                    (!suggestions.is_empty()).then_some(Completion { field, suggestions });
            }
        }
        Task::none()
    }

    /// Reads files to attach off the UI thread.
    fn attach_files(paths: Vec<PathBuf>) -> Task<Message> {
        Task::perform(
            async move {
                tokio::task::spawn_blocking(move || read_files(&paths))
                    .await
                    .unwrap_or_else(|e| vec![Err(e.to_string())])
            },
            Message::Attached,
        )
    }

    pub fn update(&mut self, message: Message) -> Action {
        let task = match message {
            Message::From(choice) => {
                let old = self.from.replace(choice);
                self.swap_signature(old.as_ref());
                self.changed()
            }
            Message::Edit(field, value) => {
                *self.field_mut(field) = value;
                self.error = None;
                let suggest = self.suggest(field);
                Task::batch([suggest, self.changed()])
            }
            Message::Body(action) => {
                let edit = action.is_edit();
                self.body.perform(action);
                if edit {
                    self.completion = None;
                    self.changed()
                } else {
                    Task::none()
                }
            }
            Message::ShowCopies => {
                self.show_copies = true;
                iced::widget::operation::focus(CC_ID)
            }
            Message::Complete(field, address) => {
                let value = self.field_mut(field);
                *value = address_field::complete(value, &address);
                self.completion = None;
                let task = self.changed();
                Task::batch([
                    task,
                    iced::widget::operation::focus(match field {
                        Field::Cc => CC_ID,
                        Field::Bcc => BCC_ID,
                        _ => TO_ID,
                    }),
                    iced::widget::operation::move_cursor_to_end(match field {
                        Field::Cc => CC_ID,
                        Field::Bcc => BCC_ID,
                        _ => TO_ID,
                    }),
                ])
            }
            Message::Submit(field) => {
                if self.modifiers.command() {
                    return self.send();
                }
                let first = self
                    .completion
                    .as_ref()
                    .filter(|c| c.field == field)
                    .and_then(|c| c.suggestions.first().cloned());
                match first {
                    Some(address) => return self.update(Message::Complete(field, address)),
                    None => iced::widget::operation::focus_next(),
                }
            }
            Message::Suggest(field) => self.suggest(field),
            Message::Attach => Task::perform(
                async {
                    let picked = rfd::AsyncFileDialog::new()
                        .pick_files()
                        .await
                        .unwrap_or_default();
                    let paths: Vec<PathBuf> =
                        picked.iter().map(|f| f.path().to_path_buf()).collect();
                    tokio::task::spawn_blocking(move || read_files(&paths))
                        .await
                        .unwrap_or_else(|e| vec![Err(e.to_string())])
                },
                Message::Attached,
            ),
            Message::Attached(results) => {
                let mut errors = Vec::new();
                let mut added = false;
                for result in results {
                    match result {
                        Ok(a) => {
                            self.attachments.push(a);
                            added = true;
                        }
                        Err(e) => errors.push(e),
                    }
                }
                // Files read in parallel come back in any order: a later success must not
                // hide an earlier failure.
                if !errors.is_empty() {
                    self.error = Some(errors.join("\n"));
                }
                if added { self.changed() } else { Task::none() }
            }
            Message::FileDropped(path) => Compose::attach_files(vec![path]),
            Message::RemoveAttachment(i) => {
                if i < self.attachments.len() {
                    self.attachments.remove(i);
                    self.changed()
                } else {
                    Task::none()
                }
            }
            Message::AttachOriginal(on) => {
                self.base.forwarded = match (on, &self.original) {
                    (true, Some(raw)) => Some(model::ForwardedMessage {
                        subject: self.subject.clone(),
                        raw: raw.clone(),
                    }),
                    _ => None,
                };
                self.changed()
            }
            Message::Autosave(n) => {
                if n == self.revision && self.has_unsaved_changes() && self.pending.is_none() {
                    self.save_draft();
                }
                Task::none()
            }
            Message::SaveDraft => {
                self.save_draft();
                Task::none()
            }
            Message::Send => return self.send(),
            Message::CloseRequested => {
                if self.has_unsaved_changes() && self.revision > 0 {
                    self.confirm_close = true;
                    Task::none()
                } else {
                    return Action::Close;
                }
            }
            Message::Close(choice) => {
                self.confirm_close = false;
                match choice {
                    CloseChoice::SaveDraft => {
                        self.save_draft();
                        return Action::Close;
                    }
                    CloseChoice::Discard => {
                        if self.draft_sent
                            && let Some(from) = &self.from
                        {
                            self.engine.send(Command::DiscardDraft {
                                id: self.draft,
                                account: from.account.clone(),
                            });
                        }
                        return Action::Close;
                    }
                    CloseChoice::KeepWriting => Task::none(),
                }
            }
            Message::Modifiers(m) => {
                self.modifiers = m;
                Task::none()
            }
        };
        Action::Run(task)
    }

    /// The engine's events about this composer's draft, and the original it waits for.
    pub fn event(&mut self, event: &CoreEvent, accounts: &[Account]) {
        match event {
            CoreEvent::DraftSaved { id }
                if *id == self.draft && self.draft_state == DraftState::Saving =>
            {
                self.draft_state = if self.revision == self.saved_revision {
                    DraftState::Saved
                } else {
                    DraftState::Unsaved
                };
            }
            CoreEvent::DraftError { id, error } if *id == self.draft => {
                self.draft_state = DraftState::Failed(error.to_string());
            }
            CoreEvent::BodyReady(id) => {
                let Some(pending) = self.pending else { return };
                let waiting = match pending {
                    Pending::Reply(m, _) | Pending::Forward(m) => m,
                };
                if waiting != *id {
                    return;
                }
                self.pending = None;
                match start::original(&self.engine, waiting) {
                    Ok((Some(raw), account)) => self.fill_from(pending, &raw, account, accounts),
                    Ok((None, _)) => self.error = Some(tr("compose-error-original")),
                    Err(e) => self.error = Some(e.to_string()),
                }
            }
            _ => {}
        }
    }

    /// Maps a key no field took: Ctrl+Enter sends, Ctrl+S saves the draft.
    fn key(key: &Key, modifiers: Modifiers) -> Option<Message> {
        if !modifiers.command() {
            return None;
        }
        match key.as_ref() {
            Key::Named(Named::Enter) => Some(Message::Send),
            Key::Character("s") => Some(Message::SaveDraft),
            _ => None,
        }
    }

    /// The engine restarted (the accounts changed): later commands go to the new one, and
    /// a save the old one had not confirmed is made again (saving is idempotent).
    pub fn set_engine(&mut self, engine: Handle) {
        self.engine = engine;
        if self.draft_state == DraftState::Saving {
            self.save_draft();
        }
    }

    /// The accounts changed: the identities follow; the sender stays if it still exists.
    pub fn accounts_changed(&mut self, accounts: &[Account]) {
        self.identities = identities(accounts);
        let current = self.from.take();
        let (account, email) = current
            .as_ref()
            .map(|c| (c.account.as_str(), c.identity.email.as_str()))
            .unzip();
        self.pick_identity(account, email);
    }

    /// Whether `message` hands something to the engine (so must wait while it restarts).
    pub fn needs_engine(message: &Message) -> bool {
        matches!(
            message,
            Message::Send | Message::SaveDraft | Message::Autosave(_) | Message::Close(_)
        )
    }

    /// The window's title: the subject, or "New message".
    pub fn title(&self) -> String {
        if self.subject.trim().is_empty() {
            tr("compose-title-new")
        } else {
            self.subject.trim().to_owned()
        }
    }
}

/// A composer window's settings: a comfortable size and a sensible minimum. The app
/// handles close requests itself ([`Message::CloseRequested`]), so unsaved work can be
/// kept.
pub fn window_settings() -> window::Settings {
    window::Settings {
        size: iced::Size::new(820.0, 680.0),
        min_size: Some(iced::Size::new(560.0, 420.0)),
        exit_on_close_request: false,
        ..window::Settings::default()
    }
}

/// Window events a composer acts on — files dropped on it and the request to close it —
/// as messages for the composer of that window.
pub fn window_events() -> Subscription<(window::Id, Message)> {
    window::events().filter_map(|(id, event)| match event {
        window::Event::FileDropped(path) => Some((id, Message::FileDropped(path))),
        window::Event::CloseRequested => Some((id, Message::CloseRequested)),
        _ => None,
    })
}

/// Reads files to attach. Blocking.
fn read_files(paths: &[PathBuf]) -> Vec<Result<Attachment, String>> {
    paths
        .iter()
        .map(|p| Attachment::from_file(p).map_err(|e| explain(&e)))
        .collect()
}

/// A build error in plain words.
pub fn explain(e: &ComposeError) -> String {
    match e {
        ComposeError::NoRecipients => tr("compose-error-no-recipients"),
        ComposeError::MissingFrom => tr("compose-error-no-identity"),
        ComposeError::BadAddress { input, .. } => tr_args(
            "compose-error-address",
            &[("address", input.clone().into())],
        ),
        ComposeError::HeaderInjection { .. } => tr("compose-error-line-break"),
        ComposeError::Io { path, message } => tr_args(
            "compose-error-file",
            &[
                ("path", path.clone().into()),
                ("reason", message.clone().into()),
            ],
        ),
        other => other.to_string(),
    }
}

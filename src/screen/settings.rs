//! Settings: accounts (add, edit, remove), each account's identities and signatures, the
//! theme, and when mail may load remote content.
//!
//! Accounts and identities live in the engine's config.toml and are written here; the
//! theme and the remote-content policy live in the GUI's settings file, which the app
//! owns, so changes to them go up as [`Action`]s.

mod identities;

pub use identities::{IdentityEditor, IdentityForm};

use crate::i18n::{tr, tr_args};
use crate::screen::setup::{self, Setup, quiet_button};
use crate::theme::{self, size, space};
use iced::widget::{
    Space, button, column, container, radio, row, rule, scrollable, text, text_editor,
};
use iced::{Alignment, Element, Length, Task};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use tern_core::account::{Account, Config, Incoming};
use tern_core::secrets;

/// When a message may load images and other content from the network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RemoteContent {
    /// Never; the reader does not offer to.
    Never,
    /// Only when the user asks, message by message.
    Ask,
    /// Automatically from senders the user trusted; other messages ask.
    #[default]
    TrustedSenders,
}

#[derive(Clone, Debug)]
pub enum Message {
    AddAccount,
    EditAccount(String),
    Setup(setup::Message),
    EditIdentities(String),
    Identity(usize, IdentityField),
    Signature(usize, text_editor::Action),
    AddIdentity,
    RemoveIdentity(usize),
    SaveIdentities,
    CancelIdentities,
    RemoveAccount(String),
    ConfirmRemove(bool),
    /// An account was removed (its id), or why not.
    Removed(Result<String, String>),
    Theme(theme::Choice),
    RemoteContent(RemoteContent),
    ForgetSender(String),
    Close,
}

/// A one-line field of an identity.
#[derive(Clone, Debug)]
pub enum IdentityField {
    Name(String),
    Email(String),
    ReplyTo(String),
}

/// What the app does after an update.
pub enum Action {
    None,
    Run(Task<Message>),
    /// config.toml changed (an account added, edited or removed, identities edited): the
    /// app reloads it and restarts its engine.
    AccountsChanged,
    /// The user picked a theme: the app stores it in its settings.
    Theme(theme::Choice),
    /// The user picked a remote-content policy: the app stores it in its settings.
    RemoteContent(RemoteContent),
    /// The user no longer trusts this sender's remote content.
    ForgetSender(String),
    /// Back to the mailbox.
    Close,
}

/// See the module docs.
pub struct Settings {
    config_path: PathBuf,
    pub accounts: Vec<Account>,
    /// The add or edit account form, when open.
    pub setup: Option<Setup>,
    pub identities: Option<IdentityEditor>,
    /// The account the user asked to remove, waiting for confirmation.
    pub confirm_remove: Option<String>,
    pub theme: theme::Choice,
    pub remote: RemoteContent,
    /// Senders whose remote content loads automatically (lower-case addresses).
    pub trusted_senders: Vec<String>,
    pub error: Option<String>,
}

impl Settings {
    /// The settings of the profile whose config is at `config_path`, showing the GUI
    /// settings the app holds.
    pub fn new(
        config_path: PathBuf,
        theme: theme::Choice,
        remote: RemoteContent,
        trusted_senders: impl IntoIterator<Item = String>,
    ) -> Settings {
        let mut settings = Settings {
            config_path,
            accounts: Vec::new(),
            setup: None,
            identities: None,
            confirm_remove: None,
            theme,
            remote,
            trusted_senders: trusted_senders.into_iter().collect(),
            error: None,
        };
        settings.reload();
        settings
    }

    /// Rereads config.toml.
    pub fn reload(&mut self) {
        match Config::load(&self.config_path) {
            Ok(config) => self.accounts = config.accounts,
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    fn save_config(&self, edit: impl FnOnce(&mut Config)) -> Result<(), String> {
        let mut config = Config::load(&self.config_path).map_err(|e| e.to_string())?;
        edit(&mut config);
        config.save(&self.config_path).map_err(|e| e.to_string())
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::AddAccount => {
                self.setup = Some(Setup::new(self.config_path.clone(), false));
            }
            Message::EditAccount(id) => {
                if let Some(account) = self.accounts.iter().find(|a| a.id == id) {
                    self.setup = Some(Setup::edit(self.config_path.clone(), account));
                }
            }
            Message::Setup(message) => {
                let Some(form) = self.setup.as_mut() else {
                    return Action::None;
                };
                match form.update(message) {
                    setup::Action::None => {}
                    setup::Action::Run(task) => return Action::Run(task.map(Message::Setup)),
                    setup::Action::Cancel => self.setup = None,
                    setup::Action::AccountsChanged { .. } => {
                        self.setup = None;
                        self.reload();
                        return Action::AccountsChanged;
                    }
                }
            }
            Message::EditIdentities(id) => {
                if let Some(account) = self.accounts.iter().find(|a| a.id == id) {
                    self.identities = Some(IdentityEditor::new(account));
                }
            }
            Message::Identity(index, field) => {
                if let Some(form) = self
                    .identities
                    .as_mut()
                    .and_then(|e| e.identities.get_mut(index))
                {
                    match field {
                        IdentityField::Name(v) => form.name = v,
                        IdentityField::Email(v) => form.email = v,
                        IdentityField::ReplyTo(v) => form.reply_to = v,
                    }
                }
            }
            Message::Signature(index, action) => {
                if let Some(form) = self
                    .identities
                    .as_mut()
                    .and_then(|e| e.identities.get_mut(index))
                {
                    form.signature.perform(action);
                }
            }
            Message::AddIdentity => {
                if let Some(editor) = self.identities.as_mut() {
                    editor.identities.push(IdentityForm {
                        name: String::new(),
                        email: String::new(),
                        reply_to: String::new(),
                        signature: text_editor::Content::new(),
                    });
                }
            }
            Message::RemoveIdentity(index) => {
                if let Some(editor) = self.identities.as_mut()
                    && editor.identities.len() > 1
                    && index < editor.identities.len()
                {
                    editor.identities.remove(index);
                }
            }
            Message::SaveIdentities => {
                let Some(editor) = self.identities.as_mut() else {
                    return Action::None;
                };
                let identities = match editor.identities() {
                    Ok(i) => i,
                    Err(e) => {
                        editor.error = Some(e);
                        return Action::None;
                    }
                };
                let id = editor.account.clone();
                let saved = self.save_config(|config| {
                    if let Some(account) = config.accounts.iter_mut().find(|a| a.id == id) {
                        account.identities = identities;
                    }
                });
                match saved {
                    Ok(()) => {
                        self.identities = None;
                        self.reload();
                        return Action::AccountsChanged;
                    }
                    Err(e) => {
                        if let Some(editor) = self.identities.as_mut() {
                            editor.error = Some(e);
                        }
                    }
                }
            }
            Message::CancelIdentities => self.identities = None,
            Message::RemoveAccount(id) => self.confirm_remove = Some(id),
            Message::ConfirmRemove(false) => self.confirm_remove = None,
            Message::ConfirmRemove(true) => {
                let Some(id) = self.confirm_remove.take() else {
                    return Action::None;
                };
                let Some(account) = self.accounts.iter().find(|a| a.id == id).cloned() else {
                    return Action::None;
                };
                let path = self.config_path.clone();
                return Action::Run(Task::perform(
                    async move {
                        tokio::task::spawn_blocking(move || remove_account(&path, &account))
                            .await
                            .map_err(|e| e.to_string())?
                    },
                    Message::Removed,
                ));
            }
            Message::Removed(result) => match result {
                Ok(_) => {
                    self.error = None;
                    self.reload();
                    return Action::AccountsChanged;
                }
                Err(e) => self.error = Some(e),
            },
            Message::Theme(choice) => {
                self.theme = choice;
                return Action::Theme(choice);
            }
            Message::RemoteContent(policy) => {
                self.remote = policy;
                return Action::RemoteContent(policy);
            }
            Message::ForgetSender(sender) => {
                self.trusted_senders.retain(|s| *s != sender);
                return Action::ForgetSender(sender);
            }
            Message::Close => return Action::Close,
        }
        Action::None
    }

    pub fn view(&self) -> Element<'_, Message> {
        if let Some(form) = &self.setup {
            return form.view().map(Message::Setup);
        }
        if let Some(editor) = &self.identities {
            return page(self.identities_view(editor));
        }
        let mut col = column![
            row![
                text(tr("settings-title")).size(size::DISPLAY),
                Space::new().width(Length::Fill),
                button(text(tr("settings-done")).size(size::BODY))
                    .style(button::primary)
                    .padding([space::S, space::L])
                    .on_press(Message::Close),
            ]
            .align_y(Alignment::Center),
        ]
        .spacing(space::XL)
        .max_width(720);
        if let Some(error) = &self.error {
            col = col.push(text(error.clone()).size(size::BODY).style(danger));
        }
        col = col.push(self.accounts_view());
        col = col.push(self.appearance_view());
        col = col.push(self.privacy_view());
        page(col.into())
    }

    fn accounts_view(&self) -> Element<'_, Message> {
        let mut list = column![heading(tr("settings-accounts"))].spacing(space::M);
        if self.accounts.is_empty() {
            list = list.push(
                text(tr("settings-no-accounts"))
                    .size(size::BODY)
                    .style(muted),
            );
        }
        for account in &self.accounts {
            let (protocol, server) = match &account.incoming {
                Incoming::Imap(s) => ("IMAP", s),
                Incoming::Pop3(s) => ("POP3", s),
            };
            let name = if account.display_name.trim().is_empty() {
                account.email.clone()
            } else {
                format!("{} <{}>", account.display_name, account.email)
            };
            let details = format!("{protocol} · {}:{}", server.host, server.port);
            let confirming = self.confirm_remove.as_deref() == Some(account.id.as_str());
            let actions: Element<'_, Message> = if confirming {
                row![
                    text(tr("settings-remove-confirm"))
                        .size(size::SMALL)
                        .style(danger),
                    small_button(tr("settings-remove-yes"), button::danger)
                        .on_press(Message::ConfirmRemove(true)),
                    small_button(tr("settings-remove-no"), quiet_button)
                        .on_press(Message::ConfirmRemove(false)),
                ]
                .spacing(space::S)
                .align_y(Alignment::Center)
                .into()
            } else {
                row![
                    small_button(tr("settings-edit"), quiet_button)
                        .on_press(Message::EditAccount(account.id.clone())),
                    small_button(tr("settings-identities"), quiet_button)
                        .on_press(Message::EditIdentities(account.id.clone())),
                    small_button(tr("settings-remove"), quiet_button)
                        .on_press(Message::RemoveAccount(account.id.clone())),
                ]
                .spacing(space::S)
                .into()
            };
            list = list.push(
                container(
                    row![
                        column![
                            text(name).size(size::BODY),
                            text(details).size(size::CAPTION).style(muted),
                        ]
                        .spacing(space::XXS)
                        .width(Length::Fill),
                        actions,
                    ]
                    .spacing(space::M)
                    .align_y(Alignment::Center),
                )
                .padding(space::L)
                .width(Length::Fill)
                .style(theme::card),
            );
        }
        list = list.push(
            small_button(tr("settings-add-account"), quiet_button).on_press(Message::AddAccount),
        );
        list.into()
    }

    fn appearance_view(&self) -> Element<'_, Message> {
        let choice = |label: String, value, id: &'static str| {
            container(
                radio(label, value, Some(self.theme), Message::Theme)
                    .size(size::ICON)
                    .text_size(size::BODY),
            )
            .id(id)
        };
        column![
            heading(tr("settings-appearance")),
            row![
                choice(
                    tr("settings-theme-system"),
                    theme::Choice::System,
                    "theme-system"
                ),
                choice(
                    tr("settings-theme-light"),
                    theme::Choice::Light,
                    "theme-light"
                ),
                choice(tr("settings-theme-dark"), theme::Choice::Dark, "theme-dark"),
            ]
            .spacing(space::XXL),
        ]
        .spacing(space::M)
        .into()
    }

    fn privacy_view(&self) -> Element<'_, Message> {
        let choice = |label: String, value, id: &'static str| {
            container(
                radio(label, value, Some(self.remote), Message::RemoteContent)
                    .size(size::ICON)
                    .text_size(size::BODY),
            )
            .id(id)
        };
        let mut col = column![
            heading(tr("settings-privacy")),
            text(tr("settings-remote-intro"))
                .size(size::SMALL)
                .style(muted),
            choice(
                tr("settings-remote-never"),
                RemoteContent::Never,
                "remote-never"
            ),
            choice(tr("settings-remote-ask"), RemoteContent::Ask, "remote-ask"),
            choice(
                tr("settings-remote-trusted"),
                RemoteContent::TrustedSenders,
                "remote-trusted"
            ),
        ]
        .spacing(space::M);
        if self.remote == RemoteContent::TrustedSenders {
            if self.trusted_senders.is_empty() {
                col = col.push(
                    text(tr("settings-trusted-none"))
                        .size(size::SMALL)
                        .style(muted),
                );
            } else {
                let mut senders = column![].spacing(space::XS);
                for sender in &self.trusted_senders {
                    senders = senders.push(
                        row![
                            text(sender.clone()).size(size::BODY).width(Length::Fill),
                            small_button(tr("settings-trusted-forget"), quiet_button)
                                .on_press(Message::ForgetSender(sender.clone())),
                        ]
                        .align_y(Alignment::Center),
                    );
                }
                col = col.push(
                    container(senders)
                        .padding(space::L)
                        .width(Length::Fill)
                        .style(theme::card),
                );
            }
        }
        col.into()
    }
}

/// Removes an account from config.toml and its passwords from the keychain. Blocking.
/// Its mail stays in the local store (the engine no longer syncs it).
pub fn remove_account(config_path: &std::path::Path, account: &Account) -> Result<String, String> {
    let mut config = Config::load(config_path).map_err(|e| e.to_string())?;
    config.accounts.retain(|a| a.id != account.id);
    config.save(config_path).map_err(|e| e.to_string())?;
    let mut keys = vec![account.incoming_secret_key()];
    if let Some(outgoing) = &account.outgoing {
        keys.push(outgoing.secret_key(&account.id, "outgoing"));
    }
    for key in keys {
        // The account is gone either way; a password left behind is reported.
        secrets::delete_password(&key).map_err(|e| {
            tr_args(
                "settings-error-keychain",
                &[("reason", e.to_string().into())],
            )
        })?;
    }
    Ok(account.id.clone())
}

fn page(content: Element<'_, Message>) -> Element<'_, Message> {
    container(
        scrollable(
            container(content)
                .padding([space::XXL * 1.5, space::XXL])
                .center_x(Length::Fill),
        )
        .height(Length::Fill),
    )
    .width(Length::Fill)
    .height(Length::Fill)
    .style(theme::pane)
    .into()
}

fn heading<'a>(label: String) -> Element<'a, Message> {
    column![text(label).size(size::TITLE), rule::horizontal(1)]
        .spacing(space::S)
        .into()
}

fn small_button<'a>(
    label: String,
    style: fn(&iced::Theme, button::Status) -> button::Style,
) -> button::Button<'a, Message> {
    button(text(label).size(size::SMALL))
        .style(style)
        .padding([space::XS, space::M])
}

fn muted(t: &iced::Theme) -> text::Style {
    text::Style {
        color: Some(theme::colors(t).muted),
    }
}

fn danger(t: &iced::Theme) -> text::Style {
    text::Style {
        color: Some(theme::colors(t).danger),
    }
}

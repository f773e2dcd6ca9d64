//! The identities of one account being edited: name, address, reply-to and signature
//! each, checked before they are written to config.toml.

use super::{IdentityField, Message, Settings, danger, muted, small_button};
use crate::i18n::{tr, tr_args};
use crate::screen::setup::{quiet_button, text_area};
use crate::theme::{self, size, space};
use iced::widget::{Space, button, column, container, row, text, text_editor, text_input};
use iced::{Element, Length};
use tern_core::account::{Account, Identity};

/// One identity being edited.
pub struct IdentityForm {
    pub name: String,
    pub email: String,
    pub reply_to: String,
    pub signature: text_editor::Content,
}

/// The identities of one account being edited.
pub struct IdentityEditor {
    pub account: String,
    pub identities: Vec<IdentityForm>,
    pub error: Option<String>,
}

impl IdentityEditor {
    pub(super) fn new(account: &Account) -> IdentityEditor {
        let mut identities: Vec<IdentityForm> = account
            .identities
            .iter()
            .map(|i| IdentityForm {
                name: i.name.clone(),
                email: i.email.clone(),
                reply_to: i.reply_to.clone().unwrap_or_default(),
                signature: text_editor::Content::with_text(&i.signature),
            })
            .collect();
        if identities.is_empty() {
            identities.push(IdentityForm {
                name: account.display_name.clone(),
                email: account.email.clone(),
                reply_to: String::new(),
                signature: text_editor::Content::new(),
            });
        }
        IdentityEditor {
            account: account.id.clone(),
            identities,
            error: None,
        }
    }

    /// The identities as config.toml keeps them, or the sentence that says what is wrong.
    pub(super) fn identities(&self) -> Result<Vec<Identity>, String> {
        let mut out = Vec::new();
        for form in &self.identities {
            let email = form.email.trim();
            let valid = |s: &str| {
                !s.contains(char::is_whitespace)
                    && s.rsplit_once('@')
                        .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty())
            };
            if !valid(email) {
                return Err(tr_args(
                    "settings-identity-bad-email",
                    &[("email", email.to_owned().into())],
                ));
            }
            let reply_to = form.reply_to.trim();
            if !reply_to.is_empty() && !valid(reply_to) {
                return Err(tr_args(
                    "settings-identity-bad-email",
                    &[("email", reply_to.to_owned().into())],
                ));
            }
            if form.name.contains(['\r', '\n', '\0']) {
                return Err(tr("settings-identity-bad-name"));
            }
            // The editor ends its text with a line break; the signature does not need one.
            let signature = form.signature.text().trim_end().to_owned();
            out.push(Identity {
                name: form.name.trim().to_owned(),
                email: email.to_owned(),
                reply_to: (!reply_to.is_empty()).then(|| reply_to.to_owned()),
                signature,
            });
        }
        Ok(out)
    }
}

impl Settings {
    pub(super) fn identities_view<'a>(
        &'a self,
        editor: &'a IdentityEditor,
    ) -> Element<'a, Message> {
        let account = self
            .accounts
            .iter()
            .find(|a| a.id == editor.account)
            .map(|a| a.email.clone())
            .unwrap_or_default();
        let mut col = column![
            text(tr("settings-identities-title")).size(size::DISPLAY),
            text(tr_args(
                "settings-identities-intro",
                &[("account", account.into())]
            ))
            .size(size::BODY)
            .style(muted),
        ]
        .spacing(space::L)
        .max_width(720);
        let removable = editor.identities.len() > 1;
        for (i, form) in editor.identities.iter().enumerate() {
            let field = |label: String, id: String, value: &str, f: fn(String) -> IdentityField| {
                column![
                    text(label).size(size::SMALL).style(muted),
                    text_input("", value)
                        .id(id)
                        .size(size::BODY)
                        .padding([space::S, space::M])
                        .style(theme::search)
                        .on_input(move |v| Message::Identity(i, f(v))),
                ]
                .spacing(space::XS)
            };
            let mut card = column![
                row![
                    field(
                        tr("settings-identity-name"),
                        format!("identity-{i}-name"),
                        &form.name,
                        IdentityField::Name
                    )
                    .width(Length::Fill),
                    field(
                        tr("settings-identity-email"),
                        format!("identity-{i}-email"),
                        &form.email,
                        IdentityField::Email
                    )
                    .width(Length::Fill),
                ]
                .spacing(space::M),
                field(
                    tr("settings-identity-reply-to"),
                    format!("identity-{i}-reply-to"),
                    &form.reply_to,
                    IdentityField::ReplyTo
                ),
                column![
                    text(tr("settings-identity-signature"))
                        .size(size::SMALL)
                        .style(muted),
                    text_editor(&form.signature)
                        .id(format!("identity-{i}-signature"))
                        .size(size::BODY)
                        .height(96)
                        .padding(space::M)
                        .style(text_area)
                        .on_action(move |a| Message::Signature(i, a)),
                ]
                .spacing(space::XS),
            ]
            .spacing(space::M);
            if removable {
                card = card.push(
                    small_button(tr("settings-identity-remove"), quiet_button)
                        .on_press(Message::RemoveIdentity(i)),
                );
            }
            col = col.push(
                container(card)
                    .padding(space::L)
                    .width(Length::Fill)
                    .style(theme::card),
            );
        }
        if let Some(error) = &editor.error {
            col = col.push(text(error.clone()).size(size::BODY).style(danger));
        }
        col = col.push(
            row![
                small_button(tr("settings-identity-add"), quiet_button)
                    .on_press(Message::AddIdentity),
                Space::new().width(Length::Fill),
                small_button(tr("settings-cancel"), quiet_button)
                    .on_press(Message::CancelIdentities),
                small_button(tr("settings-save"), button::primary)
                    .on_press(Message::SaveIdentities),
            ]
            .spacing(space::M),
        );
        col.into()
    }
}

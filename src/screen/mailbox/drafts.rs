//! Drafts Tern is keeping: a message in an account's Drafts folder that is the server
//! copy of one of them offers "Edit draft", which opens it in a composer again. Drafts
//! saved only on this computer so far (no server copy yet, or none possible) are listed
//! at the top of their account's Drafts folder, each with the same button.

use super::format::{self, Dates};
use super::{Mailbox, Message};
use crate::i18n::tr;
use crate::theme::{self, size, space};
use crate::widget::icon::{self, Icon};
use iced::widget::{button, column, container, row, text};
use iced::{Alignment, Element, Length};
use tern_core::store::{DraftId, FolderRole, MessageId, MessageRow, StoredDraft};

/// A draft with no copy in the Drafts folder, as the folder lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalDraft {
    pub id: DraftId,
    pub subject: String,
    pub to: String,
    /// Unix seconds of the last save.
    pub updated: i64,
}

/// The fields a list line shows, read from the stored compose model; a draft that
/// cannot be read still gets a line (opening it will say what is wrong).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Fields {
    subject: String,
    to: String,
}

impl LocalDraft {
    fn from_stored(d: &StoredDraft) -> LocalDraft {
        let fields: Fields = serde_json::from_str(&d.compose).unwrap_or_default();
        LocalDraft {
            id: d.id,
            subject: fields.subject,
            to: fields.to,
            updated: d.updated / 1000,
        }
    }
}

impl Mailbox {
    /// The account whose Drafts folder the list shows, if it shows one.
    pub(super) fn drafts_account(&self) -> Option<String> {
        let folder = self.tree.folder(self.folder()?)?;
        (folder.role == Some(FolderRole::Drafts) && self.search.is_empty())
            .then(|| folder.account.clone())
    }

    /// The Tern draft message `id` is the server copy of, if it is one.
    pub(super) fn draft_of(&self, id: MessageId) -> Option<DraftId> {
        let row = self.read(|s| s.message(id)).ok().flatten()?;
        self.draft_of_row(&row)
    }

    /// The Tern draft `row` is the server copy of: a message of a Drafts folder whose
    /// Message-ID is that of a draft's last server copy.
    pub(super) fn draft_of_row(&self, row: &MessageRow) -> Option<DraftId> {
        let in_drafts = self
            .tree
            .folder(row.folder)
            .is_some_and(|f| f.role == Some(FolderRole::Drafts));
        let message_id = row.message_id.as_deref().filter(|_| in_drafts)?;
        match self.read(|s| s.drafts()) {
            Ok(drafts) => drafts
                .into_iter()
                .find(|d| d.server_message_id.as_deref() == Some(message_id))
                .map(|d| d.id),
            Err(e) => {
                tracing::warn!("drafts: {e}");
                None
            }
        }
    }

    /// Rereads the drafts shown at the top of a Drafts folder.
    pub(super) fn reload_local_drafts(&mut self) {
        let Some(account) = self.drafts_account() else {
            self.local_drafts.clear();
            return;
        };
        match self.read(|s| s.drafts()) {
            Ok(drafts) => {
                self.local_drafts = drafts
                    .iter()
                    .filter(|d| d.account == account && d.server_message_id.is_none())
                    .map(LocalDraft::from_stored)
                    .collect();
            }
            Err(e) => self.error(e),
        }
    }
}

fn muted(t: &iced::Theme) -> text::Style {
    text::Style {
        color: Some(theme::colors(t).muted),
    }
}

fn edit_button<'a>(draft: DraftId, id: String) -> Element<'a, Message> {
    container(
        button(
            row![
                icon::icon(Icon::Compose, size::CAPTION + 2.0),
                text(tr("draft-edit")).size(size::SMALL),
            ]
            .spacing(space::XS)
            .align_y(Alignment::Center),
        )
        .padding([space::XS, space::M])
        .style(iced::widget::button::primary)
        .on_press(Message::EditDraft(draft)),
    )
    .id(id)
    .into()
}

/// The bar above an open draft.
pub fn edit_bar<'a>(draft: DraftId) -> Element<'a, Message> {
    let bar = container(
        row![
            icon::tinted(Icon::Drafts, size::ICON, |c| c.muted),
            text(tr("draft-bar")).size(size::SMALL).width(Length::Fill),
            edit_button(draft, "edit-draft".into()),
        ]
        .spacing(space::M)
        .align_y(Alignment::Center),
    )
    .padding([space::S, space::L])
    .width(Length::Fill)
    .style(theme::notice);
    container(bar)
        .padding(iced::Padding {
            top: space::M,
            bottom: 0.0,
            left: space::L,
            right: space::L,
        })
        .into()
}

/// The drafts kept only here, above the Drafts folder's messages.
pub fn local_list<'a>(drafts: &'a [LocalDraft], dates: &'a Dates) -> Element<'a, Message> {
    let mut col = column![
        text(tr("drafts-local"))
            .size(size::CAPTION)
            .style(muted)
            .font(iced::Font {
                weight: iced::font::Weight::Bold,
                ..iced::Font::DEFAULT
            })
    ]
    .spacing(space::S);
    for d in drafts {
        let to = if d.to.trim().is_empty() {
            tr("draft-no-recipient")
        } else {
            d.to.clone()
        };
        col = col.push(
            row![
                column![
                    text(format::subject(&d.subject, 200)).size(size::BODY),
                    text(to).size(size::SMALL).style(muted),
                ]
                .spacing(space::XXS)
                .width(Length::Fill),
                text(dates.short(d.updated))
                    .size(size::CAPTION)
                    .style(muted),
                edit_button(d.id, format!("edit-draft-{}", d.id)),
            ]
            .spacing(space::M)
            .align_y(Alignment::Center),
        );
    }
    container(col)
        .padding([space::S, space::L])
        .width(Length::Fill)
        .style(theme::card)
        .into()
}

//! The Outbox: each message waiting to go, with its state and, if it failed, why; and
//! what the user can do about it: send a refused or "may have been sent" message again,
//! or delete one that is not being sent. Both ask first where a mistake would hurt: a
//! message that may already have arrived, and a message that would be lost.

use super::format::{self, Dates};
use super::{Action, Mailbox};
use crate::i18n::tr;
use crate::theme::{self, size, space};
use crate::widget::icon::{self, Icon};
use iced::widget::{Space, button, center, column, container, row, scrollable, text};
use iced::{Alignment, Element, Length};
use tern_core::engine::Command;
use tern_core::store::{OutboxId, OutboxItem, OutboxState};

/// What the user does in the Outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    SendAgain(OutboxId),
    Delete(OutboxId),
    /// Yes to the question asked.
    Confirm,
    Cancel,
    /// Take the message back as a draft and open it in a composer, to fix and send again.
    Edit(OutboxId),
}

/// A question waiting for the user's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ask {
    /// "This message may already have been sent. Send it again?"
    SendAgain(OutboxId),
    /// "Delete this message without sending it?"
    Delete(OutboxId),
}

impl Ask {
    fn item(self) -> OutboxId {
        match self {
            Ask::SendAgain(id) | Ask::Delete(id) => id,
        }
    }
}

/// States in which the engine takes the message back for another try.
fn can_send_again(state: OutboxState) -> bool {
    matches!(state, OutboxState::Failed | OutboxState::MaybeSent)
}

/// States in which the message is not on its way: it can be deleted. (An accepted one is
/// sent; only its Sent copy is still to be filed, which must not be lost.)
fn can_delete(state: OutboxState) -> bool {
    matches!(
        state,
        OutboxState::Queued | OutboxState::Failed | OutboxState::MaybeSent
    )
}

impl Mailbox {
    pub(super) fn outbox_message(&mut self, message: Message) -> Action {
        let state = |m: &Mailbox, id| m.outbox.iter().find(|i| i.id == id).map(|i| i.state);
        match message {
            Message::SendAgain(id) => match state(self, id) {
                Some(OutboxState::MaybeSent) => self.outbox_ask = Some(Ask::SendAgain(id)),
                Some(s) if can_send_again(s) => self.send_again(id),
                _ => {}
            },
            Message::Delete(id) => {
                if state(self, id).is_some_and(can_delete) {
                    self.outbox_ask = Some(Ask::Delete(id));
                }
            }
            Message::Confirm => match self.outbox_ask.take() {
                Some(Ask::SendAgain(id)) => self.send_again(id),
                Some(Ask::Delete(id)) => {
                    self.engine.send(Command::DiscardOutgoing(id));
                    // Gone at once; the engine's news rereads the Outbox.
                    self.outbox.retain(|i| i.id != id);
                }
                None => {}
            },
            Message::Cancel => self.outbox_ask = None,
            // The engine turns it into a draft and says so; the app opens the composer.
            Message::Edit(id) => {
                if state(self, id).is_some_and(can_send_again) {
                    self.engine.send(Command::EditOutgoing { id });
                    self.outbox.retain(|i| i.id != id);
                }
            }
        }
        Action::None
    }

    fn send_again(&mut self, id: OutboxId) {
        self.engine.send(Command::RetryOutgoing(id));
        if let Some(item) = self.outbox.iter_mut().find(|i| i.id == id) {
            item.state = OutboxState::Queued;
        }
    }
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

/// A small bordered button with an icon and a label.
fn action<'a>(glyph: Icon, label: String, id: String, on_press: Message) -> Element<'a, Message> {
    let b = button(
        row![
            icon::icon(glyph, size::CAPTION + 2.0),
            text(label).size(size::SMALL)
        ]
        .spacing(space::XS)
        .align_y(Alignment::Center),
    )
    .padding([space::XS, space::M])
    .style(|t: &iced::Theme, status| {
        let mut style = theme::tool(t, status);
        style.border.width = 1.0;
        style.border.color = theme::colors(t).border;
        style
    })
    .on_press(on_press);
    container(b).id(id).into()
}

/// The buttons of one item.
fn actions<'a>(item: &OutboxItem) -> Element<'a, Message> {
    let mut line = row![].spacing(space::S).align_y(Alignment::Center);
    if can_send_again(item.state) {
        line = line.push(action(
            Icon::Compose,
            tr("outbox-edit"),
            format!("outbox-edit-{}", item.id),
            Message::Edit(item.id),
        ));
        line = line.push(action(
            Icon::Refresh,
            tr("outbox-send-again"),
            format!("outbox-send-again-{}", item.id),
            Message::SendAgain(item.id),
        ));
    }
    if can_delete(item.state) {
        line = line.push(action(
            Icon::Trash,
            tr("outbox-delete"),
            format!("outbox-delete-{}", item.id),
            Message::Delete(item.id),
        ));
    }
    line.into()
}

/// The question under an item, with its answers.
fn question<'a>(ask: Ask) -> Element<'a, Message> {
    let (words, yes) = match ask {
        Ask::SendAgain(_) => (tr("outbox-confirm-maybe-sent"), tr("outbox-send-again")),
        Ask::Delete(_) => (tr("outbox-confirm-delete"), tr("outbox-delete")),
    };
    let confirm = button(text(yes).size(size::SMALL))
        .padding([space::XS, space::M])
        .style(move |t: &iced::Theme, status| match ask {
            Ask::Delete(_) => button::danger(t, status),
            Ask::SendAgain(_) => button::primary(t, status),
        })
        .on_press(Message::Confirm);
    let cancel = button(text(tr("outbox-cancel")).size(size::SMALL))
        .padding([space::XS, space::M])
        .style(theme::tool)
        .on_press(Message::Cancel);
    container(
        row![
            icon::tinted(Icon::Warning, size::ICON, |c| c.warning),
            text(words).size(size::SMALL).width(Length::Fill),
            container(confirm).id("outbox-confirm"),
            cancel,
        ]
        .spacing(space::M)
        .align_y(Alignment::Center),
    )
    .padding([space::S, space::M])
    .width(Length::Fill)
    .style(theme::notice)
    .into()
}

/// The Outbox list.
pub fn view<'a>(
    items: &'a [OutboxItem],
    dates: &'a Dates,
    ask: Option<Ask>,
) -> Element<'a, Message> {
    if items.is_empty() {
        return center(text(tr("outbox-empty")).size(size::BODY).style(muted)).into();
    }
    let mut col = column![].spacing(space::XXS);
    for item in items {
        let state = tr(match item.state {
            OutboxState::Queued => "outbox-queued",
            OutboxState::Submitting | OutboxState::Finishing => "outbox-sending",
            OutboxState::Accepted => "outbox-sent",
            OutboxState::Failed => "outbox-failed",
            OutboxState::MaybeSent => "outbox-maybe-sent",
        });
        let failed = can_send_again(item.state);
        let mut lines = column![
            row![
                text(format::subject(&item.subject, 200))
                    .size(size::BODY)
                    .width(Length::Fill),
                text(dates.short(item.created))
                    .size(size::CAPTION)
                    .style(muted),
            ]
            .spacing(space::M),
            row![
                text(item.envelope.to.join(", "))
                    .size(size::SMALL)
                    .style(muted)
                    .width(Length::Fill),
                text(state)
                    .size(size::CAPTION)
                    .style(if failed { danger } else { muted }),
            ]
            .spacing(space::M),
        ]
        .spacing(space::XS);
        if let Some(error) = &item.last_error {
            lines = lines.push(text(error.clone()).size(size::CAPTION).style(danger));
        }
        match ask.filter(|a| a.item() == item.id) {
            Some(ask) => lines = lines.push(question(ask)),
            None if can_send_again(item.state) || can_delete(item.state) => {
                lines = lines.push(row![Space::new().width(Length::Fill), actions(item)]);
            }
            None => {}
        }
        col = col.push(
            container(lines)
                .padding([space::S, space::L])
                .width(Length::Fill),
        );
    }
    scrollable(col).height(Length::Fill).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_messages_not_on_their_way_offer_actions() {
        assert!(can_send_again(OutboxState::Failed));
        assert!(can_send_again(OutboxState::MaybeSent));
        assert!(!can_send_again(OutboxState::Submitting));
        assert!(can_delete(OutboxState::Queued));
        assert!(!can_delete(OutboxState::Finishing));
        assert!(!can_delete(OutboxState::Accepted));
    }
}

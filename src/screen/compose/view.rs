//! How the composer looks: the toolbar, the fields, the attachments, the text, and the
//! question asked when closing with unsaved changes.

use super::{BCC_ID, BODY_ID, CC_ID, SUBJECT_ID, TO_ID};
use super::{CloseChoice, Compose, DraftState, Field, Message, address_field};
use crate::i18n::{tr, tr_args};
use crate::screen::mailbox::format;
use crate::screen::setup::{field_menu, quiet_button, text_area};
use crate::theme::{self, size, space};
use crate::widget::icon::{self, Icon};
use crate::widget::shortcuts::shortcuts;
use iced::keyboard::{Key, key::Named};
use iced::widget::text_editor::{Binding, KeyPress};
use iced::widget::{
    Space, button, center, column, container, opaque, pick_list, row, stack, text, text_input,
};
use iced::{Alignment, Element, Length};

impl Compose {
    pub fn view(&self) -> Element<'_, Message> {
        let suggestions = |field: Field| {
            self.completion
                .as_ref()
                .filter(|c| c.field == field)
                .map(|c| c.suggestions.as_slice())
        };
        let from = row![
            label(tr("compose-from")),
            pick_list(self.identities.clone(), self.from.clone(), Message::From)
                .text_size(size::BODY)
                .padding([space::S, space::M])
                .width(Length::Fill)
                .style(field_menu),
        ]
        .spacing(space::M)
        .align_y(Alignment::Center);
        let mut to_row = row![
            container(address_field::view(
                tr("compose-to"),
                TO_ID,
                &self.to,
                |v| Message::Edit(Field::To, v),
                Message::Submit(Field::To),
                suggestions(Field::To),
                |a| Message::Complete(Field::To, a),
            ))
            .width(Length::Fill),
        ]
        .spacing(space::S);
        if !self.show_copies {
            to_row = to_row.push(
                button(text(tr("compose-show-copies")).size(size::SMALL))
                    .style(theme::link)
                    .padding([space::S, space::XS])
                    .on_press(Message::ShowCopies),
            );
        }
        let mut fields = column![from, to_row].spacing(space::S);
        if self.show_copies {
            fields = fields
                .push(address_field::view(
                    tr("compose-cc"),
                    CC_ID,
                    &self.cc,
                    |v| Message::Edit(Field::Cc, v),
                    Message::Submit(Field::Cc),
                    suggestions(Field::Cc),
                    |a| Message::Complete(Field::Cc, a),
                ))
                .push(address_field::view(
                    tr("compose-bcc"),
                    BCC_ID,
                    &self.bcc,
                    |v| Message::Edit(Field::Bcc, v),
                    Message::Submit(Field::Bcc),
                    suggestions(Field::Bcc),
                    |a| Message::Complete(Field::Bcc, a),
                ));
        }
        fields = fields.push(
            row![
                label(tr("compose-subject")),
                text_input("", &self.subject)
                    .id(SUBJECT_ID)
                    .size(size::BODY)
                    .padding([space::S, space::M])
                    .style(theme::search)
                    .on_input(|v| Message::Edit(Field::Subject, v))
                    .on_submit(Message::Submit(Field::Subject)),
            ]
            .spacing(space::M)
            .align_y(Alignment::Center),
        );
        if !self.attachments.is_empty() || self.original.is_some() {
            fields = fields.push(self.attachments_view());
        }

        let editor: Element<'_, Message> = if self.pending.is_some() {
            center(
                text(tr("compose-loading-original"))
                    .size(size::BODY)
                    .style(muted),
            )
            .into()
        } else {
            iced::widget::TextEditor::new(&self.body)
                .id(BODY_ID)
                .size(size::BODY)
                .padding(space::L)
                .height(Length::Fill)
                .style(text_area)
                .key_binding(|press: KeyPress| {
                    let enter = matches!(press.key.as_ref(), Key::Named(Named::Enter));
                    if enter && press.modifiers.command() {
                        Some(Binding::Custom(Message::Send))
                    } else {
                        Binding::from_key_press(press)
                    }
                })
                .on_action(Message::Body)
                .into()
        };

        let mut page = column![
            self.toolbar(),
            container(fields).padding([space::M, space::L]),
        ];
        if let Some(error) = &self.error {
            page = page.push(
                container(text(error.clone()).size(size::SMALL).style(danger))
                    .padding([space::XS, space::L]),
            );
        }
        page = page.push(
            container(editor)
                .padding([0.0, space::L])
                .height(Length::Fill),
        );
        page = page.push(Space::new().height(space::L));
        let page = container(page)
            .width(Length::Fill)
            .height(Length::Fill)
            .style(theme::pane);
        let content: Element<'_, Message> = if self.confirm_close {
            stack![page, self.confirm_view()].into()
        } else {
            page.into()
        };
        shortcuts(content, Compose::key)
            .on_modifiers(Message::Modifiers)
            .into()
    }

    fn toolbar(&self) -> Element<'_, Message> {
        let status = match &self.draft_state {
            DraftState::Unsaved if self.revision == 0 => String::new(),
            DraftState::Unsaved => tr("compose-draft-unsaved"),
            DraftState::Saving => tr("compose-draft-saving"),
            DraftState::Saved => tr("compose-draft-saved"),
            DraftState::Failed(reason) => {
                tr_args("compose-draft-failed", &[("reason", reason.clone().into())])
            }
        };
        let failed = matches!(self.draft_state, DraftState::Failed(_));
        let ready = self.pending.is_none();
        container(
            row![
                button(
                    row![
                        icon::icon(Icon::Attachment, size::ICON),
                        text(tr("compose-attach")).size(size::BODY)
                    ]
                    .spacing(space::XS)
                    .align_y(Alignment::Center)
                )
                .style(theme::tool)
                .padding([space::S, space::M])
                .on_press(Message::Attach),
                Space::new().width(Length::Fill),
                text(status)
                    .size(size::SMALL)
                    .style(if failed { danger } else { muted }),
                button(text(tr("compose-save-draft")).size(size::BODY))
                    .style(quiet_button)
                    .padding([space::S, space::L])
                    .on_press_maybe(ready.then_some(Message::SaveDraft)),
                button(text(tr("compose-send")).size(size::BODY))
                    .style(button::primary)
                    .padding([space::S, space::XL])
                    .on_press_maybe(ready.then_some(Message::Send)),
            ]
            .spacing(space::M)
            .align_y(Alignment::Center),
        )
        .padding([space::S, space::L])
        .width(Length::Fill)
        .style(theme::sidebar)
        .into()
    }

    fn attachments_view(&self) -> Element<'_, Message> {
        let mut chips = row![].spacing(space::S).align_y(Alignment::Center);
        for (i, a) in self.attachments.iter().enumerate() {
            chips = chips.push(
                container(
                    row![
                        icon::tinted(Icon::Attachment, size::ICON, |c| c.muted),
                        text(a.name.clone()).size(size::SMALL),
                        text(format::size(a.data.len() as u64))
                            .size(size::CAPTION)
                            .style(muted),
                        button(icon::tinted(Icon::Close, size::ICON - 4.0, |c| c.muted))
                            .style(theme::tool)
                            .padding(space::XXS)
                            .on_press(Message::RemoveAttachment(i)),
                    ]
                    .spacing(space::XS)
                    .align_y(Alignment::Center),
                )
                .padding([space::XXS, space::S])
                .style(theme::card),
            );
        }
        let mut line = row![label(tr("compose-attachments")), chips.wrap()]
            .spacing(space::M)
            .align_y(Alignment::Center);
        if self.original.is_some() {
            line = line.push(
                iced::widget::checkbox(self.base.forwarded.is_some())
                    .label(tr("compose-attach-original"))
                    .text_size(size::SMALL)
                    .on_toggle(Message::AttachOriginal),
            );
        }
        line.into()
    }

    fn confirm_view(&self) -> Element<'_, Message> {
        let card = container(
            column![
                text(tr("compose-close-title")).size(size::SUBTITLE),
                text(tr("compose-close-body")).size(size::BODY).style(muted),
                row![
                    container(
                        button(text(tr("compose-close-keep")).size(size::BODY))
                            .style(quiet_button)
                            .padding([space::S, space::L])
                            .on_press(Message::Close(CloseChoice::KeepWriting))
                    )
                    .id("close-keep"),
                    Space::new().width(Length::Fill),
                    container(
                        button(text(tr("compose-close-discard")).size(size::BODY))
                            .style(button::danger)
                            .padding([space::S, space::L])
                            .on_press(Message::Close(CloseChoice::Discard))
                    )
                    .id("close-discard"),
                    container(
                        button(text(tr("compose-close-save")).size(size::BODY))
                            .style(button::primary)
                            .padding([space::S, space::L])
                            .on_press(Message::Close(CloseChoice::SaveDraft))
                    )
                    .id("close-save"),
                ]
                .spacing(space::M),
            ]
            .spacing(space::L),
        )
        .padding(space::XL)
        .width(480)
        .style(theme::card);
        opaque(center(card).style(|t: &iced::Theme| {
            container::Style {
                background: Some(
                    iced::Color {
                        a: 0.45,
                        ..theme::colors(t).background
                    }
                    .into(),
                ),
                ..container::Style::default()
            }
        }))
    }
}

fn label<'a>(s: String) -> Element<'a, Message> {
    text(s)
        .size(size::SMALL)
        .width(Length::Fixed(64.0))
        .style(muted)
        .into()
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

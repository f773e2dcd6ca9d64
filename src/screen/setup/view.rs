//! How the setup form looks: the account fields, a card per server, the test results
//! with what can be done about them, and the buttons. Also the field styles the other
//! forms (settings, composer) share.

use super::{Message, Secret, SecurityChoice, Setup, Side, Tested, describe, fingerprint_text};
use crate::i18n::{tr, tr_args};
use crate::theme::{self, size, space};
use iced::widget::{
    Space, button, checkbox, column, container, pick_list, radio, row, scrollable, text,
    text_editor, text_input,
};
use iced::{Alignment, Element, Length};
use tern_core::account::Security;
use tern_core::setup::{Outcome, Protocol};

impl Setup {
    pub fn view(&self) -> Element<'_, Message> {
        let (title, intro) = match (self.first_run, self.is_edit()) {
            (true, _) => (tr("setup-title-first"), tr("setup-intro-first")),
            (false, true) => (tr("setup-title-edit"), tr("setup-intro-edit")),
            (false, false) => (tr("setup-title-add"), tr("setup-intro-add")),
        };
        let password_hint = if self.is_edit() {
            tr("setup-password-keep")
        } else {
            String::new()
        };
        let mut page = column![
            text(title).size(size::DISPLAY),
            text(intro).size(size::BODY).style(muted),
            labeled(
                tr("setup-name"),
                input("setup-name", &tr("setup-name-placeholder"), &self.name)
                    .on_input(Message::Name)
            ),
            labeled(
                tr("setup-email"),
                input("setup-email", &tr("setup-email-placeholder"), &self.email)
                    .on_input(Message::Email)
            ),
            labeled(
                tr("setup-password"),
                input("setup-password", &password_hint, &self.password.0)
                    .secure(true)
                    .on_input(|p| Message::Password(Secret(p)))
                    .on_submit(Message::Test)
            ),
            labeled(
                tr("setup-protocol"),
                column![
                    container(
                        radio(
                            tr("setup-protocol-imap"),
                            Protocol::Imap,
                            Some(self.protocol),
                            Message::Protocol
                        )
                        .size(size::ICON)
                        .text_size(size::BODY)
                    )
                    .id("setup-imap"),
                    container(
                        radio(
                            tr("setup-protocol-pop3"),
                            Protocol::Pop3,
                            Some(self.protocol),
                            Message::Protocol
                        )
                        .size(size::ICON)
                        .text_size(size::BODY)
                    )
                    .id("setup-pop3"),
                ]
                .spacing(space::S)
            ),
            self.server_section(Side::Incoming),
            self.server_section(Side::Outgoing),
        ]
        .spacing(space::L)
        .max_width(640);

        if let Some(error) = &self.error {
            page = page.push(text(error.clone()).size(size::BODY).style(danger));
        }
        if self.testing {
            page = page.push(text(tr("setup-testing")).size(size::BODY).style(muted));
        }
        if let Some(tested) = &self.tested {
            page = page.push(self.results(tested));
        }

        let busy = self.testing || self.saving;
        let mut buttons = row![].spacing(space::M).align_y(Alignment::Center);
        if !self.first_run {
            buttons = buttons.push(
                button(text(tr("setup-cancel")).size(size::BODY))
                    .style(quiet_button)
                    .padding([space::S, space::L])
                    .on_press(Message::Cancel),
            );
        }
        buttons = buttons.push(Space::new().width(Length::Fill));
        buttons = buttons.push(
            button(text(tr("setup-test")).size(size::BODY))
                .style(quiet_button)
                .padding([space::S, space::L])
                .on_press_maybe((!busy).then_some(Message::Test)),
        );
        let save_label = if self.saving {
            tr("setup-saving")
        } else {
            tr("setup-save")
        };
        buttons = buttons.push(
            button(text(save_label).size(size::BODY))
                .style(button::primary)
                .padding([space::S, space::L])
                .on_press_maybe((!busy).then_some(Message::Save)),
        );
        page = page.push(buttons);

        container(
            scrollable(
                container(page)
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

    fn server_section(&self, side: Side) -> Element<'_, Message> {
        let (form, heading, prefix) = match side {
            Side::Incoming => (
                &self.incoming,
                tr(match self.protocol {
                    Protocol::Pop3 => "setup-incoming-pop3",
                    _ => "setup-incoming-imap",
                }),
                "setup-in",
            ),
            Side::Outgoing => (&self.outgoing, tr("setup-outgoing"), "setup-out"),
        };
        let host = labeled(
            tr("setup-host"),
            input(
                format!("{prefix}-host"),
                &tr("setup-host-placeholder"),
                &form.host,
            )
            .on_input(move |h| Message::Host(side, h)),
        );
        let port = labeled(
            tr("setup-port"),
            input(format!("{prefix}-port"), "", &form.port)
                .on_input(move |p| Message::Port(side, p)),
        );
        let security = labeled(
            tr("setup-security"),
            pick_list(
                SecurityChoice::ALL.to_vec(),
                Some(SecurityChoice(form.security)),
                move |c| Message::Security(side, c),
            )
            .text_size(size::BODY)
            .padding([space::S, space::M])
            .width(Length::Fill)
            .style(field_menu),
        );
        let login = labeled(
            tr("setup-login"),
            input(
                format!("{prefix}-login"),
                &tr("setup-login-placeholder"),
                &form.login,
            )
            .on_input(move |l| Message::Login(side, l)),
        );
        let mut body = column![
            row![
                container(host).width(Length::FillPortion(3)),
                container(port).width(Length::FillPortion(1)),
            ]
            .spacing(space::M),
            row![
                container(security).width(Length::FillPortion(2)),
                container(login).width(Length::FillPortion(2)),
            ]
            .spacing(space::M),
        ]
        .spacing(space::M);
        if form.security == Security::Plaintext {
            body = body.push(
                checkbox(form.plaintext_acknowledged)
                    .label(tr("setup-plaintext-agree"))
                    .text_size(size::SMALL)
                    .on_toggle(move |b| Message::AllowPlaintext(side, b)),
            );
        }
        if let Some(pin) = &form.pinned_cert_sha256 {
            body = body.push(
                text(tr_args(
                    "setup-pinned",
                    &[("fingerprint", fingerprint_text(pin).into())],
                ))
                .size(size::CAPTION)
                .style(muted),
            );
        }
        container(column![text(heading).size(size::SUBTITLE), body].spacing(space::M))
            .padding(space::L)
            .width(Length::Fill)
            .style(theme::card)
            .into()
    }

    fn results(&self, tested: &Tested) -> Element<'_, Message> {
        let line = |side: Side, outcome: &Outcome| -> Element<'_, Message> {
            let (label, form) = match side {
                Side::Incoming => (
                    tr(match self.protocol {
                        Protocol::Pop3 => "setup-incoming-pop3",
                        _ => "setup-incoming-imap",
                    }),
                    &self.incoming,
                ),
                Side::Outgoing => (tr("setup-outgoing"), &self.outgoing),
            };
            let sentence = describe(outcome, form);
            let mut col = column![
                text(label).size(size::SMALL).style(muted),
                text(sentence).size(size::BODY).style(if outcome.is_ok() {
                    success
                } else {
                    danger
                }),
            ]
            .spacing(space::XXS);
            match outcome {
                Outcome::CertificateNotTrusted { fingerprint, .. } => {
                    col = col.push(
                        button(text(tr("setup-cert-trust")).size(size::SMALL))
                            .style(quiet_button)
                            .padding([space::XS, space::M])
                            .on_press(Message::Trust(side, fingerprint.clone())),
                    );
                }
                Outcome::CertificateChanged { presented, .. } => {
                    col = col.push(
                        button(text(tr("setup-cert-trust-new")).size(size::SMALL))
                            .style(button::danger)
                            .padding([space::XS, space::M])
                            .on_press(Message::Trust(side, presented.clone())),
                    );
                }
                Outcome::PlaintextNotAllowed => {
                    col = col.push(
                        checkbox(form.plaintext_acknowledged)
                            .label(tr("setup-plaintext-agree"))
                            .text_size(size::SMALL)
                            .on_toggle(move |b| Message::AllowPlaintext(side, b)),
                    );
                }
                _ => {}
            }
            col.into()
        };
        container(
            column![
                line(Side::Incoming, &tested.incoming),
                line(Side::Outgoing, &tested.outgoing)
            ]
            .spacing(space::L),
        )
        .padding(space::L)
        .width(Length::Fill)
        .style(theme::card)
        .into()
    }
}

fn input<'a>(
    id: impl Into<iced::widget::Id>,
    placeholder: &str,
    value: &str,
) -> iced::widget::TextInput<'a, Message> {
    text_input(placeholder, value)
        .id(id)
        .size(size::BODY)
        .padding([space::S, space::M])
        .style(theme::search)
}

fn labeled<'a>(label: String, field: impl Into<Element<'a, Message>>) -> Element<'a, Message> {
    column![text(label).size(size::SMALL).style(muted), field.into()]
        .spacing(space::XS)
        .into()
}

/// A button for actions beside the main one: the page's background with a border, so
/// the main action (iced's primary style) stands out.
pub(crate) fn quiet_button(t: &iced::Theme, status: button::Status) -> button::Style {
    let c = theme::colors(t);
    let (background, border) = match status {
        button::Status::Hovered | button::Status::Pressed => (c.hover, c.accent),
        _ => (c.background, c.border),
    };
    button::Style {
        background: Some(background.into()),
        text_color: if status == button::Status::Disabled {
            c.muted.scale_alpha(0.6)
        } else {
            c.text
        },
        border: iced::Border {
            radius: 4.0.into(),
            width: 1.0,
            color: border,
        },
        ..button::Style::default()
    }
}

/// A multi-line text field (the message, a signature), drawn like the one-line ones.
pub(crate) fn text_area(t: &iced::Theme, status: text_editor::Status) -> text_editor::Style {
    let c = theme::colors(t);
    let mut style = text_editor::default(t, status);
    style.background = c.background.into();
    style.selection = c.selection;
    style.border = iced::Border {
        radius: 6.0.into(),
        width: 1.0,
        color: match status {
            text_editor::Status::Focused { .. } => c.accent,
            _ => c.border,
        },
    };
    style
}

/// A menu among text fields, drawn like them.
pub(crate) fn field_menu(t: &iced::Theme, status: pick_list::Status) -> pick_list::Style {
    let c = theme::colors(t);
    let mut style = pick_list::default(t, status);
    style.background = c.background.into();
    style.text_color = c.text;
    style.handle_color = c.muted;
    style.border = iced::Border {
        radius: 6.0.into(),
        width: 1.0,
        color: match status {
            pick_list::Status::Hovered | pick_list::Status::Opened { .. } => c.accent,
            pick_list::Status::Active => c.border,
        },
    };
    style
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

fn success(t: &iced::Theme) -> text::Style {
    text::Style {
        color: Some(theme::colors(t).success),
    }
}

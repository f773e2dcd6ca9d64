//! What a profile with no account shows: where the profile is, and that an account is
//! needed (account setup is its own screen).

use crate::i18n::{tr, tr_args};
use crate::theme::{self, size, space};
use iced::widget::{button, center, column, container, text};
use iced::{Element, Length};

/// The welcome page; `error` is why the engine could not start, if it could not;
/// `setup` starts account setup.
pub fn view<'a, Message: Clone + 'a>(
    profile_dir: &str,
    error: Option<&str>,
    setup: Message,
) -> Element<'a, Message> {
    let mut col = column![text(tr("welcome-title")).size(size::DISPLAY)].spacing(space::L);
    match error {
        Some(reason) => {
            col = col.push(
                text(tr_args(
                    "error-engine",
                    &[("reason", reason.to_string().into())],
                ))
                .size(size::BODY)
                .style(|t: &iced::Theme| text::Style {
                    color: Some(theme::colors(t).danger),
                }),
            );
        }
        None => {
            col = col.push(text(tr("welcome-no-accounts")).size(size::BODY));
            col = col.push(
                button(text(tr("welcome-setup")).size(size::BODY))
                    .padding([space::S, space::XL])
                    .style(button::primary)
                    .on_press(setup),
            );
        }
    }
    col = col.push(
        text(tr_args(
            "welcome-profile",
            &[("path", profile_dir.to_string().into())],
        ))
        .size(size::SMALL)
        .style(|t: &iced::Theme| text::Style {
            color: Some(theme::colors(t).muted),
        }),
    );
    container(center(col.max_width(560)))
        .width(Length::Fill)
        .height(Length::Fill)
        .style(theme::pane)
        .into()
}

//! An address list field (To, Cc, Bcc) with completion: as the user types an address,
//! the addresses of mail already seen that match the part being typed are listed under
//! the field; a click (or Enter, for the first) puts one in its place.
//!
//! The text is what the user typed (`Ann <a@x>, b@y`); the composer parses it when the
//! message is built. Only the part after the last separator outside quotes is completed.

use crate::theme::{self, size, space};
use iced::widget::{button, column, container, row, text, text_input};
use iced::{Alignment, Element, Length};
use tern_core::compose::format_address;
use tern_core::store::Address;

/// Byte offset where the address being typed starts: after the last `,` or `;` that is
/// not inside a quoted display name.
fn token_start(value: &str) -> usize {
    let mut quoted = false;
    let mut escaped = false;
    let mut start = 0;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' | ';' if !quoted => start = i + c.len_utf8(),
            _ => {}
        }
    }
    start
}

/// The address being typed (the text after the last separator), trimmed.
pub fn current_token(value: &str) -> &str {
    value[token_start(value)..].trim()
}

/// `value` with the address being typed replaced by `address`, and a separator after it
/// so the user can type the next one.
pub fn complete(value: &str, address: &Address) -> String {
    let head = value[..token_start(value)].trim_end();
    let formatted = format_address(address.name.as_deref(), &address.email);
    if head.is_empty() {
        format!("{formatted}, ")
    } else {
        format!("{head} {formatted}, ")
    }
}

/// The addresses already in the list, lower-cased (leniently: whatever sits in `<>`, or a
/// bare word with an `@`), so suggestions can leave them out.
pub fn listed(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = value;
    loop {
        let start = token_start(rest);
        let part = rest[start..].trim();
        let email = match (part.rfind('<'), part.rfind('>')) {
            (Some(open), Some(close)) if open < close => &part[open + 1..close],
            _ => part,
        };
        if email.contains('@') {
            out.push(email.trim().to_lowercase());
        }
        if start == 0 {
            break;
        }
        // Drop the separator and look at what came before it.
        rest = &rest[..start - 1];
    }
    out
}

/// An address field with its label and, when given, the suggestions under it.
pub fn view<'a, Message: Clone + 'a>(
    label: String,
    id: &'static str,
    value: &'a str,
    on_input: impl Fn(String) -> Message + 'a,
    on_submit: Message,
    suggestions: Option<&'a [Address]>,
    on_pick: impl Fn(Address) -> Message + 'a,
) -> Element<'a, Message> {
    let field = row![
        text(label)
            .size(size::SMALL)
            .width(Length::Fixed(64.0))
            .style(|t: &iced::Theme| text::Style {
                color: Some(theme::colors(t).muted),
            }),
        text_input("", value)
            .id(id)
            .size(size::BODY)
            .padding([space::S, space::M])
            .style(theme::search)
            .on_input(on_input)
            .on_submit(on_submit),
    ]
    .spacing(space::M)
    .align_y(Alignment::Center);
    let Some(suggestions) = suggestions.filter(|s| !s.is_empty()) else {
        return field.into();
    };
    let mut list = column![].spacing(space::XXS);
    for (i, address) in suggestions.iter().enumerate() {
        let name = address.name.clone().unwrap_or_default();
        let line = row![
            text(name).size(size::BODY),
            text(address.email.clone())
                .size(size::SMALL)
                .style(|t: &iced::Theme| text::Style {
                    color: Some(theme::colors(t).muted),
                }),
        ]
        .spacing(space::M)
        .align_y(Alignment::Center);
        list = list.push(
            container(
                button(line)
                    .width(Length::Fill)
                    .padding([space::XS, space::M])
                    .style(theme::row(i == 0))
                    .on_press(on_pick(address.clone())),
            )
            .id(format!("suggestion-{i}")),
        );
    }
    column![
        field,
        row![
            iced::widget::Space::new().width(Length::Fixed(64.0 + space::M)),
            container(list)
                .padding(space::XS)
                .width(Length::Fill)
                .style(theme::card),
        ]
    ]
    .spacing(space::XXS)
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(name: Option<&str>, email: &str) -> Address {
        Address {
            name: name.map(str::to_owned),
            email: email.to_owned(),
        }
    }

    #[test]
    fn the_part_being_typed_is_after_the_last_separator_outside_quotes() {
        assert_eq!(current_token("jo"), "jo");
        assert_eq!(current_token("Ann <a@x.org>, jo"), "jo");
        assert_eq!(current_token("a@x.org; b"), "b");
        assert_eq!(current_token("\"Lee, Ann"), "\"Lee, Ann");
        assert_eq!(current_token("a@x.org, "), "");
    }

    #[test]
    fn completing_replaces_only_the_part_being_typed() {
        let joanna = address(Some("Joanna Smith"), "jo@example.com");
        assert_eq!(complete("jo", &joanna), "Joanna Smith <jo@example.com>, ");
        assert_eq!(
            complete("\"Lee, Ann\" <a@x.org>, jo", &joanna),
            "\"Lee, Ann\" <a@x.org>, Joanna Smith <jo@example.com>, "
        );
        assert_eq!(
            complete("x", &address(None, "bob@example.net")),
            "bob@example.net, "
        );
    }

    #[test]
    fn listed_addresses_are_found_in_any_form() {
        assert_eq!(
            listed("\"Lee, Ann\" <A@x.org>, b@Y.org; jo"),
            vec!["b@y.org".to_owned(), "a@x.org".to_owned()]
        );
    }
}

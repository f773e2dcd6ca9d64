//! The app's icons: SVG files from resources/icons, compiled in and tinted with the
//! text colour of the place they stand in, so one drawing serves both themes.

use crate::theme;
use iced::widget::svg::{self, Svg};
use iced::{Color, Length, Theme};
use std::sync::LazyLock;

/// Every icon the app draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Icon {
    Inbox,
    Inboxes,
    Drafts,
    Sent,
    Trash,
    Junk,
    Archive,
    Folder,
    Outbox,
    Reply,
    ReplyAll,
    Forward,
    Flag,
    Unread,
    Read,
    Move,
    Search,
    Attachment,
    ChevronRight,
    ChevronDown,
    Theme,
    Source,
    Image,
    Warning,
    Close,
    Link,
    Sort,
    Thread,
    Refresh,
    Compose,
    Settings,
}

macro_rules! icons {
    ($($variant:ident => $file:literal),* $(,)?) => {
        fn bytes(icon: Icon) -> &'static [u8] {
            match icon {
                $(Icon::$variant => include_bytes!(concat!("../../resources/icons/", $file, ".svg")),)*
            }
        }
        const ALL: &[Icon] = &[$(Icon::$variant),*];
    };
}

icons! {
    Inbox => "inbox",
    Inboxes => "inboxes",
    Drafts => "drafts",
    Sent => "sent",
    Trash => "trash",
    Junk => "junk",
    Archive => "archive",
    Folder => "folder",
    Outbox => "outbox",
    Reply => "reply",
    ReplyAll => "reply-all",
    Forward => "forward",
    Flag => "flag",
    Unread => "unread",
    Read => "read",
    Move => "move",
    Search => "search",
    Attachment => "attachment",
    ChevronRight => "chevron-right",
    ChevronDown => "chevron-down",
    Theme => "theme",
    Source => "source",
    Image => "image",
    Warning => "warning",
    Close => "close",
    Link => "link",
    Sort => "sort",
    Thread => "thread",
    Refresh => "refresh",
    Compose => "compose",
    Settings => "settings",
}

/// Handles are made once: a handle's id is a hash of its bytes, and the renderer caches
/// the rasterised icon under it.
static HANDLES: LazyLock<Vec<(Icon, svg::Handle)>> = LazyLock::new(|| {
    ALL.iter()
        .map(|&icon| (icon, svg::Handle::from_memory(bytes(icon))))
        .collect()
});

fn handle(icon: Icon) -> svg::Handle {
    HANDLES
        .iter()
        .find(|(i, _)| *i == icon)
        .map(|(_, h)| h.clone())
        .unwrap_or_else(|| svg::Handle::from_memory(bytes(icon)))
}

/// `icon` at `size`, in the theme's text colour.
pub fn icon<'a>(icon: Icon, size: f32) -> Svg<'a, Theme> {
    svg(icon, size, None)
}

/// `icon` at `size`, in a colour of the theme picked by `pick`.
pub fn tinted<'a>(icon: Icon, size: f32, pick: fn(&theme::Colors) -> Color) -> Svg<'a, Theme> {
    svg(icon, size, Some(pick))
}

fn svg<'a>(icon: Icon, size: f32, pick: Option<fn(&theme::Colors) -> Color>) -> Svg<'a, Theme> {
    iced::widget::svg(handle(icon))
        .width(Length::Fixed(size))
        .height(Length::Fixed(size))
        .style(move |theme: &Theme, _status| {
            let c = theme::colors(theme);
            svg::Style {
                color: Some(pick.map_or(c.text, |p| p(c))),
            }
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_icon_is_an_svg_drawing() {
        for &icon in super::ALL {
            let text = std::str::from_utf8(super::bytes(icon)).unwrap_or_default();
            assert!(text.starts_with("<svg") && text.contains("viewBox=\"0 0 24 24\""));
        }
    }
}

//! Tern's look: a light and a dark palette, the user's choice between them (or the
//! system's), and one spacing and type scale every screen uses, so sizes never drift.

use iced::theme::Palette;
use iced::widget::{button, container, text_input};
use iced::{Background, Border, Color, Theme, color};
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// Spacing steps in logical pixels.
pub mod space {
    pub const XXS: f32 = 2.0;
    pub const XS: f32 = 4.0;
    pub const S: f32 = 6.0;
    pub const M: f32 = 8.0;
    pub const L: f32 = 12.0;
    pub const XL: f32 = 16.0;
    pub const XXL: f32 = 24.0;
}

/// Text sizes in logical pixels.
pub mod size {
    pub const CAPTION: f32 = 12.0;
    pub const SMALL: f32 = 13.0;
    pub const BODY: f32 = 14.0;
    pub const SUBTITLE: f32 = 16.0;
    pub const TITLE: f32 = 20.0;
    pub const DISPLAY: f32 = 26.0;
    /// Icons next to body text.
    pub const ICON: f32 = 16.0;
    /// Icons in the toolbar.
    pub const TOOL_ICON: f32 = 18.0;
}

/// What the user picked in settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Choice {
    #[default]
    System,
    Light,
    Dark,
}

impl Choice {
    /// The next choice when the user cycles through them.
    pub fn next(self) -> Choice {
        match self {
            Choice::System => Choice::Light,
            Choice::Light => Choice::Dark,
            Choice::Dark => Choice::System,
        }
    }

    /// The theme to draw with, given whether the system prefers dark.
    pub fn theme(self, system_dark: bool) -> Theme {
        let dark = match self {
            Choice::System => system_dark,
            Choice::Light => false,
            Choice::Dark => true,
        };
        if dark { DARK.clone() } else { LIGHT.clone() }
    }
}

/// Colours beyond iced's palette: the panes, muted text, selection and borders.
#[derive(Clone, Copy, Debug)]
pub struct Colors {
    pub background: Color,
    /// The folder pane and bars.
    pub sidebar: Color,
    pub text: Color,
    /// Secondary text: dates, sizes, addresses.
    pub muted: Color,
    pub accent: Color,
    pub accent_text: Color,
    /// A selected row.
    pub selection: Color,
    /// A row under the pointer.
    pub hover: Color,
    pub border: Color,
    pub danger: Color,
    pub warning: Color,
    /// The remote-images and link bars.
    pub notice: Color,
    pub success: Color,
    /// Link text in mail.
    pub link: Color,
    /// The bar beside quoted text.
    pub quote: Color,
}

const LIGHT_COLORS: Colors = Colors {
    background: color!(0xffffff),
    sidebar: color!(0xf3f4f6),
    text: color!(0x1f2328),
    muted: color!(0x5f6872),
    accent: color!(0x2563c9),
    accent_text: color!(0xffffff),
    selection: color!(0xdbe7fb),
    hover: color!(0xeef2f7),
    border: color!(0xd5dae0),
    danger: color!(0xc4262e),
    warning: color!(0x9a6200),
    notice: color!(0xfff5d6),
    success: color!(0x1a7f37),
    link: color!(0x1d5bc2),
    quote: color!(0xb8c0ca),
};

const DARK_COLORS: Colors = Colors {
    background: color!(0x1d1f23),
    sidebar: color!(0x16181b),
    text: color!(0xe4e6e9),
    muted: color!(0x9aa3ad),
    accent: color!(0x5b8def),
    accent_text: color!(0x0d1117),
    selection: color!(0x263a5c),
    hover: color!(0x2a2d33),
    border: color!(0x33373d),
    danger: color!(0xf0646b),
    warning: color!(0xe0a93a),
    notice: color!(0x3a3220),
    success: color!(0x4cc36e),
    link: color!(0x7fa8f5),
    quote: color!(0x4a5059),
};

fn palette(c: &Colors) -> Palette {
    Palette {
        background: c.background,
        text: c.text,
        primary: c.accent,
        success: c.success,
        warning: c.warning,
        danger: c.danger,
    }
}

/// Tern's light theme.
pub static LIGHT: LazyLock<Theme> =
    LazyLock::new(|| Theme::custom("Tern Light", palette(&LIGHT_COLORS)));
/// Tern's dark theme.
pub static DARK: LazyLock<Theme> =
    LazyLock::new(|| Theme::custom("Tern Dark", palette(&DARK_COLORS)));

/// The extra colours of `theme`.
pub fn colors(theme: &Theme) -> &'static Colors {
    if theme.extended_palette().is_dark {
        &DARK_COLORS
    } else {
        &LIGHT_COLORS
    }
}

/// The folder pane and the bars above and below the panes.
pub fn sidebar(theme: &Theme) -> container::Style {
    let c = colors(theme);
    container::Style {
        background: Some(c.sidebar.into()),
        text_color: Some(c.text),
        ..container::Style::default()
    }
}

/// The message list and the reader.
pub fn pane(theme: &Theme) -> container::Style {
    let c = colors(theme);
    container::Style {
        background: Some(c.background.into()),
        text_color: Some(c.text),
        ..container::Style::default()
    }
}

/// A notice bar in the reader (remote images, a link about to open).
pub fn notice(theme: &Theme) -> container::Style {
    let c = colors(theme);
    container::Style {
        background: Some(c.notice.into()),
        text_color: Some(c.text),
        border: Border {
            radius: 4.0.into(),
            width: 1.0,
            color: c.border,
        },
        ..container::Style::default()
    }
}

/// A boxed list (attachments, error details).
pub fn card(theme: &Theme) -> container::Style {
    let c = colors(theme);
    container::Style {
        background: Some(c.sidebar.into()),
        text_color: Some(c.text),
        border: Border {
            radius: 4.0.into(),
            width: 1.0,
            color: c.border,
        },
        ..container::Style::default()
    }
}

/// A small round status dot (online, offline).
pub fn dot(color: Color) -> impl Fn(&Theme) -> container::Style {
    move |_| container::Style {
        background: Some(color.into()),
        border: Border {
            radius: 4.0.into(),
            ..Border::default()
        },
        ..container::Style::default()
    }
}

/// The count badge of a thread or a folder.
pub fn badge(theme: &Theme) -> container::Style {
    let c = colors(theme);
    container::Style {
        background: Some(c.border.into()),
        text_color: Some(c.text),
        border: Border {
            radius: 8.0.into(),
            ..Border::default()
        },
        ..container::Style::default()
    }
}

/// A row of the message list or the folder tree, selected or not.
pub fn row(selected: bool) -> impl Fn(&Theme, button::Status) -> button::Style {
    move |theme, status| {
        let c = colors(theme);
        let background = match (selected, status) {
            (true, _) => Some(c.selection),
            (false, button::Status::Hovered | button::Status::Pressed) => Some(c.hover),
            _ => None,
        };
        button::Style {
            background: background.map(Background::Color),
            text_color: c.text,
            border: Border::default(),
            ..button::Style::default()
        }
    }
}

/// A flat toolbar button: an icon (and maybe a label) that lights up on hover.
pub fn tool(theme: &Theme, status: button::Status) -> button::Style {
    let c = colors(theme);
    let (background, text_color) = match status {
        button::Status::Hovered | button::Status::Pressed => (Some(c.hover), c.text),
        button::Status::Disabled => (None, c.muted.scale_alpha(0.5)),
        button::Status::Active => (None, c.text),
    };
    button::Style {
        background: background.map(Background::Color),
        text_color,
        border: Border {
            radius: 4.0.into(),
            ..Border::default()
        },
        ..button::Style::default()
    }
}

/// A link-like button (the status line's error, "show details").
pub fn link(theme: &Theme, status: button::Status) -> button::Style {
    let c = colors(theme);
    button::Style {
        background: None,
        text_color: match status {
            button::Status::Hovered | button::Status::Pressed => c.accent,
            _ => c.link,
        },
        border: Border::default(),
        ..button::Style::default()
    }
}

/// The search field.
pub fn search(theme: &Theme, status: text_input::Status) -> text_input::Style {
    let c = colors(theme);
    let mut style = text_input::default(theme, status);
    style.background = c.background.into();
    style.border = Border {
        radius: 6.0.into(),
        width: 1.0,
        color: match status {
            text_input::Status::Focused { .. } => c.accent,
            _ => c.border,
        },
    };
    style
}

//! The message list's context menu: opened by a right click on a row (which selects the
//! row first when it was not selected, as Thunderbird does), acting on the selection,
//! closed by Escape, a click elsewhere or the wheel. Drawn as a layer over the window
//! at the pointer; "Move to" opens the account's folders beside it.

use super::{Destination, Mailbox, Message, Verb};
use crate::i18n::tr;
use crate::theme::{self, size, space};
use crate::widget::anchored::anchored;
use crate::widget::icon::{self, Icon};
use iced::widget::{
    Space, button, column, container, mouse_area, opaque, row, rule, scrollable, text,
};
use iced::{Alignment, Border, Element, Length, Point, Shadow, Vector};
use tern_core::store::{DraftId, Flags};

/// The menu's width, and its "Move to" list's.
const WIDTH: f32 = 236.0;
/// Every item is this tall, so the "Move to" list can line up with its item.
const ITEM_HEIGHT: f32 = 30.0;
/// A separator line with its space above and below.
const SEPARATOR_HEIGHT: f32 = 1.0 + 2.0 * space::XS;
/// The tallest the folder list grows before it scrolls.
const FOLDERS_MAX_HEIGHT: f32 = 360.0;

/// An open context menu.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ContextMenu {
    /// Where it opened, in window coordinates.
    pub at: Point,
    /// The "Move to" folder list is shown.
    pub folders: bool,
    /// The one message it is for is a draft Tern can open again (looked up on opening).
    pub draft: Option<DraftId>,
}

/// The menu's frame: the window's background with a border and a soft shadow.
fn frame(t: &iced::Theme) -> container::Style {
    let c = theme::colors(t);
    container::Style {
        background: Some(c.background.into()),
        text_color: Some(c.text),
        border: Border {
            radius: 6.0.into(),
            width: 1.0,
            color: c.border,
        },
        shadow: Shadow {
            color: iced::Color::BLACK.scale_alpha(0.25),
            offset: Vector::new(0.0, 3.0),
            blur_radius: 12.0,
        },
        ..container::Style::default()
    }
}

/// An item: the selection colour under the pointer, muted when it cannot be used.
fn item_style(t: &iced::Theme, status: button::Status) -> button::Style {
    let c = theme::colors(t);
    let (background, text_color) = match status {
        button::Status::Hovered | button::Status::Pressed => (Some(c.selection), c.text),
        button::Status::Disabled => (None, c.muted.scale_alpha(0.6)),
        button::Status::Active => (None, c.text),
    };
    button::Style {
        background: background.map(iced::Background::Color),
        text_color,
        border: Border {
            radius: 4.0.into(),
            ..Border::default()
        },
        ..button::Style::default()
    }
}

fn muted(t: &iced::Theme) -> text::Style {
    text::Style {
        color: Some(theme::colors(t).muted),
    }
}

/// One line of the menu, named `id` (its Fluent id) for tests. `hint` is the key that
/// does the same; `folders` says whether the pointer on it shows (true) or hides (false)
/// the folder list.
fn item<'a>(
    glyph: Icon,
    id: &'static str,
    hint: Option<String>,
    on_press: Option<Message>,
    folders: bool,
) -> Element<'a, Message> {
    let label = tr(id);
    let enabled = on_press.is_some();
    let tint: fn(&theme::Colors) -> iced::Color = if enabled {
        |c| c.text
    } else {
        |c| c.muted.scale_alpha(0.5)
    };
    let mut line = row![
        icon::tinted(glyph, size::ICON, tint),
        text(label).size(size::BODY).width(Length::Fill),
    ]
    .spacing(space::M)
    .align_y(Alignment::Center);
    if let Some(hint) = hint {
        line = line.push(text(hint).size(size::CAPTION).style(muted));
    }
    if folders {
        line = line.push(icon::tinted(Icon::ChevronRight, size::CAPTION, tint));
    }
    let b = button(line)
        .width(Length::Fill)
        .height(ITEM_HEIGHT)
        .padding([space::S, space::M])
        .style(item_style)
        .on_press_maybe(on_press);
    container(mouse_area(b).on_enter(Message::MoveToMenu(folders)))
        .id(id)
        .into()
}

fn separator<'a>() -> Element<'a, Message> {
    container(rule::horizontal(1))
        .padding([space::XS, 0.0])
        .height(SEPARATOR_HEIGHT)
        .into()
}

/// What the selection is, for the menu's labels and what it offers.
struct Selection {
    count: usize,
    all_read: bool,
    all_flagged: bool,
}

impl Mailbox {
    fn menu_selection(&self) -> Selection {
        let flags: Vec<Flags> = self
            .list
            .selected
            .iter()
            .filter_map(|id| self.list.rows().iter().find(|r| r.message.id == *id))
            .map(|r| self.list.flags(&r.message))
            .collect();
        Selection {
            count: self.list.selected.len(),
            all_read: !flags.is_empty() && flags.iter().all(|f| f.contains(Flags::SEEN)),
            all_flagged: !flags.is_empty() && flags.iter().all(|f| f.contains(Flags::FLAGGED)),
        }
    }
}

/// The menu layer: the menu at the pointer, over the whole window; a press anywhere
/// else closes it (and does nothing more).
pub fn view<'a>(mailbox: &'a Mailbox, menu: &ContextMenu) -> Element<'a, Message> {
    let sel = mailbox.menu_selection();
    let any = sel.count > 0;
    let one = sel.count == 1;
    let verb = |v: Verb, enabled: bool| enabled.then_some(Message::Verb(v));
    let hint = |id: &str| Some(tr(id));
    let mut items: Vec<Element<'a, Message>> = Vec::new();
    // Items above "Move to", for lining its folder list up with it.
    let mut above = 0.0;
    let mut push = |items: &mut Vec<Element<'a, Message>>, e: Element<'a, Message>, h: f32| {
        items.push(e);
        above += h;
    };
    if let Some(draft) = menu.draft.filter(|_| one) {
        push(
            &mut items,
            item(
                Icon::Compose,
                "menu-edit-draft",
                None,
                Some(Message::EditDraft(draft)),
                false,
            ),
            ITEM_HEIGHT,
        );
        push(&mut items, separator(), SEPARATOR_HEIGHT);
    }
    for (glyph, label, key, v) in [
        (Icon::Reply, "menu-reply", "key-reply", Verb::Reply),
        (
            Icon::ReplyAll,
            "menu-reply-all",
            "key-reply-all",
            Verb::ReplyAll,
        ),
        (Icon::Forward, "menu-forward", "key-forward", Verb::Forward),
    ] {
        push(
            &mut items,
            item(glyph, label, hint(key), verb(v, one), false),
            ITEM_HEIGHT,
        );
    }
    push(&mut items, separator(), SEPARATOR_HEIGHT);
    let (read_icon, read_label) = if sel.all_read {
        (Icon::Unread, "menu-mark-unread")
    } else {
        (Icon::Read, "menu-mark-read")
    };
    push(
        &mut items,
        item(
            read_icon,
            read_label,
            hint("key-read"),
            verb(Verb::ToggleRead, any),
            false,
        ),
        ITEM_HEIGHT,
    );
    let flag_label = if sel.all_flagged {
        "menu-unflag"
    } else {
        "menu-flag"
    };
    push(
        &mut items,
        item(
            Icon::Flag,
            flag_label,
            hint("key-flag"),
            verb(Verb::ToggleFlag, any),
            false,
        ),
        ITEM_HEIGHT,
    );
    push(&mut items, separator(), SEPARATOR_HEIGHT);
    let destinations = mailbox.destinations();
    items.push(item(
        Icon::Move,
        "menu-move",
        None,
        (!destinations.is_empty()).then_some(Message::MoveToMenu(!menu.folders)),
        true,
    ));
    for (glyph, label, key, v) in [
        (Icon::Archive, "menu-archive", "key-archive", Verb::Archive),
        (Icon::Junk, "menu-junk", "key-junk", Verb::Junk),
        (Icon::Trash, "menu-delete", "key-delete", Verb::Delete),
    ] {
        items.push(item(glyph, label, hint(key), verb(v, any), false));
    }
    let card = container(column(items).width(WIDTH))
        .padding(space::XS)
        .style(frame);
    // Opaque: a press on the menu (a disabled item, a separator) does not close it.
    let mut content = row![opaque(card)].align_y(Alignment::Start);
    if menu.folders && !destinations.is_empty() {
        content = content.push(column![
            Space::new().height(above),
            opaque(folder_list(destinations))
        ]);
    }
    mouse_area(anchored(content, menu.at))
        .on_press(Message::CloseMenu)
        .on_right_press(Message::CloseMenu)
        .on_scroll(|_| Message::CloseMenu)
        .into()
}

/// The folders "Move to" offers, indented as in the tree.
fn folder_list<'a>(destinations: Vec<Destination>) -> Element<'a, Message> {
    let lines = destinations.into_iter().map(|d| {
        let id = format!("move-to-{}", d.id);
        container(
            button(
                text(d.label.clone())
                    .size(size::BODY)
                    .wrapping(iced::widget::text::Wrapping::None),
            )
            .width(Length::Fill)
            .height(ITEM_HEIGHT)
            .padding([space::S, space::M])
            .style(item_style)
            .on_press(Message::MoveTo(d)),
        )
        .id(id)
        .into()
    });
    container(scrollable(column(lines).width(WIDTH)).height(Length::Shrink))
        .padding(space::XS)
        .max_height(FOLDERS_MAX_HEIGHT)
        .style(frame)
        .into()
}

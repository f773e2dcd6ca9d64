//! The windowed message list: a scrollable as tall as the whole list, in which only the
//! rows under the viewport are built; empty space of the right height stands for the
//! rest. Building the view costs the same for ten messages and for a million.

use crate::screen::mailbox::format::{self, Dates};
use crate::screen::mailbox::list::{List, ROW_HEIGHT};
use crate::theme::{self, size, space};
use crate::widget::icon::{self, Icon};
use crate::widget::pointer::pointer_area;
use iced::widget::scrollable::Viewport;
use iced::widget::text::Wrapping;
use iced::widget::{Space, button, column, container, row, scrollable, text};
use iced::{Alignment, Element, Font, Length, font};
use tern_core::store::Flags;

/// The list's scrollable, for scrolling it from `update`.
pub const LIST_ID: &str = "message-list";

/// What a row does when used; rows are named by their position in the list.
pub struct Handlers<Message> {
    pub click: fn(usize) -> Message,
    /// The left button went down on a row (a click, or the start of a drag).
    pub press: fn(usize) -> Message,
    /// The right button went down on a row (the context menu).
    pub menu: fn(usize) -> Message,
    pub toggle_thread: fn(usize) -> Message,
    pub scrolled: fn(Viewport) -> Message,
}

fn bold() -> Font {
    Font {
        weight: font::Weight::Bold,
        ..Font::DEFAULT
    }
}

fn muted(t: &iced::Theme) -> text::Style {
    text::Style {
        color: Some(theme::colors(t).muted),
    }
}

/// The list, showing only what is in view.
pub fn view<'a, Message: Clone + 'a>(
    list: &'a List,
    dates: &'a Dates,
    handlers: Handlers<Message>,
) -> Element<'a, Message> {
    let visible = list.visible();
    let total = list.total();
    let mut col = column![Space::new().height(visible.start as f32 * ROW_HEIGHT)];
    for index in visible.clone() {
        let line: Element<'a, Message> = match list.row(index) {
            Some(r) => message_row(list, r, dates, &handlers),
            // Not read yet (a fast scroll): a blank row of the right height.
            None => Space::new().height(ROW_HEIGHT).into(),
        };
        col = col.push(line);
    }
    col = col.push(Space::new().height(total.saturating_sub(visible.end) as f32 * ROW_HEIGHT));
    scrollable(col.width(Length::Fill))
        .id(LIST_ID)
        .on_scroll(handlers.scrolled)
        .width(Length::Fill)
        .height(Length::Fill)
        .into()
}

fn one_line<'a>(content: impl text::IntoFragment<'a>) -> iced::widget::Text<'a> {
    text(content).wrapping(Wrapping::None)
}

fn message_row<'a, Message: Clone + 'a>(
    list: &'a List,
    r: &'a crate::screen::mailbox::list::Row,
    dates: &'a Dates,
    handlers: &Handlers<Message>,
) -> Element<'a, Message> {
    let m = &r.message;
    let flags = list.flags(m);
    let unread = !flags.contains(Flags::SEEN);
    let flagged = flags.contains(Flags::FLAGGED);

    let mut sender = one_line(format::sender(&m.from)).size(size::BODY);
    if unread {
        sender = sender.font(bold());
    }
    let date = one_line(dates.short(m.date))
        .size(size::CAPTION)
        .style(muted);
    let top = row![container(sender).width(Length::Fill).clip(true), date]
        .spacing(space::M)
        .align_y(Alignment::Center);

    let mut bottom = row![
        container(
            one_line(format::subject(&m.subject, 200))
                .size(size::SMALL)
                .style(muted)
        )
        .width(Length::Fill)
        .clip(true)
    ]
    .spacing(space::S)
    .align_y(Alignment::Center);
    if m.has_attachment {
        bottom = bottom.push(icon::tinted(Icon::Attachment, size::CAPTION + 1.0, |c| {
            c.muted
        }));
    }
    if flagged {
        bottom = bottom.push(icon::tinted(Icon::Flag, size::CAPTION + 1.0, |c| c.danger));
    }
    bottom = bottom.push(
        one_line(format::size(u64::from(m.size)))
            .size(size::CAPTION)
            .style(muted),
    );

    let marker: Element<'a, Message> = if unread {
        container(Space::new().width(8).height(8))
            .style(|t: &iced::Theme| theme::dot(theme::colors(t).accent)(t))
            .into()
    } else {
        Space::new().width(8).height(8).into()
    };

    let thread: Element<'a, Message> = if r.thread_size > 1 && !r.child {
        let toggle = button(
            row![
                icon::tinted(
                    if r.expanded {
                        Icon::ChevronDown
                    } else {
                        Icon::ChevronRight
                    },
                    size::CAPTION,
                    |c| c.muted
                ),
                text(r.thread_size.to_string()).size(size::CAPTION),
            ]
            .spacing(space::XXS)
            .align_y(Alignment::Center),
        )
        .padding([space::XXS, space::XS])
        .style(theme::tool)
        .on_press((handlers.toggle_thread)(r.index));
        // Tests find a row's thread control by its position.
        container(toggle).id(format!("thread-{}", r.index)).into()
    } else {
        Space::new().width(0).into()
    };

    let indent = if r.child { space::XXL } else { 0.0 };
    let content = row![
        Space::new().width(indent),
        marker,
        column![top, bottom].spacing(space::XS).width(Length::Fill),
        thread,
    ]
    .spacing(space::M)
    .align_y(Alignment::Center);

    let row = button(content)
        .width(Length::Fill)
        .height(ROW_HEIGHT)
        .padding([space::S, space::L])
        .style(theme::row(list.is_selected(m.id)))
        .on_press((handlers.click)(r.index));
    let (index, press, menu) = (r.index, handlers.press, handlers.menu);
    pointer_area(row)
        .on_press(move |_| press(index))
        .on_right_press(move |_| menu(index))
        .into()
}

/// Scrolls the list so its top is at `y`.
pub fn scroll_to<Message: Send + 'static>(y: f32) -> iced::Task<Message> {
    iced::widget::operation::scroll_to(
        LIST_ID,
        iced::widget::operation::AbsoluteOffset {
            x: None,
            y: Some(y),
        },
    )
}

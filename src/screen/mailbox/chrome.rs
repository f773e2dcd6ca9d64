//! The parts of the mailbox window around the panes' contents: the toolbar, the list's
//! header (name, count, order, sync progress), empty states and the status line.

use super::format;
use super::{Mailbox, Message, SEARCH_ID, Verb};
use crate::i18n::{tr, tr_args};
use crate::screen::mailbox::folders::{self, Connection, Entry, Place};
use crate::settings::{Settings, Sort};
use crate::theme::{self, size, space};
use crate::widget::icon::{self, Icon};
use iced::widget::{
    Space, button, center, column, container, pick_list, progress_bar, row, rule, scrollable, text,
    text_input, tooltip,
};
use iced::{Alignment, Element, Length};

fn muted(t: &iced::Theme) -> text::Style {
    text::Style {
        color: Some(theme::colors(t).muted),
    }
}

/// A toolbar button: an icon with its name as a tooltip; `id` lets tests find it.
fn tool<'a>(
    glyph: Icon,
    label: String,
    id: &'static str,
    verb: Option<Verb>,
) -> Element<'a, Message> {
    let tint: fn(&theme::Colors) -> iced::Color = if verb.is_some() {
        |c| c.text
    } else {
        |c| c.muted.scale_alpha(0.45)
    };
    let b = button(icon::tinted(glyph, size::TOOL_ICON, tint))
        .padding(space::S)
        .style(theme::tool)
        .on_press_maybe(verb.map(Message::Verb));
    container(tooltip(
        b,
        container(text(label).size(size::SMALL))
            .padding([space::XS, space::M])
            .style(theme::card),
        tooltip::Position::Bottom,
    ))
    .id(id)
    .into()
}

fn separator<'a>() -> Element<'a, Message> {
    container(rule::vertical(1))
        .height(20)
        .padding([0.0, space::XS])
        .into()
}

/// The toolbar: reply, move and mark actions on the selection, and the search field.
pub fn toolbar(mailbox: &Mailbox) -> Element<'_, Message> {
    let any = !mailbox.list.selected.is_empty();
    let on = |v: Verb| any.then_some(v);
    let destinations = mailbox.destinations();
    let move_menu = pick_list(destinations, None::<super::Destination>, Message::MoveTo)
        .placeholder(tr("toolbar-move"))
        .text_size(size::SMALL)
        .padding([space::XS, space::M])
        .style(move |t: &iced::Theme, status| {
            let c = theme::colors(t);
            let mut style = pick_list::default(t, status);
            style.background = match status {
                pick_list::Status::Hovered | pick_list::Status::Opened { .. } => c.hover.into(),
                pick_list::Status::Active => iced::Color::TRANSPARENT.into(),
            };
            style.border = iced::Border {
                radius: 4.0.into(),
                width: 1.0,
                color: c.border,
            };
            style.placeholder_color = if any {
                c.text
            } else {
                c.muted.scale_alpha(0.6)
            };
            style.handle_color = style.placeholder_color;
            style
        });
    let search = text_input(&tr("search-placeholder"), &mailbox.search)
        .id(SEARCH_ID)
        .on_input(Message::SearchChanged)
        .size(size::BODY)
        .padding([space::S, space::M])
        .width(Length::Fixed(300.0))
        .style(theme::search);
    let bar = row![
        tool(
            Icon::Compose,
            tr("toolbar-compose"),
            "tool-compose",
            Some(Verb::Compose)
        ),
        separator(),
        tool(
            Icon::Reply,
            tr("toolbar-reply"),
            "tool-reply",
            on(Verb::Reply)
        ),
        tool(
            Icon::ReplyAll,
            tr("toolbar-reply-all"),
            "tool-reply-all",
            on(Verb::ReplyAll)
        ),
        tool(
            Icon::Forward,
            tr("toolbar-forward"),
            "tool-forward",
            on(Verb::Forward)
        ),
        separator(),
        tool(
            Icon::Archive,
            tr("toolbar-archive"),
            "tool-archive",
            on(Verb::Archive)
        ),
        tool(Icon::Junk, tr("toolbar-junk"), "tool-junk", on(Verb::Junk)),
        tool(
            Icon::Trash,
            tr("toolbar-delete"),
            "tool-delete",
            on(Verb::Delete)
        ),
        move_menu,
        separator(),
        tool(
            Icon::Read,
            tr("toolbar-read"),
            "tool-read",
            on(Verb::ToggleRead)
        ),
        tool(
            Icon::Flag,
            tr("toolbar-flag"),
            "tool-flag",
            on(Verb::ToggleFlag)
        ),
        Space::new().width(Length::Fill),
        icon::tinted(Icon::Search, size::ICON, |c| c.muted),
        search,
        tool(
            Icon::Settings,
            tr("toolbar-settings"),
            "tool-settings",
            Some(Verb::Settings)
        ),
    ]
    .spacing(space::XS)
    .align_y(Alignment::Center);
    container(bar)
        .padding([space::S, space::L])
        .width(Length::Fill)
        .style(theme::sidebar)
        .into()
}

/// The list's name, count and order, and the sync progress of what it shows.
pub fn list_header(mailbox: &Mailbox) -> Element<'_, Message> {
    let (title, count) = match (&mailbox.list.source, &mailbox.place) {
        (super::Source::Search { .. }, _) if !mailbox.search.is_empty() => {
            (tr("list-search-results"), mailbox.list.total())
        }
        (_, Place::Outbox) => (tr("folder-outbox"), mailbox.outbox.len()),
        (_, Place::Unified) => (tr("folder-unified"), mailbox.list.messages()),
        (_, Place::Folder(id)) => (
            mailbox
                .tree
                .folder(*id)
                .map(folders::folder_label)
                .unwrap_or_default(),
            mailbox.list.messages(),
        ),
    };
    let sorts = [Sort::Newest, Sort::Oldest, Sort::Sender];
    let current = sorts
        .iter()
        .copied()
        .find(|s| s.order() == mailbox.list.order);
    let sort = pick_list(
        sorts.map(SortChoice).to_vec(),
        current.map(SortChoice),
        |c: SortChoice| Message::Sort(c.0),
    )
    .text_size(size::CAPTION)
    .padding([space::XXS, space::S]);
    let mut col = column![
        row![
            text(title).size(size::SUBTITLE).font(iced::Font {
                weight: iced::font::Weight::Bold,
                ..iced::Font::DEFAULT
            }),
            text(tr_args("list-count", &[("count", count.into())]))
                .size(size::CAPTION)
                .style(muted),
            Space::new().width(Length::Fill),
            sort,
        ]
        .spacing(space::M)
        .align_y(Alignment::Center)
    ]
    .spacing(space::XS);
    let shown = mailbox
        .syncing
        .values()
        .find(|s| mailbox.list_shows(s.folder));
    if let Some(s) = shown {
        let (fetched, total) = (s.progress.fetched, s.progress.total.max(1));
        col = col.push(
            column![
                progress_bar(0.0..=total as f32, fetched as f32).girth(4),
                text(tr_args(
                    "list-syncing",
                    &[
                        ("fetched", fetched.into()),
                        ("total", s.progress.total.into())
                    ]
                ))
                .size(size::CAPTION)
                .style(muted),
            ]
            .spacing(space::XXS),
        );
    }
    container(col)
        .padding([space::M, space::L])
        .width(Length::Fill)
        .into()
}

/// A sort order as the menu names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SortChoice(Sort);

impl std::fmt::Display for SortChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&tr(match self.0 {
            Sort::Newest => "sort-newest",
            Sort::Oldest => "sort-oldest",
            Sort::Sender => "sort-sender",
        }))
    }
}

/// The list when there is nothing in it.
pub fn empty_list(mailbox: &Mailbox) -> Element<'_, Message> {
    let message = if !mailbox.search.is_empty() {
        tr("list-no-results")
    } else if mailbox
        .syncing
        .values()
        .any(|s| mailbox.list_shows(s.folder))
    {
        tr("list-syncing-empty")
    } else {
        tr("messages-empty")
    };
    center(text(message).size(size::BODY).style(muted)).into()
}

/// The reader with no message open.
pub fn empty_reader<'a>() -> Element<'a, Message> {
    container(center(
        column![
            icon::tinted(Icon::Unread, 48.0, |c| c.border),
            text(tr("reader-none")).size(size::BODY).style(muted),
        ]
        .spacing(space::M)
        .align_x(Alignment::Center),
    ))
    .style(theme::pane)
    .into()
}

/// The status line: each account's connection, sync progress, the Outbox, the last
/// error (click for all of them) and the theme switch.
pub fn status_line<'a>(mailbox: &'a Mailbox, settings: &'a Settings) -> Element<'a, Message> {
    let mut line = row![].spacing(space::L).align_y(Alignment::Center);
    for entry in &mailbox.tree.entries {
        let Entry::Account {
            account,
            connection,
        } = entry
        else {
            continue;
        };
        let (label, pick): (String, fn(&theme::Colors) -> iced::Color) = match connection {
            Connection::Online => (
                tr_args("status-online", &[("account", account.name.clone().into())]),
                |c| c.success,
            ),
            Connection::Connecting => (
                tr_args(
                    "status-connecting",
                    &[("account", account.name.clone().into())],
                ),
                |c| c.muted,
            ),
            Connection::Offline(_) => (
                tr_args(
                    "status-offline-short",
                    &[("account", account.name.clone().into())],
                ),
                |c| c.danger,
            ),
        };
        line = line.push(
            row![
                container(Space::new().width(8).height(8))
                    .style(move |t: &iced::Theme| theme::dot(pick(theme::colors(t)))(t)),
                text(label).size(size::CAPTION),
            ]
            .spacing(space::XS)
            .align_y(Alignment::Center),
        );
    }
    for syncing in mailbox.syncing.values() {
        let name = mailbox
            .tree
            .folder(syncing.folder)
            .map(folders::folder_label)
            .unwrap_or_default();
        line = line.push(
            text(tr_args(
                "status-syncing",
                &[
                    ("folder", name.into()),
                    ("fetched", syncing.progress.fetched.into()),
                    ("total", syncing.progress.total.into()),
                ],
            ))
            .size(size::CAPTION)
            .style(muted),
        );
    }
    let outbox = mailbox.tree.entries.iter().find_map(|e| match e {
        Entry::Outbox { count, .. } => Some(*count),
        _ => None,
    });
    if let Some(count) = outbox.filter(|c| *c > 0) {
        line = line
            .push(text(tr_args("status-outbox", &[("count", count.into())])).size(size::CAPTION));
    }
    if let Some(notice) = &mailbox.notice {
        line = line.push(text(notice.clone()).size(size::CAPTION).style(muted));
    }
    line = line.push(Space::new().width(Length::Fill));
    if let Some(last) = mailbox.errors.last() {
        line = line.push(
            button(
                row![
                    icon::tinted(Icon::Warning, size::CAPTION, |c| c.danger),
                    text(one_line(last)).size(size::CAPTION),
                ]
                .spacing(space::XS)
                .align_y(Alignment::Center),
            )
            .padding(0)
            .style(theme::link)
            .on_press(Message::ShowError(!mailbox.show_errors)),
        );
    }
    let theme_label = tr(match settings.theme {
        theme::Choice::System => "theme-system",
        theme::Choice::Light => "theme-light",
        theme::Choice::Dark => "theme-dark",
    });
    line = line.push(
        container(
            button(
                row![
                    icon::icon(Icon::Theme, size::CAPTION + 2.0),
                    text(theme_label).size(size::CAPTION)
                ]
                .spacing(space::XS)
                .align_y(Alignment::Center),
            )
            .padding([space::XXS, space::S])
            .style(theme::tool)
            .on_press(Message::CycleTheme),
        )
        .id("theme-switch"),
    );
    let status = container(line)
        .padding([space::XS, space::L])
        .width(Length::Fill)
        .style(theme::sidebar);
    if !mailbox.show_errors || mailbox.errors.is_empty() {
        return status.into();
    }
    let details = mailbox
        .errors
        .iter()
        .rev()
        .fold(column![].spacing(space::XS), |col, e| {
            col.push(text(e.clone()).size(size::SMALL))
        });
    column![
        container(
            column![
                row![
                    text(tr("errors-title"))
                        .size(size::SUBTITLE)
                        .width(Length::Fill),
                    button(icon::icon(Icon::Close, size::ICON))
                        .style(theme::tool)
                        .on_press(Message::ShowError(false)),
                ]
                .align_y(Alignment::Center),
                scrollable(details).height(Length::Shrink),
            ]
            .spacing(space::M)
        )
        .padding(space::L)
        .width(Length::Fill)
        .max_height(240)
        .style(theme::card),
        status
    ]
    .into()
}

/// The first line of an error, for the status line.
fn one_line(s: &str) -> String {
    let first = s.lines().next().unwrap_or_default();
    format::subject(first, 120)
}

//! Dragging messages onto a folder of the tree: a press on a row becomes a drag once the
//! pointer has moved a few pixels (a click stays a click); the selection (or the pressed
//! row, selected first) is what moves. A label next to the pointer says how many; the
//! folder under it is highlighted when it can take them; letting go there moves them,
//! or copies them with Ctrl held. Letting go anywhere else does nothing.

use super::{Mailbox, Message};
use crate::i18n::tr_args;
use crate::theme::{self, size, space};
use crate::widget::anchored::anchored;
use crate::widget::icon::{self, Icon};
use iced::widget::{container, row, text};
use iced::{Alignment, Border, Element, Point, Task, Vector};
use std::time::Duration;
use tern_core::engine::Command;
use tern_core::store::{FolderId, MessageId};

/// How far the pointer must move with the button held before a press is a drag.
const THRESHOLD: f32 = 6.0;
/// Where the label sits from the pointer: off it, so the folder under it stays visible.
const LABEL_OFFSET: Vector = Vector::new(14.0, 12.0);

/// A press on a row, maybe becoming a drag.
#[derive(Clone, Debug, PartialEq)]
pub struct Drag {
    /// The row pressed.
    index: usize,
    /// Where the press was, in window coordinates.
    origin: Point,
    pointer: Point,
    /// Moved past the threshold: this is a drag.
    pub active: bool,
    /// What is dragged (set when the drag starts).
    ids: Vec<MessageId>,
    /// Folders that can take it: the account's others.
    targets: Vec<FolderId>,
    /// The folder under the pointer, if it is a target.
    pub over: Option<FolderId>,
}

impl Drag {
    pub fn pressed(index: usize, at: Point) -> Drag {
        Drag {
            index,
            origin: at,
            pointer: at,
            active: false,
            ids: Vec::new(),
            targets: Vec::new(),
            over: None,
        }
    }
}

impl Mailbox {
    /// The pointer moved with the button held after a press on a row.
    pub(super) fn drag_moved(&mut self, at: Point) {
        let Some(drag) = &mut self.drag else {
            return;
        };
        drag.pointer = at;
        if drag.active || drag.origin.distance(at) < THRESHOLD {
            return;
        }
        let index = drag.index;
        let Some(id) = self.list.row(index).map(|r| r.message.id) else {
            self.drag = None;
            return;
        };
        // A row outside the selection is dragged alone, and selected first.
        if !self.list.is_selected(id) {
            let engine = self.engine.clone();
            let list = &mut self.list;
            if let Err(e) = engine.read(|s| list.click(s, index, false, false)) {
                self.error(e);
            }
        }
        let ids = self.list.selected.clone();
        let targets = self.destinations().into_iter().map(|d| d.id).collect();
        self.menu = None;
        if let Some(drag) = &mut self.drag {
            drag.ids = ids;
            drag.targets = targets;
            drag.active = true;
        }
    }

    /// The pointer entered folder `id` of the tree during a drag.
    pub(super) fn drop_enter(&mut self, id: FolderId) {
        if let Some(drag) = self.drag.as_mut().filter(|d| d.active) {
            drag.over = drag.targets.contains(&id).then_some(id);
        }
    }

    /// The pointer left folder `id`. (Leaving one folder and entering the next may be
    /// reported in either order.)
    pub(super) fn drop_leave(&mut self, id: FolderId) {
        if let Some(drag) = self.drag.as_mut().filter(|d| d.over == Some(id)) {
            drag.over = None;
        }
    }

    /// The button came up: over a target, the messages move there (copy with Ctrl).
    pub(super) fn drag_ended(&mut self) -> Task<Message> {
        let Some(drag) = self.drag.take() else {
            return Task::none();
        };
        let Some(to) = drag.over.filter(|_| drag.active && !drag.ids.is_empty()) else {
            return Task::none();
        };
        if self.modifiers.command() {
            let folder = self
                .tree
                .folder(to)
                .map(super::folders::folder_label)
                .unwrap_or_default();
            self.notice = Some(tr_args(
                "notice-copied",
                &[("count", drag.ids.len().into()), ("folder", folder.into())],
            ));
            self.engine.send(Command::Copy { ids: drag.ids, to });
            return self.schedule_refresh(Duration::from_millis(150));
        }
        self.list.selected = drag.ids;
        self.take_selection(|ids| Command::Move { ids, to })
    }
}

/// The label that follows the pointer: how many messages, and whether they are copied.
pub fn label<'a>(drag: &Drag, copy: bool) -> Element<'a, Message> {
    let count = drag.ids.len();
    let words = tr_args(
        if copy { "drag-copy" } else { "drag-move" },
        &[("count", count.into())],
    );
    let tag = container(
        row![
            icon::tinted(Icon::Move, size::ICON, |c| c.accent_text),
            text(words).size(size::SMALL),
        ]
        .spacing(space::S)
        .align_y(Alignment::Center),
    )
    .padding([space::XS, space::M])
    .style(|t: &iced::Theme| {
        let c = theme::colors(t);
        container::Style {
            background: Some(c.accent.into()),
            text_color: Some(c.accent_text),
            border: Border {
                radius: 4.0.into(),
                ..Border::default()
            },
            ..container::Style::default()
        }
    });
    anchored(tag, drag.pointer + LABEL_OFFSET).into()
}

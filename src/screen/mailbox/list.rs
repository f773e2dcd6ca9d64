//! The message list model: what is listed (a folder, the unified Inbox, search results),
//! the window of rows in view, selection, expanded threads, and the user's actions shown
//! before the engine has stored them.
//!
//! Only the window is ever read and built: a folder's rows are addressed by position
//! (the store pages them at any offset in well under a millisecond), and the view puts
//! empty space of the right height above and below the window.

use super::unified::Merged;
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use tern_core::store::{
    Flags, FolderId, MessageId, MessageRow, SortOrder, Store, StoreError, ThreadId,
};

/// Height of one row in logical pixels; every row has it, so position is arithmetic.
pub const ROW_HEIGHT: f32 = 58.0;
/// Rows read beyond each edge of the view, so a small scroll needs no read.
const OVERSCAN: usize = 8;
/// Most rows a Shift-click range selects.
const MAX_RANGE: usize = 10_000;

/// What the list shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    Folder(FolderId),
    /// The Inboxes of every account.
    Unified(Vec<FolderId>),
    /// Results of a local search, in list order.
    Search {
        query: String,
        rows: Vec<MessageRow>,
    },
}

/// One row in view.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub message: MessageRow,
    /// Position in the list.
    pub index: usize,
    /// A message of an expanded thread, shown under the thread's row.
    pub child: bool,
    /// Messages in the row's thread (all folders of the account).
    pub thread_size: usize,
    pub expanded: bool,
}

/// A thread opened under one of its rows.
#[derive(Clone, Debug, PartialEq)]
struct Expansion {
    /// Position of the row among the source's own rows.
    anchor: usize,
    anchor_id: MessageId,
    children: Vec<MessageRow>,
}

/// Where a list position falls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loc {
    Base(usize),
    /// Child `k` of expansion `e`.
    Child(usize, usize),
}

/// See the module docs.
#[derive(Debug)]
pub struct List {
    pub source: Source,
    pub order: SortOrder,
    base_total: usize,
    rows: Vec<Row>,
    expansions: Vec<Expansion>,
    /// Selected messages, in the order they were selected.
    pub selected: Vec<MessageId>,
    /// The focused position (keyboard moves it).
    pub cursor: Option<usize>,
    /// Where a Shift-click range starts.
    anchor: Option<usize>,
    /// Moved or deleted here, not yet gone from the store.
    hidden: HashSet<MessageId>,
    /// Flags set here, not yet in the store.
    flags: HashMap<MessageId, Flags>,
    scroll_y: f32,
    viewport: f32,
    merged: Option<Merged>,
}

impl List {
    pub fn new(source: Source, order: SortOrder) -> List {
        let merged = match &source {
            Source::Unified(folders) => Some(Merged::new(folders.clone(), order)),
            _ => None,
        };
        List {
            source,
            order,
            base_total: 0,
            rows: Vec::new(),
            expansions: Vec::new(),
            selected: Vec::new(),
            cursor: None,
            anchor: None,
            hidden: HashSet::new(),
            flags: HashMap::new(),
            scroll_y: 0.0,
            viewport: 800.0,
            merged,
        }
    }

    /// Rows in the list, expanded threads included.
    pub fn total(&self) -> usize {
        self.base_total
            + self
                .expansions
                .iter()
                .map(|e| e.children.len())
                .sum::<usize>()
    }

    /// Messages in the source, expanded threads not counted twice.
    pub fn messages(&self) -> usize {
        self.base_total
    }

    /// The rows read, in order; the view shows those in [`List::visible`].
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Positions under the viewport (clamped to the list).
    pub fn visible(&self) -> Range<usize> {
        let first = (self.scroll_y / ROW_HEIGHT).floor().max(0.0) as usize;
        let count = (self.viewport / ROW_HEIGHT).ceil() as usize + 1;
        let end = (first + count).min(self.total());
        first.min(end)..end
    }

    /// The scroll offset.
    pub fn scroll_y(&self) -> f32 {
        self.scroll_y
    }

    /// The row at position `index`, if read.
    pub fn row(&self, index: usize) -> Option<&Row> {
        let first = self.rows.first()?.index;
        self.rows.get(index.checked_sub(first)?)
    }

    /// The flags to show for a row: the user's latest change wins over the store's.
    pub fn flags(&self, row: &MessageRow) -> Flags {
        self.flags.get(&row.id).copied().unwrap_or(row.flags)
    }

    pub fn is_selected(&self, id: MessageId) -> bool {
        self.selected.contains(&id)
    }

    /// Takes note of the viewport; true when the rows in view must be read.
    pub fn scrolled(&mut self, offset: f32, height: f32) -> bool {
        self.scroll_y = offset.max(0.0);
        self.viewport = height.max(ROW_HEIGHT);
        let want = self.visible();
        let have = match (self.rows.first(), self.rows.last()) {
            (Some(a), Some(b)) => a.index..b.index + 1,
            _ => 0..0,
        };
        want.start < have.start || want.end > have.end
    }

    /// The offset that shows position `index`, if it is not fully in view.
    pub fn reveal(&mut self, index: usize) -> Option<f32> {
        let top = index as f32 * ROW_HEIGHT;
        let bottom = top + ROW_HEIGHT;
        let y = if top < self.scroll_y {
            top
        } else if bottom > self.scroll_y + self.viewport {
            bottom - self.viewport
        } else {
            return None;
        };
        self.scroll_y = y.max(0.0);
        Some(self.scroll_y)
    }

    fn locate(&self, index: usize) -> Loc {
        let mut extra = 0;
        for (e, exp) in self.expansions.iter().enumerate() {
            let anchor = exp.anchor + extra;
            if index <= anchor {
                break;
            }
            if index <= anchor + exp.children.len() {
                return Loc::Child(e, index - anchor - 1);
            }
            extra += exp.children.len();
        }
        Loc::Base(index - extra)
    }

    fn base_total(&self, store: &Store) -> Result<usize, StoreError> {
        let folder_total = |id| -> Result<usize, StoreError> {
            Ok(store.folder(id)?.map_or(0, |f| f.total as usize))
        };
        let total = match &self.source {
            Source::Folder(id) => folder_total(*id)?,
            Source::Unified(ids) => {
                let mut sum = 0;
                for &id in ids {
                    sum += folder_total(id)?;
                }
                sum
            }
            Source::Search { rows, .. } => rows.len(),
        };
        Ok(total.saturating_sub(self.hidden.len()))
    }

    fn base_rows(
        &mut self,
        store: &Store,
        from: usize,
        count: usize,
    ) -> Result<Vec<MessageRow>, StoreError> {
        // Rows hidden here are still in the store: read that many more.
        let want = count + self.hidden.len();
        let (offset, limit) = (
            u32::try_from(from).unwrap_or(u32::MAX),
            u32::try_from(want).unwrap_or(u32::MAX),
        );
        let mut rows = match &self.source {
            Source::Folder(id) => store.page(*id, offset, limit, self.order)?,
            Source::Unified(_) => match &mut self.merged {
                Some(m) => m.window(store, from, want)?,
                None => Vec::new(),
            },
            Source::Search { rows, .. } => rows.iter().skip(from).take(want).cloned().collect(),
        };
        rows.retain(|r| !self.hidden.contains(&r.id));
        rows.truncate(count);
        Ok(rows)
    }

    /// Rereads what is in view. `changed`: the source's contents changed (not only the
    /// viewport), so cached merge marks and the user's pending changes are rechecked.
    pub fn refresh(&mut self, store: &Store, changed: bool) -> Result<(), StoreError> {
        self.settle_hidden(store)?;
        self.settle_flags(store)?;
        if changed {
            if let Source::Unified(ids) = &self.source {
                self.merged = Some(Merged::new(ids.clone(), self.order));
            }
            self.settle_expansions(store)?;
        }
        self.base_total = self.base_total(store)?;
        let visible = self.visible();
        let start = visible.start.saturating_sub(OVERSCAN);
        let end = (visible.end + OVERSCAN).min(self.total());
        self.rows = self.load(store, start, end.saturating_sub(start))?;
        if let Some(c) = self.cursor
            && c >= self.total()
        {
            self.cursor = self.total().checked_sub(1);
        }
        Ok(())
    }

    /// Forgets hidden messages the store no longer lists here.
    fn settle_hidden(&mut self, store: &Store) -> Result<(), StoreError> {
        let mut gone = Vec::new();
        for &id in &self.hidden {
            let still_here = match (store.message(id)?, &self.source) {
                (None, _) => false,
                (Some(row), Source::Folder(f)) => row.folder == *f,
                (Some(row), Source::Unified(fs)) => fs.contains(&row.folder),
                // Search results are a snapshot: a moved message stays hidden.
                (Some(_), Source::Search { .. }) => true,
            };
            if !still_here {
                gone.push(id);
            }
        }
        for id in gone {
            self.hidden.remove(&id);
            if let Source::Search { rows, .. } = &mut self.source {
                rows.retain(|r| r.id != id);
            }
        }
        Ok(())
    }

    /// Drops flag changes the store now shows.
    fn settle_flags(&mut self, store: &Store) -> Result<(), StoreError> {
        let mut settled = Vec::new();
        for (&id, &flags) in &self.flags {
            if store.message(id)?.is_none_or(|r| r.flags == flags) {
                settled.push(id);
            }
        }
        for id in settled {
            self.flags.remove(&id);
        }
        Ok(())
    }

    /// Drops expansions whose row is no longer where it was.
    fn settle_expansions(&mut self, store: &Store) -> Result<(), StoreError> {
        let mut kept = Vec::new();
        for exp in std::mem::take(&mut self.expansions) {
            let at = self.base_rows(store, exp.anchor, 1)?;
            if at.first().is_some_and(|r| r.id == exp.anchor_id) {
                kept.push(exp);
            }
        }
        self.expansions = kept;
        Ok(())
    }

    /// Reads positions `from..from + count`.
    fn load(&mut self, store: &Store, from: usize, count: usize) -> Result<Vec<Row>, StoreError> {
        let mut out: Vec<Row> = Vec::with_capacity(count);
        let mut sizes: HashMap<ThreadId, usize> = HashMap::new();
        let mut size_of = |thread: ThreadId| -> Result<usize, StoreError> {
            if let Some(&n) = sizes.get(&thread) {
                return Ok(n);
            }
            let n = store.thread(thread)?.len();
            sizes.insert(thread, n);
            Ok(n)
        };
        let base_start = match self.locate(from) {
            Loc::Base(b) => b,
            Loc::Child(e, k) => {
                let exp = &self.expansions[e];
                for (i, child) in exp.children.iter().enumerate().skip(k) {
                    out.push(Row {
                        message: child.clone(),
                        index: from + i - k,
                        child: true,
                        thread_size: 0,
                        expanded: false,
                    });
                }
                exp.anchor + 1
            }
        };
        let base = self.base_rows(store, base_start, count)?;
        for (i, message) in base.into_iter().enumerate() {
            if out.len() >= count {
                break;
            }
            let b = base_start + i;
            let expansion = self
                .expansions
                .iter()
                .find(|e| e.anchor == b && e.anchor_id == message.id);
            let thread_size = size_of(message.thread)?;
            out.push(Row {
                index: from + out.len(),
                thread_size,
                expanded: expansion.is_some(),
                child: false,
                message,
            });
            if let Some(exp) = expansion {
                for child in &exp.children {
                    out.push(Row {
                        message: child.clone(),
                        index: from + out.len(),
                        child: true,
                        thread_size: 0,
                        expanded: false,
                    });
                }
            }
        }
        out.truncate(count);
        Ok(out)
    }

    /// Opens or closes the thread under the row at `index`.
    pub fn toggle_thread(&mut self, store: &Store, index: usize) -> Result<(), StoreError> {
        let Loc::Base(b) = self.locate(index) else {
            return Ok(());
        };
        if let Some(pos) = self.expansions.iter().position(|e| e.anchor == b) {
            let removed = self.expansions.remove(pos);
            // The selection may not point into rows that are gone.
            if let Some(c) = self.cursor
                && c > index
            {
                self.cursor = Some(if c <= index + removed.children.len() {
                    index
                } else {
                    c - removed.children.len()
                });
            }
        } else if let Some(row) = self.row(index).filter(|r| !r.child).cloned() {
            let children: Vec<MessageRow> = store
                .thread(row.message.thread)?
                .into_iter()
                .filter(|m| m.id != row.message.id)
                .collect();
            if children.is_empty() {
                return Ok(());
            }
            if let Some(c) = self.cursor
                && c > index
            {
                self.cursor = Some(c + children.len());
            }
            let pos = self.expansions.partition_point(|e| e.anchor < b);
            self.expansions.insert(
                pos,
                Expansion {
                    anchor: b,
                    anchor_id: row.message.id,
                    children,
                },
            );
        }
        self.refresh(store, false)
    }

    /// A click on the row at `index`: plain selects it alone, Ctrl adds or removes it,
    /// Shift selects the range from the last plain click.
    pub fn click(
        &mut self,
        store: &Store,
        index: usize,
        ctrl: bool,
        shift: bool,
    ) -> Result<(), StoreError> {
        let Some(id) = self.id_at(store, index)? else {
            return Ok(());
        };
        if shift && let Some(anchor) = self.anchor {
            let (a, b) = (anchor.min(index), anchor.max(index));
            let b = b.min(a + MAX_RANGE);
            self.selected = self.ids_in(store, a..b + 1)?;
        } else if ctrl {
            if let Some(pos) = self.selected.iter().position(|&s| s == id) {
                self.selected.remove(pos);
            } else {
                self.selected.push(id);
            }
            self.anchor = Some(index);
        } else {
            self.selected = vec![id];
            self.anchor = Some(index);
        }
        self.cursor = Some(index);
        Ok(())
    }

    /// Moves the focus by `delta` rows and selects that row alone; its id.
    pub fn step(&mut self, store: &Store, delta: isize) -> Result<Option<MessageId>, StoreError> {
        let total = self.total();
        if total == 0 {
            return Ok(None);
        }
        let next = match self.cursor {
            None => 0,
            Some(c) => c.saturating_add_signed(delta).min(total - 1),
        };
        let id = self.id_at(store, next)?;
        if let Some(id) = id {
            self.selected = vec![id];
            self.cursor = Some(next);
            self.anchor = Some(next);
        }
        Ok(id)
    }

    /// The id at position `index`, reading it if it is out of view.
    fn id_at(&mut self, store: &Store, index: usize) -> Result<Option<MessageId>, StoreError> {
        if let Some(row) = self.row(index) {
            return Ok(Some(row.message.id));
        }
        Ok(self.ids_in(store, index..index + 1)?.first().copied())
    }

    fn ids_in(&mut self, store: &Store, range: Range<usize>) -> Result<Vec<MessageId>, StoreError> {
        let window = self
            .rows
            .first()
            .map(|r| r.index..r.index + self.rows.len());
        if let Some(w) = window
            && w.start <= range.start
            && range.end <= w.end
        {
            return Ok(self.rows[range.start - w.start..range.end - w.start]
                .iter()
                .map(|r| r.message.id)
                .collect());
        }
        Ok(self
            .load(store, range.start, range.len())?
            .iter()
            .map(|r| r.message.id)
            .collect())
    }

    /// Hides messages moved or deleted here until the store shows them gone; the focus
    /// stays where it is, on the row that takes the removed one's place.
    pub fn remove(&mut self, store: &Store, ids: &[MessageId]) -> Result<(), StoreError> {
        self.hidden.extend(ids.iter().copied());
        self.selected.retain(|id| !ids.contains(id));
        self.refresh(store, false)
    }

    /// Shows a flag change at once.
    pub fn set_flags(&mut self, ids: &[MessageId], add: Flags, remove: Flags) {
        for row in self.rows.iter().filter(|r| ids.contains(&r.message.id)) {
            let mut f = self
                .flags
                .get(&row.message.id)
                .copied()
                .unwrap_or(row.message.flags);
            f.insert(add);
            f.remove(remove);
            self.flags.insert(row.message.id, f);
        }
    }
}

//! The unified Inbox: the Inboxes of every account merged into one order, paged like a
//! folder. The store pages each folder; this merges them and remembers, every
//! [`STRIDE`] merged rows, how far into each folder the merge had got, so a window deep
//! in the list is merged from the nearest mark instead of from the top.

use std::cmp::Ordering;
use std::collections::VecDeque;
use tern_core::store::{FolderId, MessageRow, SortOrder, Store, StoreError};

/// Merged rows between two marks.
const STRIDE: usize = 256;

/// See the module docs.
#[derive(Clone, Debug)]
pub struct Merged {
    folders: Vec<FolderId>,
    order: SortOrder,
    /// `marks[k]`: each folder's offset at merged position `k * STRIDE`.
    marks: Vec<Vec<u32>>,
}

/// The case-folded sender a sender sort compares (close to the store's own key).
fn sender_key(row: &MessageRow) -> String {
    row.from
        .first()
        .map(|a| {
            a.name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| a.email.clone())
        })
        .unwrap_or_default()
        .to_lowercase()
}

/// True when `a` comes before `b` in `order`.
fn before(order: SortOrder, a: &MessageRow, b: &MessageRow) -> bool {
    let newest = (b.date, b.id).cmp(&(a.date, a.id));
    let ord = match order {
        SortOrder::DateDesc => newest,
        SortOrder::DateAsc => newest.reverse(),
        SortOrder::SenderAsc => sender_key(a).cmp(&sender_key(b)).then(newest),
    };
    ord == Ordering::Less
}

impl Merged {
    pub fn new(folders: Vec<FolderId>, order: SortOrder) -> Merged {
        let marks = vec![vec![0; folders.len()]];
        Merged {
            folders,
            order,
            marks,
        }
    }

    /// Merged rows `from..from + count`.
    pub fn window(
        &mut self,
        store: &Store,
        from: usize,
        count: usize,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let k = from / STRIDE;
        while self.marks.len() <= k {
            let Some(last) = self.marks.last().cloned() else {
                break;
            };
            let (_, next) = self.merge(store, &last, STRIDE, STRIDE)?;
            if next == last {
                break;
            }
            self.marks.push(next);
        }
        let k = k.min(self.marks.len().saturating_sub(1));
        let Some(start) = self.marks.get(k).cloned() else {
            return Ok(Vec::new());
        };
        let skip = from - k * STRIDE;
        Ok(self.merge(store, &start, skip + count, skip)?.0)
    }

    /// Merges `n` rows from `offsets`, keeping those after the first `skip`.
    fn merge(
        &self,
        store: &Store,
        offsets: &[u32],
        n: usize,
        skip: usize,
    ) -> Result<(Vec<MessageRow>, Vec<u32>), StoreError> {
        let limit = u32::try_from(n).unwrap_or(u32::MAX);
        let mut heads: Vec<VecDeque<MessageRow>> = Vec::with_capacity(self.folders.len());
        for (&folder, &offset) in self.folders.iter().zip(offsets) {
            heads.push(store.page(folder, offset, limit, self.order)?.into());
        }
        let mut pos = offsets.to_vec();
        let mut out = Vec::with_capacity(n.saturating_sub(skip));
        for i in 0..n {
            let mut best: Option<usize> = None;
            for (j, head) in heads.iter().enumerate() {
                let Some(row) = head.front() else { continue };
                let better = match best.and_then(|b| heads[b].front()) {
                    Some(current) => before(self.order, row, current),
                    None => true,
                };
                if better {
                    best = Some(j);
                }
            }
            let Some(j) = best else { break };
            let Some(row) = heads[j].pop_front() else {
                break;
            };
            pos[j] += 1;
            if i >= skip {
                out.push(row);
            }
        }
        Ok((out, pos))
    }
}

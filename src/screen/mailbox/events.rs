//! The engine's news, taken into the mailbox: connection states, sync progress that
//! fills the list while it runs, changed folders, bodies that arrived, search results.

use super::folders::{Connection, Place};
use super::list::{List, Source};
use super::{Mailbox, Message, Syncing, format, reader};
use crate::engine::CoreEvent;
use crate::i18n::tr_args;
use iced::Task;
use std::time::{Duration, Instant};

/// How often the list is reread while a sync fills it.
const PROGRESS_REFRESH: Duration = Duration::from_millis(250);
use tern_core::store::FolderId;

impl Mailbox {
    /// Takes an engine event into account.
    pub fn event(&mut self, event: CoreEvent) -> Task<Message> {
        match event {
            CoreEvent::Online { account } => {
                self.connections.insert(account, Connection::Online);
                self.reload_tree();
            }
            CoreEvent::Offline { account, error } => {
                let reason = error.to_string();
                let name = self
                    .accounts
                    .iter()
                    .find(|a| a.id == account)
                    .map_or_else(|| account.clone(), |a| a.name.clone());
                self.error(tr_args(
                    "status-offline",
                    &[("account", name.into()), ("reason", reason.clone().into())],
                ));
                self.connections
                    .insert(account, Connection::Offline(reason));
                self.reload_tree();
            }
            CoreEvent::SyncProgress {
                account,
                folder,
                progress,
            } => {
                if progress.total > 0 && progress.fetched >= progress.total {
                    self.syncing.remove(&account);
                } else {
                    self.syncing.insert(account, Syncing { folder, progress });
                }
                // A first sync fills the list from the top while it runs: reread now,
                // or, if that was just done, once a little later.
                if self.list_shows(folder) {
                    if self
                        .last_progress_refresh
                        .is_none_or(|t| t.elapsed() >= PROGRESS_REFRESH)
                    {
                        self.last_progress_refresh = Some(Instant::now());
                        return self.try_refresh_list();
                    } else {
                        return self.schedule_refresh(PROGRESS_REFRESH);
                    }
                }
            }
            CoreEvent::FolderListChanged { .. } => {
                self.reload_tree();
                // A new profile's first folder list: open its Inbox, unless the user
                // went somewhere already.
                if self.auto_place
                    && let Some(inbox) = self.tree.first_inbox()
                {
                    self.auto_place = false;
                    self.place = Place::Folder(inbox);
                    self.list = List::new(Source::Folder(inbox), self.list.order);
                    self.refresh_list(true);
                }
            }
            CoreEvent::FolderChanged { folder, account } => {
                self.syncing.remove(&account);
                self.reload_tree();
                if self.list_shows(folder) {
                    self.refresh_list(true);
                }
            }
            CoreEvent::NewMail { .. } => self.reload_tree(),
            CoreEvent::BodyReady(id) => {
                let waiting = self
                    .reader
                    .as_ref()
                    .filter(|r| r.id == id && matches!(r.body, reader::Body::Loading))
                    .map(|r| r.row.size > super::OPEN_IN_BACKGROUND);
                if let Some(big) = waiting {
                    return self.load_body(id, big);
                }
            }
            CoreEvent::SearchResults { query, mut rows } => {
                if query == self.search && !query.trim().is_empty() {
                    sort_rows(&mut rows, self.list.order);
                    self.list = List::new(Source::Search { query, rows }, self.list.order);
                    self.refresh_list(false);
                }
            }
            CoreEvent::Error(e) => self.error(e),
            // Outbox and draft news, and whatever the engine learns to say later: the
            // tree's counts and the Outbox are reread.
            _ => {
                self.reload_tree();
                if self.place == Place::Outbox {
                    self.refresh_list(false);
                }
                self.reload_local_drafts();
            }
        }
        Task::none()
    }

    /// True if the list shows (part of) folder `id`.
    pub(super) fn list_shows(&self, id: FolderId) -> bool {
        match &self.list.source {
            Source::Folder(f) => *f == id && self.place != Place::Outbox,
            Source::Unified(fs) => fs.contains(&id),
            Source::Search { .. } => false,
        }
    }
}

/// Sorts search results like the list.
pub(super) fn sort_rows(
    rows: &mut [tern_core::store::MessageRow],
    order: tern_core::store::SortOrder,
) {
    use tern_core::store::SortOrder;
    match order {
        SortOrder::DateDesc => rows.sort_by_key(|r| std::cmp::Reverse((r.date, r.id))),
        SortOrder::DateAsc => rows.sort_by_key(|r| (r.date, r.id)),
        SortOrder::SenderAsc => rows.sort_by_cached_key(|r| {
            (
                format::sender(&r.from).to_lowercase(),
                std::cmp::Reverse((r.date, r.id)),
            )
        }),
    }
}

//! What the user does to messages: move, delete, flag, reply (handed to the composer),
//! from the toolbar, the keyboard or the reader; and saving or opening attachments.

use super::folders::{self, Place};
use super::list::{List, Source};
use super::reader::{self, Reader};
use super::{Action, ComposeRequest, Destination, Mailbox, Message, SEARCH_ID, Verb};
use crate::i18n::{tr, tr_args};
use crate::settings::Settings;
use crate::widget::message_list;
use iced::Task;
use std::path::PathBuf;
use std::time::Duration;
use tern_core::engine::Command;
use tern_core::store::{Flags, FolderId, FolderRole, MessageId};

impl Mailbox {
    pub(super) fn set_flags(&mut self, ids: Vec<MessageId>, add: Flags, remove: Flags) {
        if ids.is_empty() {
            return;
        }
        self.list.set_flags(&ids, add, remove);
        self.engine.send(Command::SetFlags { ids, add, remove });
    }

    /// Takes the selection out of the list; the engine moves or deletes it.
    pub(super) fn take_selection(
        &mut self,
        command: impl FnOnce(Vec<MessageId>) -> Command,
    ) -> Task<Message> {
        let ids = self.list.selected.clone();
        if ids.is_empty() {
            return Task::none();
        }
        self.engine.send(command(ids.clone()));
        let engine = self.engine.clone();
        let list = &mut self.list;
        if let Err(e) = engine.read(|s| list.remove(s, &ids)) {
            self.error(e);
        }
        if self.reader.as_ref().is_some_and(|r| ids.contains(&r.id)) {
            self.reader = None;
        }
        // The row now at the focus is the next message: select and show it.
        let next = self
            .list
            .cursor
            .and_then(|c| self.list.row(c))
            .map(|r| r.message.id);
        let open = match next {
            Some(id) => {
                self.list.selected = vec![id];
                self.open(id)
            }
            None => Task::none(),
        };
        Task::batch([open, self.schedule_refresh(Duration::from_millis(150))])
    }

    /// The folders the selection is in.
    pub(super) fn selection_folders(&self) -> Vec<FolderId> {
        let mut folders = Vec::new();
        for id in &self.list.selected {
            let row = self.list.rows().iter().find(|r| r.message.id == *id);
            let folder = row.map(|r| r.message.folder).or_else(|| {
                self.read(|s| Ok(s.message(*id)?.map(|m| m.folder)))
                    .ok()
                    .flatten()
            });
            if let Some(f) = folder
                && !folders.contains(&f)
            {
                folders.push(f);
            }
        }
        folders
    }

    /// The account of the selection, when it is one account.
    pub(super) fn selection_account(&self) -> Option<String> {
        let mut account = None;
        for folder in self.selection_folders() {
            let acc = self.tree.folder(folder).map(|f| f.account.clone())?;
            match &account {
                None => account = Some(acc),
                Some(a) if *a == acc => {}
                Some(_) => return None,
            }
        }
        account
    }

    /// Folders the selection can be moved to.
    pub fn destinations(&self) -> Vec<Destination> {
        let Some(account) = self.selection_account() else {
            return Vec::new();
        };
        // A folder every selected message is already in is no destination.
        let here = match self.selection_folders().as_slice() {
            [one] => Some(*one),
            _ => None,
        };
        self.tree
            .entries
            .iter()
            .filter_map(|e| match e {
                folders::Entry::Folder {
                    folder,
                    depth,
                    label,
                } if folder.account == account && folder.selectable && Some(folder.id) != here => {
                    Some(Destination {
                        id: folder.id,
                        label: format!("{}{label}", "  ".repeat(usize::from(*depth))),
                    })
                }
                _ => None,
            })
            .collect()
    }

    pub(super) fn move_to_role(&mut self, role: FolderRole) -> Task<Message> {
        let Some(account) = self.selection_account() else {
            return Task::none();
        };
        match self.tree.folder_with_role(&account, role) {
            Some(f) if self.selection_folders() != [f.id] => {
                let to = f.id;
                self.take_selection(|ids| Command::Move { ids, to })
            }
            Some(_) => Task::none(),
            None => {
                self.notice = Some(tr("notice-no-such-folder"));
                Task::none()
            }
        }
    }

    pub(super) fn focused_message(&self) -> Option<MessageId> {
        self.reader
            .as_ref()
            .map(|r| r.id)
            .or_else(|| self.list.selected.first().copied())
    }

    pub(super) fn verb(&mut self, verb: Verb) -> Action {
        let task = match verb {
            Verb::Next | Verb::Previous => {
                let delta = if verb == Verb::Next { 1 } else { -1 };
                let engine = self.engine.clone();
                let list = &mut self.list;
                match engine.read(|s| list.step(s, delta)) {
                    Ok(Some(id)) => {
                        let open = self.open(id);
                        let scroll = match self.list.cursor.and_then(|c| self.list.reveal(c)) {
                            Some(y) => {
                                self.refresh_list(false);
                                message_list::scroll_to(y)
                            }
                            None => Task::none(),
                        };
                        Task::batch([open, scroll])
                    }
                    Ok(None) => Task::none(),
                    Err(e) => {
                        self.error(e);
                        Task::none()
                    }
                }
            }
            Verb::Open => {
                let mut task = Task::none();
                if let Some(id) = self
                    .list
                    .cursor
                    .and_then(|c| self.list.row(c))
                    .map(|r| r.message.id)
                {
                    task = self.open(id);
                }
                if let Some(pane) = self.reader_pane {
                    self.panes.maximize(pane);
                }
                task
            }
            Verb::Back => {
                if self.panes.maximized().is_some() {
                    self.panes.restore();
                } else if !self.search.is_empty() {
                    return self.update_search(String::new());
                }
                Task::none()
            }
            Verb::Delete => self.take_selection(Command::Delete),
            Verb::Archive => self.move_to_role(FolderRole::Archive),
            Verb::Junk => self.move_to_role(FolderRole::Junk),
            Verb::ToggleRead | Verb::ToggleFlag => {
                let flag = if verb == Verb::ToggleRead {
                    Flags::SEEN
                } else {
                    Flags::FLAGGED
                };
                let ids = self.list.selected.clone();
                // All set: clear it; otherwise set it on all.
                let all = ids.iter().all(|id| {
                    self.list
                        .rows()
                        .iter()
                        .find(|r| r.message.id == *id)
                        .is_some_and(|r| self.list.flags(&r.message).contains(flag))
                });
                if all {
                    self.set_flags(ids, Flags::empty(), flag);
                } else {
                    self.set_flags(ids, flag, Flags::empty());
                }
                self.schedule_refresh(Duration::from_millis(150))
            }
            Verb::Reply | Verb::ReplyAll | Verb::Forward => {
                let Some(id) = self.focused_message() else {
                    return Action::None;
                };
                return Action::Compose(match verb {
                    Verb::Reply => ComposeRequest::Reply(id),
                    Verb::ReplyAll => ComposeRequest::ReplyAll(id),
                    _ => ComposeRequest::Forward(id),
                });
            }
            Verb::Compose => return Action::Compose(ComposeRequest::New),
            Verb::Settings => return Action::OpenSettings,
            Verb::Search => iced::widget::operation::focus(SEARCH_ID),
        };
        Action::Run(task)
    }

    pub(super) fn update_search(&mut self, query: String) -> Action {
        self.search = query;
        if self.search.trim().is_empty() {
            let (place, order) = (self.place.clone(), self.list.order);
            let source = match place {
                Place::Folder(id) => Source::Folder(id),
                Place::Unified => Source::Unified(self.tree.inboxes()),
                Place::Outbox => return Action::None,
            };
            self.list = List::new(source, order);
            self.refresh_list(true);
        } else {
            self.engine.send(Command::Search {
                query: self.search.clone(),
                account: None,
                folder: None,
            });
        }
        Action::None
    }

    pub(super) fn reader_message(
        &mut self,
        message: reader::Message,
        settings: &mut Settings,
    ) -> Action {
        let Some(reader) = &mut self.reader else {
            return Action::None;
        };
        let Some(request) = reader.update(message) else {
            return Action::None;
        };
        match request {
            reader::Message::OpenLink => {
                let Some(url) = reader.link.take() else {
                    return Action::None;
                };
                if let Some(to) = url.strip_prefix("mailto:") {
                    return Action::Compose(ComposeRequest::MailTo(to.to_string()));
                }
                if let Err(e) = open::that_detached(&url) {
                    self.error(tr_args(
                        "error-open-link",
                        &[("reason", e.to_string().into())],
                    ));
                }
                Action::None
            }
            reader::Message::CopyLink => match reader.link.take() {
                Some(url) => Action::Run(iced::clipboard::write(url)),
                None => Action::None,
            },
            reader::Message::LoadImages => {
                // Under "never" nothing offers this, and nothing is remembered.
                if settings.remote_content == crate::screen::settings::RemoteContent::Never {
                    return Action::None;
                }
                reader.images_allowed = true;
                self.images_allowed.insert(reader.id);
                Action::Run(reader.load_remote(settings).map(Message::Reader))
            }
            reader::Message::TrustSender => {
                if let Some(sender) = reader.sender() {
                    settings.remote_images.insert(sender);
                }
                Action::Run(reader.load_remote(settings).map(Message::Reader))
            }
            // Shown from the store: its remote images load if the settings allow them.
            reader::Message::Shown => {
                Action::Run(reader.load_remote(settings).map(Message::Reader))
            }
            reader::Message::Save(index) => {
                let Some((name, bytes)) = attachment(reader, index) else {
                    return Action::None;
                };
                Action::Run(Task::perform(save(name, bytes), Message::Saved))
            }
            reader::Message::Open(index) => {
                let Some((name, bytes)) = attachment(reader, index) else {
                    return Action::None;
                };
                let dir = self
                    .profile_dir
                    .join("cache")
                    .join("attachments")
                    .join(reader.id.to_string());
                Action::Run(Task::perform(open_file(dir, name, bytes), |r| {
                    Message::Saved(r.map(|_| None))
                }))
            }
            _ => Action::None,
        }
    }
}

/// The file name and bytes of attachment `index` of the open message.
fn attachment(reader: &Reader, index: usize) -> Option<(String, Vec<u8>)> {
    let a = reader.attachment(index)?;
    let bytes = tern_core::mime::attachment_bytes(reader.raw()?, index)?;
    let name = a.name.clone().unwrap_or_else(|| tr("attachment-unnamed"));
    Some((safe_file_name(&name), bytes))
}

/// A name that stays in the folder it is written to: no separators, no leading dots.
fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\' | '\0') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        tr("attachment-unnamed")
    } else {
        cleaned
    }
}

/// Asks where to save and writes the bytes there; `None` when the user cancelled.
async fn save(name: String, bytes: Vec<u8>) -> Result<Option<PathBuf>, String> {
    let Some(file) = rfd::AsyncFileDialog::new()
        .set_file_name(&name)
        .save_file()
        .await
    else {
        return Ok(None);
    };
    let path = file.path().to_path_buf();
    tokio::fs::write(&path, bytes).await.map_err(|e| {
        tr_args(
            "error-save",
            &[
                ("path", path.display().to_string().into()),
                ("reason", e.to_string().into()),
            ],
        )
    })?;
    Ok(Some(path))
}

/// Kinds of file that run code when opened: these are saved, never opened from here.
const RISKY: &[&str] = &[
    "exe", "com", "bat", "cmd", "scr", "msi", "ps1", "vbs", "js", "jse", "wsf", "hta", "jar", "sh",
    "bash", "desktop", "appimage", "run", "bin", "app", "command", "lnk", "reg", "py", "pl",
];

/// Writes the attachment to a private folder and opens it with the system's program.
async fn open_file(dir: PathBuf, name: String, bytes: Vec<u8>) -> Result<(), String> {
    let ext = name
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if name.contains('.') && RISKY.contains(&ext.as_str()) {
        return Err(tr_args("error-risky-attachment", &[("name", name.into())]));
    }
    let path = dir.join(&name);
    let failed = |e: std::io::Error| {
        tr_args(
            "error-save",
            &[
                ("path", path.display().to_string().into()),
                ("reason", e.to_string().into()),
            ],
        )
    };
    tokio::fs::create_dir_all(&dir).await.map_err(failed)?;
    tokio::fs::write(&path, bytes).await.map_err(failed)?;
    open::that_detached(&path)
        .map_err(|e| tr_args("error-open-link", &[("reason", e.to_string().into())]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_names_cannot_leave_their_folder() {
        assert_eq!(safe_file_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_file_name(".bashrc"), "bashrc");
        assert_eq!(safe_file_name("report.pdf"), "report.pdf");
    }
}

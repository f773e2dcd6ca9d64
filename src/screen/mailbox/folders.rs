//! The folder tree: a unified Inbox, the Outbox, then each account with its folders,
//! special folders first, the rest nested by the server's delimiter.

use crate::i18n::tr;
use crate::theme::{self, size, space};
use crate::widget::icon::{self, Icon};
use iced::widget::{Space, button, column, container, mouse_area, row, scrollable, text};
use iced::{Alignment, Border, Element, Length};
use std::collections::{BTreeMap, HashMap};
use tern_core::store::{Folder, FolderId, FolderRole, Store, StoreError};

/// An account as the tree shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountInfo {
    pub id: String,
    /// The display name, else the address.
    pub name: String,
    pub email: String,
}

/// Where an account's connection stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Connection {
    #[default]
    Connecting,
    Online,
    /// With the engine's reason.
    Offline(String),
}

/// What a click in the tree selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    Folder(FolderId),
    Unified,
    Outbox,
}

/// One line of the tree.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    Unified {
        unread: u32,
    },
    Outbox {
        count: usize,
        failed: usize,
    },
    Account {
        account: AccountInfo,
        connection: Connection,
    },
    Folder {
        folder: Folder,
        label: String,
        depth: u8,
    },
    /// A parent the server did not list (e.g. `[Gmail]` with `\Noselect` dropped).
    Parent {
        label: String,
        depth: u8,
    },
}

/// A drag of messages over the tree: folders report the pointer coming and going, and
/// the one that would take the messages is highlighted.
pub struct Dropping<Message> {
    pub over: Option<FolderId>,
    pub enter: fn(FolderId) -> Message,
    pub leave: fn(FolderId) -> Message,
}

/// The tree, flattened in display order.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    pub entries: Vec<Entry>,
}

fn role_rank(role: FolderRole) -> u8 {
    match role {
        FolderRole::Inbox => 0,
        FolderRole::Drafts => 1,
        FolderRole::Sent => 2,
        FolderRole::Archive => 3,
        FolderRole::Junk => 4,
        FolderRole::Trash => 5,
    }
}

pub fn role_icon(role: Option<FolderRole>) -> Icon {
    match role {
        Some(FolderRole::Inbox) => Icon::Inbox,
        Some(FolderRole::Drafts) => Icon::Drafts,
        Some(FolderRole::Sent) => Icon::Sent,
        Some(FolderRole::Archive) => Icon::Archive,
        Some(FolderRole::Junk) => Icon::Junk,
        Some(FolderRole::Trash) => Icon::Trash,
        None => Icon::Folder,
    }
}

/// The last part of a folder's path; `INBOX` reads as the translated "Inbox".
pub fn folder_label(folder: &Folder) -> String {
    if folder.role == Some(FolderRole::Inbox) && folder.name.eq_ignore_ascii_case("INBOX") {
        return tr("folder-inbox");
    }
    match folder.delimiter {
        Some(d) => folder
            .name
            .rsplit(d)
            .next()
            .unwrap_or(&folder.name)
            .to_string(),
        None => folder.name.clone(),
    }
}

/// A node of one account's folder hierarchy.
#[derive(Default)]
struct Node {
    folder: Option<Folder>,
    children: BTreeMap<String, Node>,
}

fn emit(entries: &mut Vec<Entry>, name: &str, node: Node, depth: u8) {
    match node.folder {
        Some(folder) => {
            let label = folder_label(&folder);
            entries.push(Entry::Folder {
                folder,
                label,
                depth,
            });
        }
        None => entries.push(Entry::Parent {
            label: name.to_string(),
            depth,
        }),
    }
    let mut children: Vec<(String, Node)> = node.children.into_iter().collect();
    children.sort_by_key(|(k, _)| k.to_lowercase());
    for (k, child) in children {
        emit(entries, &k, child, depth.saturating_add(1));
    }
}

/// One account's folders in display order: special folders first (hoisted out of any
/// parent, as Gmail's `[Gmail]/Sent Mail`), then the hierarchy of the others.
pub fn account_entries(mut folders: Vec<Folder>) -> Vec<Entry> {
    let mut entries = Vec::new();
    let (mut special, others): (Vec<Folder>, Vec<Folder>) =
        folders.drain(..).partition(|f| f.role.is_some());
    special.sort_by_key(|f| (f.role.map_or(9, role_rank), f.name.to_lowercase()));
    let mut roots: BTreeMap<String, Node> = BTreeMap::new();
    let special_names: HashMap<String, usize> = special
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.clone(), i))
        .collect();
    // Children of a special folder (INBOX.Lists) stay under it.
    let mut special_children: Vec<BTreeMap<String, Node>> =
        (0..special.len()).map(|_| BTreeMap::new()).collect();
    for folder in others {
        let parts: Vec<String> = match folder.delimiter {
            Some(d) => folder.name.split(d).map(str::to_string).collect(),
            None => vec![folder.name.clone()],
        };
        let delim = folder.delimiter.map(String::from).unwrap_or_default();
        // The longest special folder this one sits under, if any.
        let mut base = None;
        for n in (1..parts.len()).rev() {
            if let Some(&i) = special_names.get(&parts[..n].join(&delim)) {
                base = Some((i, n));
                break;
            }
        }
        let (mut level, rest) = match base {
            Some((i, n)) => (&mut special_children[i], &parts[n..]),
            None => (&mut roots, &parts[..]),
        };
        let Some((last, path)) = rest.split_last() else {
            continue;
        };
        for part in path {
            level = &mut level.entry(part.clone()).or_default().children;
        }
        level.entry(last.clone()).or_default().folder = Some(folder);
    }
    for (folder, children) in special.into_iter().zip(special_children) {
        let node = Node {
            folder: Some(folder),
            children,
        };
        emit(&mut entries, "", node, 0);
    }
    let mut roots: Vec<(String, Node)> = roots.into_iter().collect();
    roots.sort_by_key(|(k, _)| k.to_lowercase());
    for (k, node) in roots {
        emit(&mut entries, &k, node, 0);
    }
    entries
}

impl Tree {
    /// Reads the tree from the store.
    pub fn load(
        store: &Store,
        accounts: &[AccountInfo],
        connections: &HashMap<String, Connection>,
    ) -> Result<Tree, StoreError> {
        let mut entries = Vec::new();
        let mut per_account = Vec::new();
        let mut inbox_unread = 0;
        for account in accounts {
            let folders = store.folders(&account.id)?;
            inbox_unread += folders
                .iter()
                .filter(|f| f.role == Some(FolderRole::Inbox))
                .map(|f| f.unread)
                .sum::<u32>();
            per_account.push((account, folders));
        }
        if accounts.len() > 1 {
            entries.push(Entry::Unified {
                unread: inbox_unread,
            });
        }
        let outbox = store.outbox(None)?;
        entries.push(Entry::Outbox {
            count: outbox.len(),
            failed: outbox
                .iter()
                .filter(|i| {
                    matches!(
                        i.state,
                        tern_core::store::OutboxState::Failed
                            | tern_core::store::OutboxState::MaybeSent
                    )
                })
                .count(),
        });
        for (account, folders) in per_account {
            entries.push(Entry::Account {
                account: account.clone(),
                connection: connections.get(&account.id).cloned().unwrap_or_default(),
            });
            entries.extend(account_entries(folders));
        }
        Ok(Tree { entries })
    }

    /// Every selectable folder, for the "move to" menu: (id, account, path).
    pub fn folders(&self) -> impl Iterator<Item = &Folder> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Folder { folder, .. } if folder.selectable => Some(folder),
            _ => None,
        })
    }

    /// The folder with `id`.
    pub fn folder(&self, id: FolderId) -> Option<&Folder> {
        self.folders().find(|f| f.id == id)
    }

    /// The account's folder with `role`.
    pub fn folder_with_role(&self, account: &str, role: FolderRole) -> Option<&Folder> {
        self.folders()
            .find(|f| f.account == account && f.role == Some(role))
    }

    /// The Inbox of each account, in tree order.
    pub fn inboxes(&self) -> Vec<FolderId> {
        self.folders()
            .filter(|f| f.role == Some(FolderRole::Inbox))
            .map(|f| f.id)
            .collect()
    }

    /// The first account's Inbox: where the app opens.
    pub fn first_inbox(&self) -> Option<FolderId> {
        self.inboxes().first().copied()
    }

    /// Shows the tree; `selected` is highlighted, clicks select with `on_select`; during
    /// a drag, `dropping` follows the pointer over the folders.
    pub fn view<'a, Message: Clone + 'a>(
        &'a self,
        selected: Option<&Place>,
        on_select: impl Fn(Place) -> Message + 'a,
        dropping: Option<Dropping<Message>>,
    ) -> Element<'a, Message> {
        let mut col = column![].spacing(space::XXS).padding([space::M, space::S]);
        for entry in &self.entries {
            let line: Element<'a, Message> = match entry {
                Entry::Unified { unread } => item(
                    Icon::Inboxes,
                    tr("folder-unified"),
                    *unread,
                    0,
                    selected == Some(&Place::Unified),
                    Some(on_select(Place::Unified)),
                ),
                Entry::Outbox { count, failed } => {
                    let label = if *failed > 0 {
                        crate::i18n::tr_args(
                            "folder-outbox-failed",
                            &[("failed", (*failed).into())],
                        )
                    } else {
                        tr("folder-outbox")
                    };
                    item(
                        Icon::Outbox,
                        label,
                        u32::try_from(*count).unwrap_or(u32::MAX),
                        0,
                        selected == Some(&Place::Outbox),
                        Some(on_select(Place::Outbox)),
                    )
                }
                Entry::Account {
                    account,
                    connection,
                } => account_header(account, connection),
                Entry::Folder {
                    folder,
                    label,
                    depth,
                } => {
                    let target = dropping.as_ref().and_then(|d| d.over) == Some(folder.id);
                    let line = item_styled(
                        role_icon(folder.role),
                        label.clone(),
                        folder.unread,
                        *depth,
                        if target {
                            Look::DropTarget
                        } else {
                            Look::Row(selected == Some(&Place::Folder(folder.id)))
                        },
                        folder
                            .selectable
                            .then(|| on_select(Place::Folder(folder.id))),
                    );
                    // Always in a mouse area (handlers only while dragging), so a drag
                    // starting does not rebuild the tree's widgets.
                    let mut area = mouse_area(line);
                    if let Some(d) = &dropping {
                        area = area
                            .on_enter((d.enter)(folder.id))
                            .on_exit((d.leave)(folder.id));
                    }
                    area.into()
                }
                Entry::Parent { label, depth } => {
                    item(Icon::Folder, label.clone(), 0, *depth, false, None)
                }
            };
            col = col.push(line);
        }
        container(scrollable(col).height(Length::Fill))
            .height(Length::Fill)
            .width(Length::Fill)
            .style(theme::sidebar)
            .into()
    }
}

fn account_header<'a, Message: 'a>(
    account: &'a AccountInfo,
    connection: &'a Connection,
) -> Element<'a, Message> {
    let dot_color = |c: &theme::Colors| match connection {
        Connection::Online => c.success,
        Connection::Connecting => c.muted,
        Connection::Offline(_) => c.danger,
    };
    let dot = container(Space::new().width(8).height(8))
        .style(move |t: &iced::Theme| theme::dot(dot_color(theme::colors(t)))(t));
    container(
        row![
            text(account.name.clone())
                .size(size::CAPTION)
                .font(bold())
                .style(|t: &iced::Theme| text::Style {
                    color: Some(theme::colors(t).muted)
                })
                .width(Length::Fill),
            dot,
        ]
        .align_y(Alignment::Center)
        .spacing(space::S),
    )
    .padding(iced::Padding {
        top: space::L,
        bottom: space::XS,
        left: space::M,
        right: space::M,
    })
    .into()
}

fn bold() -> iced::Font {
    iced::Font {
        weight: iced::font::Weight::Bold,
        ..iced::Font::DEFAULT
    }
}

fn item<'a, Message: Clone + 'a>(
    glyph: Icon,
    label: String,
    unread: u32,
    depth: u8,
    selected: bool,
    on_press: Option<Message>,
) -> Element<'a, Message> {
    item_styled(glyph, label, unread, depth, Look::Row(selected), on_press)
}

/// How a line of the tree looks.
#[derive(Clone, Copy)]
enum Look {
    /// A plain line, selected or not.
    Row(bool),
    /// The folder messages being dragged would land in: outlined in the accent colour.
    DropTarget,
}

/// The drop target's look: the selection colour, outlined.
fn drop_target(t: &iced::Theme, _status: button::Status) -> button::Style {
    let c = theme::colors(t);
    button::Style {
        background: Some(c.selection.into()),
        text_color: c.text,
        border: Border {
            radius: 4.0.into(),
            width: 2.0,
            color: c.accent,
        },
        ..button::Style::default()
    }
}

fn item_styled<'a, Message: Clone + 'a>(
    glyph: Icon,
    label: String,
    unread: u32,
    depth: u8,
    look: Look,
    on_press: Option<Message>,
) -> Element<'a, Message> {
    let name = text(label).size(size::BODY).width(Length::Fill);
    let name = if unread > 0 { name.font(bold()) } else { name };
    let mut line = row![
        Space::new().width(f32::from(depth.min(8)) * space::XL),
        icon::icon(glyph, size::ICON),
        name,
    ]
    .spacing(space::M)
    .align_y(Alignment::Center);
    if unread > 0 {
        line = line.push(text(unread.to_string()).size(size::CAPTION).font(bold()));
    }
    let b = button(line)
        .width(Length::Fill)
        .padding([space::S, space::M])
        .on_press_maybe(on_press);
    match look {
        Look::Row(selected) => b.style(theme::row(selected)),
        Look::DropTarget => b.style(drop_target),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(id: i64, name: &str, role: Option<FolderRole>) -> Folder {
        Folder {
            id,
            account: "a".into(),
            name: name.into(),
            delimiter: Some('/'),
            role,
            subscribed: true,
            selectable: true,
            uidvalidity: None,
            uidnext: None,
            highestmodseq: None,
            total: 0,
            unread: 0,
        }
    }

    fn shape(entries: &[Entry]) -> Vec<String> {
        entries
            .iter()
            .map(|e| match e {
                Entry::Folder { label, depth, .. } => {
                    format!("{}{label}", "  ".repeat(*depth as usize))
                }
                Entry::Parent { label, depth } => {
                    format!("{}({label})", "  ".repeat(*depth as usize))
                }
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn special_folders_lead_and_the_rest_nest() {
        let entries = account_entries(vec![
            folder(1, "Work/2024", None),
            folder(2, "[Gmail]/Sent Mail", Some(FolderRole::Sent)),
            folder(3, "INBOX", Some(FolderRole::Inbox)),
            folder(4, "archive", None),
            folder(5, "Trash", Some(FolderRole::Trash)),
            folder(6, "INBOX/Lists", None),
            folder(7, "Work", None),
            folder(8, "Projects/Tern/Design", None),
        ]);
        assert_eq!(
            shape(&entries),
            vec![
                "Inbox",
                "  Lists",
                "Sent Mail",
                "Trash",
                "archive",
                "(Projects)",
                "  (Tern)",
                "    Design",
                "Work",
                "  2024",
            ]
        );
    }
}

//! The local store: one SQLite file per profile holding folders, message headers, cached
//! bodies, thread ids, a full-text index and the durable queue of pending server operations.
//!
//! The engine is the only writer; one [`Store`] owns one [`rusqlite::Connection`]. Every write
//! is one transaction, so a local action and the operation it queues land together or not at
//! all. WAL with `synchronous=NORMAL`: a committed transaction survives a process kill (it may
//! be lost on power failure, which only costs a resync or a repeated user action).

mod addresses;
mod drafts;
mod folders;
mod ids;
mod local;
mod messages;
mod outbox;
mod paging;
mod pop3;
mod queue;
mod rows;
pub mod schema;
mod search;
mod threads;

use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};

pub use drafts::{DraftAttachment, DraftId, StoredDraft};
pub use messages::PreparedHeaders;
pub use outbox::{Envelope, NewOutgoing, OutboxId, OutboxItem, OutboxState, OutgoingBytes};
pub use pop3::{LocalCopy, Pop3Download, Pop3Seen};
pub use queue::OpStatus;

pub type FolderId = i64;
pub type MessageId = i64;
pub type OpId = i64;
pub type ThreadId = i64;

/// Errors of the store. Cloneable because they travel in GUI messages.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[source] Arc<rusqlite::Error>),
    #[error("stored JSON is invalid: {0}")]
    Json(#[source] Arc<serde_json::Error>),
    #[error("database schema version {found} is newer than this program ({supported})")]
    TooNew { found: i64, supported: i64 },
    #[error("no folder with id {0}")]
    NoSuchFolder(FolderId),
    #[error("no message with id {0}")]
    NoSuchMessage(MessageId),
    /// Moving or copying between accounts is not a server operation (it would be an append
    /// to one server and a delete on the other); the caller must do that itself.
    #[error("folders {0} and {1} belong to different accounts")]
    CrossAccount(FolderId, FolderId),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(Arc::new(e))
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Json(Arc::new(e))
    }
}

/// IMAP system flags as bits (keywords are kept separately as strings).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Flags(pub u8);

impl Flags {
    pub const SEEN: Flags = Flags(1);
    pub const ANSWERED: Flags = Flags(2);
    pub const FLAGGED: Flags = Flags(4);
    pub const DELETED: Flags = Flags(8);
    pub const DRAFT: Flags = Flags(16);

    /// True if every bit of `other` is set.
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
    pub fn insert(&mut self, other: Flags) {
        self.0 |= other.0;
    }
    pub fn remove(&mut self, other: Flags) {
        self.0 &= !other.0;
    }
    pub fn empty() -> Flags {
        Flags(0)
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

/// A special-use folder role (RFC 6154).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FolderRole {
    Inbox,
    Drafts,
    Sent,
    Trash,
    Junk,
    Archive,
}

impl FolderRole {
    fn as_str(self) -> &'static str {
        match self {
            FolderRole::Inbox => "inbox",
            FolderRole::Drafts => "drafts",
            FolderRole::Sent => "sent",
            FolderRole::Trash => "trash",
            FolderRole::Junk => "junk",
            FolderRole::Archive => "archive",
        }
    }

    fn parse(s: &str) -> Option<FolderRole> {
        Some(match s {
            "inbox" => FolderRole::Inbox,
            "drafts" => FolderRole::Drafts,
            "sent" => FolderRole::Sent,
            "trash" => FolderRole::Trash,
            "junk" => FolderRole::Junk,
            "archive" => FolderRole::Archive,
            _ => return None,
        })
    }
}

/// A mailbox address as shown to the user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub name: Option<String>,
    pub email: String,
}

/// A folder as the server lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderInfo {
    /// Full name as the server has it (decoded UTF-8).
    pub name: String,
    pub delimiter: Option<char>,
    pub role: Option<FolderRole>,
    pub subscribed: bool,
    pub selectable: bool,
}

/// A stored folder with its sync state and counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folder {
    pub id: FolderId,
    pub account: String,
    pub name: String,
    pub delimiter: Option<char>,
    pub role: Option<FolderRole>,
    pub subscribed: bool,
    pub selectable: bool,
    pub uidvalidity: Option<u32>,
    pub uidnext: Option<u32>,
    pub highestmodseq: Option<u64>,
    pub total: u32,
    pub unread: u32,
}

/// A message header as fetched from the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    pub uid: u32,
    pub flags: Flags,
    pub keywords: Vec<String>,
    pub modseq: u64,
    /// Unix seconds.
    pub internal_date: i64,
    pub size: u32,
    /// The Date: header, unix seconds.
    pub date: Option<i64>,
    pub subject: String,
    pub from: Vec<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub bcc: Vec<Address>,
    pub reply_to: Vec<Address>,
    /// Without angle brackets.
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub has_attachment: bool,
}

/// A message as the message list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRow {
    pub id: MessageId,
    pub folder: FolderId,
    /// None while only local (e.g. moved offline, not yet on the server).
    pub uid: Option<u32>,
    pub flags: Flags,
    pub keywords: Vec<String>,
    /// The Date header if sane, else the internal date.
    pub date: i64,
    pub internal_date: i64,
    pub size: u32,
    pub subject: String,
    pub from: Vec<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub thread: ThreadId,
    pub has_attachment: bool,
    pub has_body: bool,
}

/// Order of a folder page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SortOrder {
    #[default]
    DateDesc,
    DateAsc,
    /// Sender (display name, else address; case-folded) ascending, newest first within one sender.
    SenderAsc,
}

/// A server operation waiting to be replayed; stored as JSON in a durable queue.
/// `uidvalidity` is the folder's UIDVALIDITY when the op was queued, so a replay after a
/// UIDVALIDITY change re-finds the message by Message-ID.
///
/// `uid: 0, uidvalidity: 0` (never valid on a server) means "the server uid is not known yet":
/// find the message by Message-ID in the source folder. The store queues that when the user
/// acts on a message whose earlier upload/move has been replayed but whose new uid the engine
/// did not report. The rows created by Move/Copy/Append (`local`) carry the flags the user
/// set while they were local-only: the replay should apply that row's flags to the server copy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PendingOp {
    SetFlags {
        folder: FolderId,
        uid: u32,
        uidvalidity: u32,
        message_id: Option<String>,
        add: Flags,
        remove: Flags,
    },
    Move {
        from: FolderId,
        uid: u32,
        uidvalidity: u32,
        message_id: Option<String>,
        to: FolderId,
        /// The row now in `to`, uid None until the server gives one.
        local: MessageId,
    },
    Copy {
        from: FolderId,
        uid: u32,
        uidvalidity: u32,
        message_id: Option<String>,
        to: FolderId,
        local: MessageId,
    },
    Expunge {
        folder: FolderId,
        uid: u32,
        uidvalidity: u32,
        message_id: Option<String>,
    },
    Append {
        folder: FolderId,
        /// Raw bytes are in the bodies table.
        local: MessageId,
    },
}

/// The local store of one profile.
pub struct Store {
    conn: Connection,
    /// Bumped by every write transaction: read-side caches compare it.
    generation: u64,
    marks: RefCell<paging::PageMarks>,
    /// A first sync is storing unindexed rows: checkpoints wait (see `BULK_CHECKPOINT_PAGES`).
    bulk: bool,
}

/// Pages of WAL between automatic checkpoints.
const CHECKPOINT_PAGES: i64 = 16384;
/// The same while a first sync stores rows unindexed: a checkpoint copies and syncs pages the
/// next batches rewrite anyway, so it waits for the sync to end (`Store::index_pending`),
/// within a bound (1 GiB) for a huge folder.
const BULK_CHECKPOINT_PAGES: i64 = 262_144;

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.conn.path())
            .finish()
    }
}

impl Store {
    /// Opens (creating if needed) the store file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags)?;
        // Another process (a second instance, a backup tool) may briefly hold the lock.
        conn.busy_timeout(Duration::from_secs(5))?;
        let _mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // 32 MiB page cache: enough to keep the indexes of a 100k folder hot.
        conn.pragma_update(None, "cache_size", -32_000)?;
        // Checkpoint every 64 MiB of WAL instead of 4: a page rewritten by many batches (the
        // randomly keyed indexes are) is copied back once per checkpoint; and cap the file.
        conn.pragma_update(None, "wal_autocheckpoint", CHECKPOINT_PAGES)?;
        conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
        conn.set_prepared_statement_cache_capacity(64);
        schema::migrate(&mut conn)?;
        Ok(Store {
            conn,
            generation: 0,
            marks: RefCell::new(paging::PageMarks::default()),
            bulk: false,
        })
    }

    /// Enters or leaves bulk mode (see `BULK_CHECKPOINT_PAGES`).
    fn set_bulk(&mut self, bulk: bool) -> Result<(), StoreError> {
        if self.bulk != bulk {
            let pages = if bulk {
                BULK_CHECKPOINT_PAGES
            } else {
                CHECKPOINT_PAGES
            };
            self.conn.pragma_update(None, "wal_autocheckpoint", pages)?;
            self.bulk = bulk;
        }
        Ok(())
    }

    fn write_tx(&mut self) -> Result<rusqlite::Transaction<'_>, StoreError> {
        self.generation = self.generation.wrapping_add(1);
        // IMMEDIATE takes the write lock up front, so a busy database fails before any work.
        Ok(self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
    }
}

//! What the store keeps for POP3 accounts: which accounts are POP3, their local folders,
//! and the UIDLs already downloaded (`pop3_seen`).
//!
//! A POP3 account's folders and messages exist only here. Its rows have uid NULL, which the
//! IMAP side reads as "local-only, not yet on the server"; what keeps them from ever
//! reaching an IMAP server is the account's `pop3_account` row: a trigger (schema.rs V4)
//! drops every pending op queued for such an account, so `local_set_flags`, `local_move`,
//! `local_copy`, `local_delete` and `local_append` simply act locally for it.

use rusqlite::params;

use super::folders::folder_key;
use super::ids::Ids;
use super::messages::{add_counts, insert_fts, insert_row};
use super::threads::Threader;
use super::{Flags, FolderId, FolderInfo, FolderRole, MessageId, NewMessage, Store, StoreError};

/// A downloaded message, ready to store.
#[derive(Clone, Debug)]
pub struct Pop3Download {
    pub uidl: String,
    /// The row (its `uid` is ignored: POP3 rows are local-only).
    pub message: NewMessage,
    pub raw: Vec<u8>,
    /// The searchable body text.
    pub index_text: String,
}

/// Where the local copy of a downloaded message is now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalCopy {
    /// In some folder other than the account's Trash.
    Kept,
    InTrash,
    /// Deleted for good (expunged, Trash emptied, its folder removed).
    Deleted,
}

/// A UIDL the account has downloaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pop3Seen {
    pub uidl: String,
    /// The local copy, while it exists.
    pub message: Option<MessageId>,
    /// Unix seconds of the download.
    pub downloaded: i64,
    pub local: LocalCopy,
}

impl Store {
    /// Marks `account` as POP3, so no local action on it queues a server operation, and
    /// creates those of `folders` whose role (or, for a folder without a role, name) it
    /// lacks, in one transaction. Never removes or changes a folder: unlike
    /// [`Store::sync_folder_list`], whose "delete what is not listed" would take folders
    /// the user made here (and their messages) with it.
    pub fn ensure_pop3_account(
        &mut self,
        account: &str,
        folders: &[FolderInfo],
    ) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        tx.prepare_cached("INSERT OR IGNORE INTO pop3_account (account) VALUES (?1)")?
            .execute([account])?;
        for f in folders {
            let role = f.role.map(FolderRole::as_str);
            let have: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM folder WHERE account = ?1
                        AND (role = ?2 OR name = ?3))",
                )?
                .query_row(params![account, role, f.name], |r| r.get(0))?;
            if !have {
                tx.prepare_cached(
                    "INSERT INTO folder (account, name, delimiter, role, subscribed, selectable)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    account,
                    f.name,
                    f.delimiter.map(String::from),
                    role,
                    f.subscribed,
                    f.selectable,
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Whether `account` is marked as POP3 (see [`Store::ensure_pop3_account`]).
    pub fn is_pop3_account(&self, account: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM pop3_account WHERE account = ?1)")?
            .query_row([account], |r| r.get(0))?)
    }

    /// Drops the POP3 marker and download record of an account (removed, or switched to
    /// IMAP): its local actions queue server operations again. Folders and messages stay.
    pub fn forget_pop3_account(&mut self, account: &str) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        tx.prepare_cached("DELETE FROM pop3_account WHERE account = ?1")?
            .execute([account])?;
        tx.prepare_cached("DELETE FROM pop3_seen WHERE account = ?1")?
            .execute([account])?;
        tx.commit()?;
        Ok(())
    }

    /// Stores downloaded messages in `folder` (rows with their bytes, threads and index,
    /// unread) and records each UIDL as seen, all in one transaction: a UIDL is never seen
    /// without its message stored. A UIDL already seen is skipped, so a repeated download
    /// never makes a duplicate. Returns how many messages were stored.
    pub fn store_pop3_downloads(
        &mut self,
        account: &str,
        folder: FolderId,
        downloads: &[Pop3Download],
        downloaded_at: i64,
    ) -> Result<usize, StoreError> {
        let tx = self.write_tx()?;
        if folder_key(&tx, folder)?.account != account {
            return Err(StoreError::NoSuchFolder(folder));
        }
        let threader = Threader::new(account);
        let mut ids = Ids::load(&tx)?;
        let mut fts = Vec::with_capacity(downloads.len());
        let (mut total, mut unread) = (0i64, 0i64);
        for d in downloads {
            let seen: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM pop3_seen WHERE account = ?1 AND uidl = ?2)",
                )?
                .query_row(params![account, d.uidl], |r| r.get(0))?;
            if seen {
                continue;
            }
            let (id, row) = insert_row(
                &tx,
                &mut ids,
                &threader,
                folder,
                None,
                &d.message,
                &d.index_text,
            )?;
            tx.prepare_cached("UPDATE message SET has_body = 1 WHERE id = ?1")?
                .execute([id])?;
            tx.prepare_cached("INSERT INTO body (message, raw) VALUES (?1, ?2)")?
                .execute(params![id, d.raw])?;
            tx.prepare_cached(
                "INSERT INTO pop3_seen (account, uidl, message, downloaded)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![account, d.uidl, id, downloaded_at])?;
            fts.push(row);
            total += 1;
            unread += i64::from(!d.message.flags.contains(Flags::SEEN));
        }
        add_counts(&tx, folder, total, unread)?;
        insert_fts(&tx, &mut fts)?;
        ids.save(&tx)?;
        tx.commit()?;
        Ok(total as usize)
    }

    /// Every UIDL the account has downloaded, with where its local copy is now.
    pub fn pop3_seen(&self, account: &str) -> Result<Vec<Pop3Seen>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT s.uidl, m.id, s.downloaded, f.role
                 FROM pop3_seen s
                 LEFT JOIN message m ON m.id = s.message
                 LEFT JOIN folder f ON f.id = m.folder
                 WHERE s.account = ?1",
            )?
            .query_map([account], |r| {
                let message: Option<MessageId> = r.get(1)?;
                let role: Option<String> = r.get(3)?;
                let local = match (message, role.as_deref().and_then(FolderRole::parse)) {
                    (None, _) => LocalCopy::Deleted,
                    (Some(_), Some(FolderRole::Trash)) => LocalCopy::InTrash,
                    (Some(_), _) => LocalCopy::Kept,
                };
                Ok(Pop3Seen {
                    uidl: r.get(0)?,
                    message,
                    downloaded: r.get(2)?,
                    local,
                })
            })?
            .collect::<Result<_, _>>()?)
    }

    /// Forgets downloaded UIDLs (ones the server no longer lists).
    pub fn forget_pop3_uidls(&mut self, account: &str, uidls: &[String]) -> Result<(), StoreError> {
        if uidls.is_empty() {
            return Ok(());
        }
        let tx = self.write_tx()?;
        tx.prepare_cached(
            "DELETE FROM pop3_seen
             WHERE account = ?1 AND uidl IN (SELECT value FROM json_each(?2))",
        )?
        .execute(params![account, serde_json::to_string(uidls)?])?;
        tx.commit()?;
        Ok(())
    }

    /// Makes every committed transaction survive a power failure, not only a process kill
    /// (see the module docs on `synchronous=NORMAL`): a checkpoint syncs the WAL and the
    /// database file. Called before a server copy is deleted.
    pub fn sync_to_disk(&mut self) -> Result<(), StoreError> {
        let (busy, _log, _done): (i64, i64, i64) =
            self.conn
                .query_row("PRAGMA wal_checkpoint(FULL)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
        if busy != 0 {
            // Another connection kept the checkpoint from finishing; this one's commits
            // may still sit in an unsynced WAL.
            return Err(StoreError::Sqlite(std::sync::Arc::new(
                rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                    Some("checkpoint blocked by another connection".into()),
                ),
            )));
        }
        Ok(())
    }
}

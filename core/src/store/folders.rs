//! Folders: the server's list, sync state, counts.

use std::collections::HashSet;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Folder, FolderId, FolderInfo, FolderRole, Store, StoreError};

const FOLDER_COLS: &str = "id, account, name, delimiter, role, subscribed, selectable, \
     uidvalidity, uidnext, highestmodseq, total, unread";

fn folder_from_row(r: &Row<'_>) -> rusqlite::Result<Folder> {
    let delimiter: Option<String> = r.get(3)?;
    let role: Option<String> = r.get(4)?;
    let modseq: Option<i64> = r.get(9)?;
    Ok(Folder {
        id: r.get(0)?,
        account: r.get(1)?,
        name: r.get(2)?,
        delimiter: delimiter.and_then(|d| d.chars().next()),
        role: role.as_deref().and_then(FolderRole::parse),
        subscribed: r.get(5)?,
        selectable: r.get(6)?,
        uidvalidity: r.get(7)?,
        uidnext: r.get(8)?,
        // Stored bit-for-bit in an i64: mod-sequences are at most 2^63-1 (RFC 7162) anyway.
        highestmodseq: modseq.map(|m| m as u64),
        // Counts are kept by triggers and cannot go negative; clamp rather than fail.
        total: r.get::<_, i64>(10)?.clamp(0, u32::MAX as i64) as u32,
        unread: r.get::<_, i64>(11)?.clamp(0, u32::MAX as i64) as u32,
    })
}

/// The account and current UIDVALIDITY of a folder, for code that only has its id.
pub(super) struct FolderKey {
    pub account: String,
    pub uidvalidity: Option<u32>,
}

pub(super) fn folder_key(conn: &Connection, id: FolderId) -> Result<FolderKey, StoreError> {
    conn.prepare_cached("SELECT account, uidvalidity FROM folder WHERE id = ?1")?
        .query_row([id], |r| {
            Ok(FolderKey {
                account: r.get(0)?,
                uidvalidity: r.get(1)?,
            })
        })
        .optional()?
        .ok_or(StoreError::NoSuchFolder(id))
}

pub(super) fn folder_with_role(
    conn: &Connection,
    account: &str,
    role: FolderRole,
) -> Result<Option<Folder>, StoreError> {
    // Lowest id wins if a server marks two folders with one role.
    let sql = format!(
        "SELECT {FOLDER_COLS} FROM folder WHERE account = ?1 AND role = ?2 ORDER BY id LIMIT 1"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![account, role.as_str()], folder_from_row)
        .optional()?)
}

impl Store {
    /// Upserts the listed folders and deletes (with their messages) those no longer listed.
    pub fn sync_folder_list(
        &mut self,
        account: &str,
        folders: &[FolderInfo],
    ) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO folder (account, name, delimiter, role, subscribed, selectable)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (account, name) DO UPDATE SET
                    delimiter = excluded.delimiter, role = excluded.role,
                    subscribed = excluded.subscribed, selectable = excluded.selectable",
            )?;
            for f in folders {
                upsert.execute(params![
                    account,
                    f.name,
                    f.delimiter.map(String::from),
                    f.role.map(FolderRole::as_str),
                    f.subscribed,
                    f.selectable,
                ])?;
            }
            let listed: HashSet<&str> = folders.iter().map(|f| f.name.as_str()).collect();
            let existing: Vec<(FolderId, String)> = tx
                .prepare_cached("SELECT id, name FROM folder WHERE account = ?1")?
                .query_map([account], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            // Pending ops naming a removed folder stay queued: the engine reports them failed.
            let mut delete = tx.prepare_cached("DELETE FROM folder WHERE id = ?1")?;
            for (id, name) in existing {
                if !listed.contains(name.as_str()) {
                    delete.execute([id])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// All folders of an account, by name.
    pub fn folders(&self, account: &str) -> Result<Vec<Folder>, StoreError> {
        let sql = format!("SELECT {FOLDER_COLS} FROM folder WHERE account = ?1 ORDER BY name");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_map([account], folder_from_row)?
            .collect::<Result<_, _>>()?)
    }

    pub fn folder(&self, id: FolderId) -> Result<Option<Folder>, StoreError> {
        let sql = format!("SELECT {FOLDER_COLS} FROM folder WHERE id = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([id], folder_from_row)
            .optional()?)
    }

    pub fn folder_by_name(&self, account: &str, name: &str) -> Result<Option<Folder>, StoreError> {
        let sql = format!("SELECT {FOLDER_COLS} FROM folder WHERE account = ?1 AND name = ?2");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![account, name], folder_from_row)
            .optional()?)
    }

    pub fn folder_by_role(
        &self,
        account: &str,
        role: FolderRole,
    ) -> Result<Option<Folder>, StoreError> {
        folder_with_role(&self.conn, account, role)
    }

    /// Records what the server said on SELECT.
    pub fn set_sync_state(
        &mut self,
        folder: FolderId,
        uidvalidity: u32,
        uidnext: u32,
        highestmodseq: Option<u64>,
    ) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        let n = tx.execute(
            "UPDATE folder SET uidvalidity = ?2, uidnext = ?3, highestmodseq = ?4 WHERE id = ?1",
            params![
                folder,
                uidvalidity,
                uidnext,
                highestmodseq.map(|m| m as i64)
            ],
        )?;
        if n == 0 {
            return Err(StoreError::NoSuchFolder(folder));
        }
        tx.commit()?;
        Ok(())
    }

    /// UIDVALIDITY changed: drop every cached message of the folder whose uid is Some (rows with
    /// uid None — local-only — stay), keep the pending ops, record the new uidvalidity, clear
    /// highestmodseq/uidnext.
    pub fn reset_folder(
        &mut self,
        folder: FolderId,
        new_uidvalidity: u32,
    ) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        let n = tx.execute(
            "UPDATE folder SET uidvalidity = ?2, uidnext = NULL, highestmodseq = NULL
             WHERE id = ?1",
            params![folder, new_uidvalidity],
        )?;
        if n == 0 {
            return Err(StoreError::NoSuchFolder(folder));
        }
        // Bodies go by cascade; counts and the index by triggers.
        tx.execute(
            "DELETE FROM message WHERE folder = ?1 AND uid IS NOT NULL",
            [folder],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// (folder, unread, total) for every folder of an account.
    pub fn unread_counts(&self, account: &str) -> Result<Vec<(FolderId, u32, u32)>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT id, unread, total FROM folder WHERE account = ?1 ORDER BY id")?
            .query_map([account], |r| {
                let unread: i64 = r.get(1)?;
                let total: i64 = r.get(2)?;
                Ok((
                    r.get(0)?,
                    unread.clamp(0, u32::MAX as i64) as u32,
                    total.clamp(0, u32::MAX as i64) as u32,
                ))
            })?
            .collect::<Result<_, _>>()?)
    }
}

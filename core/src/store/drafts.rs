//! Drafts being written: the compose model as JSON plus its attachments, saved with
//! `synchronous=FULL` so a crash right after a save reopens the latest text.
//! The server copy (in the account's Drafts folder) is tracked by its Message-ID.

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};

pub type DraftId = i64;

/// An attachment of a draft, with its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DraftAttachment {
    pub name: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// A stored draft.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDraft {
    pub id: DraftId,
    pub account: String,
    /// The compose model as JSON (`crate::compose::Compose`, attachments without bytes).
    pub compose: String,
    /// Unix milliseconds of the last local save.
    pub updated: i64,
    /// Message-ID of the copy last saved to the server's Drafts folder.
    pub server_message_id: Option<String>,
    /// Unix milliseconds of that save.
    pub server_saved: Option<i64>,
}

pub(super) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn draft_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredDraft> {
    Ok(StoredDraft {
        id: r.get(0)?,
        account: r.get(1)?,
        compose: r.get(2)?,
        updated: r.get(3)?,
        server_message_id: r.get(4)?,
        server_saved: r.get(5)?,
    })
}

const DRAFT_COLS: &str = "id, account, compose, updated, server_message_id, server_saved";

/// Writes a draft row (and its attachments when given) inside the caller's transaction:
/// a save, or a message taken back from the outbox in the same transaction that removes
/// it there.
pub(super) fn write_draft(
    tx: &rusqlite::Transaction<'_>,
    id: DraftId,
    account: &str,
    compose: &str,
    attachments: Option<(&[DraftAttachment], Option<&[u8]>)>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO draft (id, account, compose, updated) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET account = excluded.account,
             compose = excluded.compose, updated = excluded.updated",
    )?
    .execute(params![id, account, compose, now_millis()])?;
    if let Some((attachments, forwarded)) = attachments {
        tx.prepare_cached("UPDATE draft SET forwarded = ?2 WHERE id = ?1")?
            .execute(params![id, forwarded])?;
        tx.prepare_cached("DELETE FROM draft_attachment WHERE draft = ?1")?
            .execute([id])?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO draft_attachment (draft, position, name, content_type, data)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (position, a) in attachments.iter().enumerate() {
            insert.execute(params![id, position as i64, a.name, a.content_type, a.data])?;
        }
    }
    Ok(())
}

impl Store {
    /// Saves a draft durably under `id` (the caller picks ids: `crate::drafts::new_draft_id`),
    /// creating it if needed. `attachments` replaces the stored set and the forwarded
    /// message when given (None: unchanged, so a typing pause does not rewrite megabytes).
    pub fn draft_save(
        &mut self,
        id: DraftId,
        account: &str,
        compose: &str,
        attachments: Option<(&[DraftAttachment], Option<&[u8]>)>,
    ) -> Result<(), StoreError> {
        self.durably(|store| {
            let tx = store.write_tx()?;
            write_draft(&tx, id, account, compose, attachments)?;
            tx.commit()?;
            Ok(())
        })
    }

    pub fn draft(&self, id: DraftId) -> Result<Option<StoredDraft>, StoreError> {
        let sql = format!("SELECT {DRAFT_COLS} FROM draft WHERE id = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([id], draft_from_row)
            .optional()?)
    }

    /// Every draft, most recently saved first (to reopen after a crash).
    pub fn drafts(&self) -> Result<Vec<StoredDraft>, StoreError> {
        let sql = format!("SELECT {DRAFT_COLS} FROM draft ORDER BY updated DESC, id DESC");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([], draft_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn draft_attachments(&self, id: DraftId) -> Result<Vec<DraftAttachment>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT name, content_type, data FROM draft_attachment WHERE draft = ?1
             ORDER BY position",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok(DraftAttachment {
                name: r.get(0)?,
                content_type: r.get(1)?,
                data: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The message a forward-as-attachment draft carries.
    pub fn draft_forwarded(&self, id: DraftId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT forwarded FROM draft WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?
            .flatten())
    }

    /// Records the server copy just saved.
    pub fn draft_set_server_copy(
        &mut self,
        id: DraftId,
        message_id: &str,
        saved: i64,
    ) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        tx.prepare_cached(
            "UPDATE draft SET server_message_id = ?2, server_saved = ?3 WHERE id = ?1",
        )?
        .execute(params![id, message_id, saved])?;
        tx.commit()?;
        Ok(())
    }

    pub fn draft_delete(&mut self, id: DraftId) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        tx.prepare_cached("DELETE FROM draft WHERE id = ?1")?
            .execute([id])?;
        tx.commit()?;
        Ok(())
    }
}

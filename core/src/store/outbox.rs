//! The outbox: messages the user sent, stored before any network I/O, and the state each
//! one has reached. `crate::outbox` drives the transitions; this module keeps them durable.
//!
//! A state change that decides whether a message may be sent again is committed with
//! `synchronous=FULL` (see [`Store::durably`]): after a crash or power loss the outbox never
//! believes less was sent than really was.

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::drafts::{DraftAttachment, DraftId, write_draft};
use super::local::insert_with_body;
use super::queue::enqueue;
use super::{FolderId, MessageId, NewMessage, PendingOp, Store, StoreError};
use crate::fault;

pub type OutboxId = i64;

/// Where an outgoing message is. The order is the happy path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting to be submitted (also after a temporary failure, until `next_attempt`).
    Queued,
    /// A submission is under way; the server has not been given the final dot yet, so a
    /// crash here means not sent.
    Submitting,
    /// The final dot is about to be written: a crash here leaves it unknown.
    Finishing,
    /// The server accepted it; the Sent copy is still to be filed.
    Accepted,
    /// A permanent refusal: stays for the user to fix and resend.
    Failed,
    /// The connection was lost after the final dot and before the server's reply. Never
    /// retried without the user saying so.
    MaybeSent,
}

impl OutboxState {
    fn as_str(self) -> &'static str {
        match self {
            OutboxState::Queued => "queued",
            OutboxState::Submitting => "submitting",
            OutboxState::Finishing => "finishing",
            OutboxState::Accepted => "accepted",
            OutboxState::Failed => "failed",
            OutboxState::MaybeSent => "maybe_sent",
        }
    }

    fn parse(s: &str) -> Option<OutboxState> {
        Some(match s {
            "queued" => OutboxState::Queued,
            "submitting" => OutboxState::Submitting,
            "finishing" => OutboxState::Finishing,
            "accepted" => OutboxState::Accepted,
            "failed" => OutboxState::Failed,
            "maybe_sent" => OutboxState::MaybeSent,
            _ => return None,
        })
    }
}

/// SMTP envelope: the reverse path and every recipient (Bcc included).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub from: String,
    pub to: Vec<String>,
    /// Some recipient has a non-ASCII address.
    #[serde(default)]
    pub smtputf8: bool,
}

/// A message to put in the outbox.
#[derive(Clone, Debug)]
pub struct NewOutgoing<'a> {
    pub account: &'a str,
    /// Without angle brackets.
    pub message_id: &'a str,
    pub subject: &'a str,
    pub raw: &'a [u8],
    pub bcc_header: Option<&'a str>,
    pub envelope: &'a Envelope,
}

/// An outbox entry as the Outbox folder lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: OutboxId,
    pub account: String,
    pub message_id: String,
    pub subject: String,
    pub envelope: Envelope,
    pub state: OutboxState,
    pub attempts: u32,
    /// Unix seconds.
    pub next_attempt: i64,
    pub last_error: Option<String>,
    pub created: i64,
    pub size: u64,
}

/// The bytes of an outbox entry.
#[derive(Clone, Debug)]
pub struct OutgoingBytes {
    pub raw: Vec<u8>,
    pub bcc_header: Option<String>,
}

impl OutgoingBytes {
    /// The Sent copy: the submitted message with its Bcc line on top, so the user still sees
    /// whom they sent a blind copy to.
    pub fn sent_copy(&self) -> Vec<u8> {
        let bcc = self.bcc_header.as_deref().unwrap_or("");
        let mut out = Vec::with_capacity(bcc.len() + self.raw.len());
        out.extend_from_slice(bcc.as_bytes());
        out.extend_from_slice(&self.raw);
        out
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

const ITEM_COLS: &str = "id, account, message_id, subject, envelope, state, attempts, \
                         next_attempt, last_error, created, length(raw)";

fn item_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(OutboxItem, String, String)> {
    Ok((
        OutboxItem {
            id: r.get(0)?,
            account: r.get(1)?,
            message_id: r.get(2)?,
            subject: r.get(3)?,
            envelope: Envelope {
                from: String::new(),
                to: Vec::new(),
                smtputf8: false,
            },
            state: OutboxState::Queued,
            attempts: r.get(6)?,
            next_attempt: r.get(7)?,
            last_error: r.get(8)?,
            created: r.get(9)?,
            size: r.get(10)?,
        },
        r.get::<_, String>(4)?,
        r.get::<_, String>(5)?,
    ))
}

fn finish_item(
    (mut item, envelope, state): (OutboxItem, String, String),
) -> Result<OutboxItem, StoreError> {
    item.envelope = serde_json::from_str(&envelope)?;
    // An unknown state (a newer program wrote it) is shown as failed: never sent blindly.
    item.state = OutboxState::parse(&state).unwrap_or(OutboxState::Failed);
    Ok(item)
}

impl Store {
    /// Runs `f` with `synchronous=FULL`, so what it commits is on disk when it returns.
    pub(crate) fn durably<T>(
        &mut self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        let result = f(self);
        let restored = self.conn.pragma_update(None, "synchronous", "NORMAL");
        let value = result?;
        restored?;
        Ok(value)
    }

    /// Stores a message to send, durably, in state Queued.
    pub fn outbox_add(&mut self, msg: &NewOutgoing<'_>) -> Result<OutboxId, StoreError> {
        let envelope = serde_json::to_string(msg.envelope)?;
        self.durably(|store| {
            let tx = store.write_tx()?;
            let now = now_secs();
            tx.prepare_cached(
                "INSERT INTO outbox (account, message_id, subject, raw, bcc_header, envelope,
                                     state, created, updated)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?7)",
            )?
            .execute(params![
                msg.account,
                msg.message_id,
                msg.subject,
                msg.raw,
                msg.bcc_header,
                envelope,
                now
            ])?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(id)
        })
    }

    /// Every outbox entry (of one account, or all), oldest first.
    pub fn outbox(&self, account: Option<&str>) -> Result<Vec<OutboxItem>, StoreError> {
        let sql =
            format!("SELECT {ITEM_COLS} FROM outbox WHERE ?1 IS NULL OR account = ?1 ORDER BY id");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([account], item_from_row)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(finish_item(row?)?);
        }
        Ok(out)
    }

    pub fn outbox_item(&self, id: OutboxId) -> Result<Option<OutboxItem>, StoreError> {
        let sql = format!("SELECT {ITEM_COLS} FROM outbox WHERE id = ?1");
        let row = self
            .conn
            .prepare_cached(&sql)?
            .query_row([id], item_from_row)
            .optional()?;
        row.map(finish_item).transpose()
    }

    pub fn outbox_bytes(&self, id: OutboxId) -> Result<Option<OutgoingBytes>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT raw, bcc_header FROM outbox WHERE id = ?1")?
            .query_row([id], |r| {
                Ok(OutgoingBytes {
                    raw: r.get(0)?,
                    bcc_header: r.get(1)?,
                })
            })
            .optional()?)
    }

    /// Moves an entry to `to` if it is in one of `from`; false if it was not (another task
    /// or the user got there first). `error` replaces the last error when given;
    /// `count_attempt` adds one to the attempts. Committed durably.
    pub fn outbox_transition(
        &mut self,
        id: OutboxId,
        from: &[OutboxState],
        to: OutboxState,
        error: Option<&str>,
        next_attempt: Option<i64>,
        count_attempt: bool,
    ) -> Result<bool, StoreError> {
        self.durably(|store| {
            let tx = store.write_tx()?;
            let current: Option<String> = tx
                .prepare_cached("SELECT state FROM outbox WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?;
            let Some(current) = current.as_deref().and_then(OutboxState::parse) else {
                return Ok(false);
            };
            if !from.contains(&current) {
                return Ok(false);
            }
            tx.prepare_cached(
                "UPDATE outbox SET state = ?2, updated = ?3,
                        last_error = coalesce(?4, last_error),
                        next_attempt = coalesce(?5, next_attempt),
                        attempts = attempts + ?6
                 WHERE id = ?1",
            )?
            .execute(params![
                id,
                to.as_str(),
                now_secs(),
                error,
                next_attempt,
                i64::from(count_attempt)
            ])?;
            tx.commit()?;
            Ok(true)
        })
    }

    /// After a restart: a submission that was cut before its final dot was never sent
    /// (back to Queued); one cut while finishing may have been sent (MaybeSent). Returns the
    /// number of entries changed.
    pub fn outbox_resume(&mut self) -> Result<usize, StoreError> {
        self.durably(|store| {
            let tx = store.write_tx()?;
            let requeued = tx.execute(
                "UPDATE outbox SET state = 'queued', next_attempt = 0 WHERE state = 'submitting'",
                [],
            )?;
            let unknown = tx.execute(
                "UPDATE outbox SET state = 'maybe_sent',
                        last_error = 'the program stopped while the server was receiving it'
                 WHERE state = 'finishing'",
                [],
            )?;
            tx.commit()?;
            Ok(requeued + unknown)
        })
    }

    /// The user asks to send a failed or maybe-sent message again.
    pub fn outbox_retry(&mut self, id: OutboxId) -> Result<bool, StoreError> {
        self.outbox_transition(
            id,
            &[
                OutboxState::Failed,
                OutboxState::MaybeSent,
                OutboxState::Queued,
            ],
            OutboxState::Queued,
            None,
            Some(0),
            false,
        )
    }

    /// The user discards an entry that is not being sent. False if it is in flight.
    pub fn outbox_discard(&mut self, id: OutboxId) -> Result<bool, StoreError> {
        self.durably(|store| {
            let tx = store.write_tx()?;
            let n = tx.execute(
                "DELETE FROM outbox WHERE id = ?1
                 AND state IN ('queued', 'failed', 'maybe_sent', 'accepted')",
                [id],
            )?;
            tx.commit()?;
            Ok(n > 0)
        })
    }

    /// The user takes a failed or maybe-sent message back to edit it: in one durable
    /// transaction the draft `draft` is written (the compose JSON, its attachments and
    /// forwarded message) and the entry removed, so a stop at any point leaves one or the
    /// other, never both or neither. Only a Failed or MaybeSent entry is taken. Returns None
    /// when there is no such entry, else its state and whether it was taken (an unknown
    /// state, written by a newer Tern, shows as Failed and is never taken).
    pub fn outbox_reopen_as_draft(
        &mut self,
        id: OutboxId,
        draft: DraftId,
        compose: &str,
        attachments: &[DraftAttachment],
        forwarded: Option<&[u8]>,
    ) -> Result<Option<(OutboxState, bool)>, StoreError> {
        self.durably(|store| {
            let tx = store.write_tx()?;
            let found: Option<(String, String)> = tx
                .prepare_cached("SELECT state, account FROM outbox WHERE id = ?1")?
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let Some((state, account)) = found else {
                return Ok(None);
            };
            let Some(state) = OutboxState::parse(&state) else {
                return Ok(Some((OutboxState::Failed, false)));
            };
            if !matches!(state, OutboxState::Failed | OutboxState::MaybeSent) {
                return Ok(Some((state, false)));
            }
            write_draft(
                &tx,
                draft,
                &account,
                compose,
                Some((attachments, forwarded)),
            )?;
            fault::crash_point("outbox:edit:draft-written");
            tx.execute("DELETE FROM outbox WHERE id = ?1", [id])?;
            tx.commit()?;
            Ok(Some((state, true)))
        })
    }

    /// The network is back (or the user asked to sync): queued messages waiting out a
    /// backoff may go at once.
    pub fn outbox_retry_now(&mut self, account: &str) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        tx.execute(
            "UPDATE outbox SET next_attempt = 0 WHERE account = ?1 AND state = 'queued'",
            [account],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Files an accepted message: in one transaction its Sent copy becomes a row of `sent`
    /// (with the raw bytes; an upload is queued when `upload`, i.e. the folder is on an IMAP
    /// server that does not file sent mail itself) and the outbox entry is removed. With no
    /// Sent folder the entry is just removed.
    pub fn outbox_file_sent(
        &mut self,
        id: OutboxId,
        sent: Option<(FolderId, &NewMessage, &[u8], &str)>,
        upload: bool,
    ) -> Result<Option<MessageId>, StoreError> {
        self.durably(|store| {
            let tx = store.write_tx()?;
            let state: Option<String> = tx
                .prepare_cached("SELECT state FROM outbox WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?;
            if state.as_deref() != Some(OutboxState::Accepted.as_str()) {
                return Ok(None);
            }
            let mut row = None;
            if let Some((folder, msg, raw, index_text)) = sent {
                let (message, account) = insert_with_body(&tx, folder, msg, raw, index_text)?;
                if upload {
                    enqueue(
                        &tx,
                        &account,
                        &PendingOp::Append {
                            folder,
                            local: message,
                        },
                    )?;
                }
                row = Some(message);
            }
            tx.execute("DELETE FROM outbox WHERE id = ?1", [id])?;
            tx.commit()?;
            Ok(row)
        })
    }
}

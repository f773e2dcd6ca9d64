//! Sending: a message goes into the outbox (durably, before any network I/O) and one task
//! per account walks it through queued -> submitting -> finishing -> accepted -> filed in
//! Sent -> done (the row is removed).
//!
//! No message is lost or silently sent twice, whenever the program stops:
//! - stopped while submitting (before the final dot): the server dropped the transaction,
//!   the entry goes back to Queued;
//! - stopped while finishing (the final dot may be out): MaybeSent, shown to the user and
//!   never retried without their word;
//! - stopped after Accepted: the next run files the Sent copy and does not submit again.
//!
//! Temporary failures retry with backoff; permanent ones stay as Failed with the server's
//! reason, until the user retries, discards or takes the message back as a draft to fix
//! ([`reopen_as_draft`]).
//!
//! The Sent copy is filed by Tern unless the server files one itself
//! ([`ServerFilesSent`], learnt at login through [`SentFiling`] when set to Auto).

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{Notify, mpsc};

use crate::account::{Account, Incoming, Server, ServerFilesSent};
use crate::compose::{Compose, ComposeError};
use crate::drafts::{self, DraftError};
use crate::engine::Event;
use crate::fault;
use crate::mime;
use crate::secrets::{self, SecretsError};
use crate::smtp::{self, SmtpError, Submission};
use crate::store::{DraftId, Envelope, Flags, FolderRole, NewOutgoing, OutboxId, OutboxState};
use crate::sync::{SharedStore, SyncError, with_store};

#[derive(Debug, thiserror::Error, Clone)]
pub enum OutboxError {
    #[error(transparent)]
    Compose(#[from] Arc<ComposeError>),
    #[error(transparent)]
    Store(#[from] SyncError),
    #[error(transparent)]
    Smtp(#[from] SmtpError),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error("the account has no outgoing (SMTP) server")]
    NoOutgoingServer,
    #[error("the message is no longer in the outbox")]
    NoSuchEntry(OutboxId),
    /// Only a message that failed or may have been sent can be taken back to edit.
    #[error("the message cannot be edited now: it is {}", describe(*.state))]
    NotEditable { id: OutboxId, state: OutboxState },
    #[error(transparent)]
    Draft(#[from] DraftError),
}

/// An outbox state in the words of an error message.
fn describe(state: OutboxState) -> &'static str {
    match state {
        OutboxState::Queued => "waiting to be sent",
        OutboxState::Submitting | OutboxState::Finishing => "being sent",
        OutboxState::Accepted => "already sent",
        OutboxState::Failed => "refused by the server",
        OutboxState::MaybeSent => "possibly sent",
    }
}

/// What the account's IMAP server said at its latest login about filing sent mail
/// itself. The account task records it; the outbox reads it before filing a Sent copy of
/// an account set to [`ServerFilesSent::Auto`]. Unknown until the first login of a run.
#[derive(Debug, Default)]
pub struct SentFiling(AtomicU8);

impl SentFiling {
    const UNKNOWN: u8 = 0;
    const SERVER: u8 = 1;
    const OURS: u8 = 2;

    pub fn record(&self, server_files_sent: bool) {
        let value = if server_files_sent {
            Self::SERVER
        } else {
            Self::OURS
        };
        self.0.store(value, Ordering::Release);
    }

    /// Whether the server files sent mail itself; None before the first login.
    pub fn learnt(&self) -> Option<bool> {
        match self.0.load(Ordering::Acquire) {
            Self::UNKNOWN => None,
            value => Some(value == Self::SERVER),
        }
    }
}

/// Whether Tern files its own Sent copy for `account`; None while that depends on what
/// the server says at login and it has not said it yet. POP3 accounts always keep their
/// own (in their local Sent folder: there is no server folder).
fn files_own_copy(account: &Account, filing: &SentFiling) -> Option<bool> {
    if !matches!(account.incoming, Incoming::Imap(_)) {
        return Some(true);
    }
    match account.server_files_sent {
        ServerFilesSent::Yes => Some(false),
        ServerFilesSent::No => Some(true),
        ServerFilesSent::Auto => filing.learnt().map(|server| !server),
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Builds `compose` and stores it in the outbox, durably. Nothing touches the network.
pub async fn queue(store: &SharedStore, compose: &Compose) -> Result<OutboxId, OutboxError> {
    // Encoding megabytes of attachments is CPU work: off the async threads.
    let to_build = compose.clone();
    let built = tokio::task::spawn_blocking(move || to_build.build(chrono::Utc::now()))
        .await
        .map_err(|_| OutboxError::Store(SyncError::StorePoisoned))?
        .map_err(|e| OutboxError::Compose(Arc::new(e)))?;
    let account = compose.account.clone();
    let subject = compose.subject.clone();
    let id = with_store(store, move |s| {
        s.outbox_add(&NewOutgoing {
            account: &account,
            message_id: &built.message_id,
            subject: &subject,
            raw: &built.bytes,
            bcc_header: built.bcc_header.as_deref(),
            envelope: &Envelope {
                from: built.envelope_from.clone(),
                to: built.recipients.clone(),
                smtputf8: built.needs_smtputf8,
            },
        })
    })
    .await?;
    fault::crash_point("outbox:queued");
    Ok(id)
}

/// Takes a Failed or MaybeSent message back out of the outbox as a draft for the user to
/// fix and send again; returns the draft's id. The compose model is read back from the
/// stored bytes (the Sent copy, so Bcc is kept); the draft is written and the entry
/// removed in one durable transaction ([`crate::store::Store::outbox_reopen_as_draft`]).
pub async fn reopen_as_draft(
    store: &SharedStore,
    account: &Account,
    id: OutboxId,
) -> Result<DraftId, OutboxError> {
    let found = with_store(store, move |s| {
        Ok(s.outbox_item(id)?.zip(s.outbox_bytes(id)?))
    })
    .await?;
    let Some((item, bytes)) = found else {
        return Err(OutboxError::NoSuchEntry(id));
    };
    if !matches!(item.state, OutboxState::Failed | OutboxState::MaybeSent) {
        return Err(OutboxError::NotEditable {
            id,
            state: item.state,
        });
    }
    // Parsing megabytes of attachments is CPU work: off the async threads and the lock.
    let account = account.clone();
    let stored = tokio::task::spawn_blocking(move || {
        let compose = drafts::compose_from_sent(&bytes.sent_copy(), &item.envelope.to, &account);
        drafts::stored_form(&compose)
    })
    .await
    .map_err(|_| OutboxError::Store(SyncError::StorePoisoned))??;
    fault::crash_point("outbox:edit:read");
    let draft = drafts::new_draft_id();
    let taken = with_store(store, move |s| {
        s.outbox_reopen_as_draft(
            id,
            draft,
            &stored.compose,
            &stored.attachments,
            stored.forwarded.as_deref(),
        )
    })
    .await?;
    match taken {
        None => Err(OutboxError::NoSuchEntry(id)),
        Some((state, false)) => Err(OutboxError::NotEditable { id, state }),
        Some((_, true)) => {
            fault::crash_point("outbox:edit:reopened");
            Ok(draft)
        }
    }
}

/// How long to wait after the `attempts`-th temporary failure: 30 s doubling, at most 30 min.
fn backoff(attempts: u32) -> i64 {
    30i64.saturating_mul(1 << attempts.min(6)).min(1800)
}

/// The outgoing password: the SMTP server's own entry, else the incoming one (most
/// providers use one password for both, and setup stores it once).
async fn smtp_password(account: &Account, server: &Server) -> Result<String, SecretsError> {
    match secrets::password_async(server.secret_key(&account.id, "outgoing")).await {
        Err(SecretsError::NotFound) => secrets::password_async(account.incoming_secret_key()).await,
        other => other,
    }
}

/// What one pass over the outbox did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboxReport {
    pub sent: usize,
    pub failed: usize,
    pub maybe_sent: usize,
    /// Unix seconds of the next retry, if something waits for one.
    pub next_attempt: Option<i64>,
}

/// Sends every due entry of `account` and files what was accepted. Returns after one pass.
pub async fn run_once(
    store: &SharedStore,
    account: &Account,
    filing: &SentFiling,
    events: &mpsc::UnboundedSender<Event>,
) -> Result<OutboxReport, OutboxError> {
    let mut report = OutboxReport::default();
    let id = account.id.clone();
    let items = with_store(store, move |s| s.outbox(Some(&id))).await?;
    let mut password = None;
    for item in items {
        match item.state {
            OutboxState::Accepted => {
                let filed = file_sent(store, account, filing, item.id).await?;
                report.sent += usize::from(filed);
            }
            OutboxState::Queued if item.next_attempt <= now_secs() => {
                let server = account
                    .outgoing
                    .as_ref()
                    .ok_or(OutboxError::NoOutgoingServer)?;
                let pw = match &password {
                    Some(pw) => pw,
                    None => password.insert(smtp_password(account, server).await?),
                };
                match send_one(store, server, pw, item.id).await? {
                    Outcome::Accepted => {
                        let filed = file_sent(store, account, filing, item.id).await?;
                        report.sent += usize::from(filed);
                    }
                    Outcome::Failed => report.failed += 1,
                    Outcome::MaybeSent => report.maybe_sent += 1,
                    Outcome::Later(at) => {
                        report.next_attempt = Some(report.next_attempt.map_or(at, |n| n.min(at)))
                    }
                    Outcome::Gone => {}
                }
                let _ = events.send(Event::OutboxChanged {
                    account: account.id.clone(),
                });
            }
            OutboxState::Queued => {
                let at = item.next_attempt;
                report.next_attempt = Some(report.next_attempt.map_or(at, |n| n.min(at)));
            }
            _ => {}
        }
    }
    Ok(report)
}

/// How one submission ended.
enum Outcome {
    Accepted,
    Failed,
    MaybeSent,
    Later(i64),
    /// Discarded by the user or taken by another pass.
    Gone,
}

/// Submits one entry, recording each step durably before taking it.
async fn send_one(
    store: &SharedStore,
    server: &Server,
    password: &str,
    id: OutboxId,
) -> Result<Outcome, OutboxError> {
    let claimed = with_store(store, move |s| {
        if !s.outbox_transition(
            id,
            &[OutboxState::Queued],
            OutboxState::Submitting,
            None,
            None,
            false,
        )? {
            return Ok(None);
        }
        Ok(s.outbox_item(id)?.zip(s.outbox_bytes(id)?))
    })
    .await?;
    let Some((item, bytes)) = claimed else {
        return Ok(Outcome::Gone);
    };
    fault::crash_point("outbox:submitting");
    let checkpoint_store = store.clone();
    // Runs right before the final dot: from here a stop means "may have been sent".
    let before_final_dot = move || -> Result<(), String> {
        let mut s = checkpoint_store
            .lock()
            .map_err(|_| "the store lock is poisoned".to_owned())?;
        match s.outbox_transition(
            id,
            &[OutboxState::Submitting],
            OutboxState::Finishing,
            None,
            None,
            false,
        ) {
            Ok(true) => {
                fault::crash_point("outbox:finishing");
                Ok(())
            }
            Ok(false) => Err("the message left the outbox while it was being sent".to_owned()),
            Err(e) => Err(e.to_string()),
        }
    };
    let result = smtp::submit(
        server,
        password,
        Submission {
            from: &item.envelope.from,
            recipients: &item.envelope.to,
            bytes: &bytes.raw,
            smtputf8: item.envelope.smtputf8,
        },
        before_final_dot,
    )
    .await;
    let in_flight = [OutboxState::Submitting, OutboxState::Finishing];
    let (to, error, next, outcome) = match result {
        Ok(_) => (OutboxState::Accepted, None, None, Outcome::Accepted),
        Err(e @ SmtpError::MaybeSent { .. }) => (
            OutboxState::MaybeSent,
            Some(e.to_string()),
            None,
            Outcome::MaybeSent,
        ),
        Err(e) if e.is_permanent() => (
            OutboxState::Failed,
            Some(e.to_string()),
            None,
            Outcome::Failed,
        ),
        Err(e) => {
            let at = now_secs() + backoff(item.attempts);
            (
                OutboxState::Queued,
                Some(e.to_string()),
                Some(at),
                Outcome::Later(at),
            )
        }
    };
    let count = !matches!(outcome, Outcome::Accepted);
    let moved = with_store(store, move |s| {
        s.outbox_transition(id, &in_flight, to, error.as_deref(), next, count)
    })
    .await?;
    if !moved {
        // Not ours any more (the profile lock makes this a bug, not a race): never file
        // or report what another hand holds.
        tracing::warn!("outbox entry {id} changed state while it was being sent");
        return Ok(Outcome::Gone);
    }
    if let Outcome::Accepted = outcome {
        fault::crash_point("outbox:accepted");
    }
    Ok(outcome)
}

/// Files an accepted message in the account's Sent folder (uploaded for IMAP accounts whose
/// server does not file sent mail itself) and removes it from the outbox. False while the
/// account's folders are not known yet (the first folder list comes after the first login)
/// or whether the server files its own copy is not: the entry stays Accepted and the next
/// pass (the account task wakes the outbox after each sync) files it.
async fn file_sent(
    store: &SharedStore,
    account: &Account,
    filing: &SentFiling,
    id: OutboxId,
) -> Result<bool, OutboxError> {
    let account_id = account.id.clone();
    let imap = matches!(account.incoming, Incoming::Imap(_));
    let Some(own_copy) = files_own_copy(account, filing) else {
        return Ok(false);
    };
    // Read the bytes, parse them without holding the store, then file in one transaction
    // (which checks the entry is still Accepted).
    let found = with_store(store, move |s| {
        let Some(bytes) = s.outbox_bytes(id)? else {
            return Ok(None);
        };
        let sent = match own_copy {
            true => s.folder_by_role(&account_id, FolderRole::Sent)?,
            false => None,
        };
        let folders_known = !s.folders(&account_id)?.is_empty();
        Ok(Some((bytes, sent, folders_known)))
    })
    .await?;
    let Some((bytes, sent, folders_known)) = found else {
        return Ok(true);
    };
    if own_copy && sent.is_none() {
        if !folders_known {
            return Ok(false);
        }
        tracing::warn!("account {} has no Sent folder: no copy filed", account.id);
    }
    let prepared = tokio::task::spawn_blocking(move || {
        let copy = bytes.sent_copy();
        let summary = mime::summarize(&copy, now_secs());
        (copy, summary)
    })
    .await
    .map_err(|_| OutboxError::Store(SyncError::StorePoisoned))?;
    let filed = with_store(store, move |s| {
        let (copy, summary) = prepared;
        let mut msg = summary.message;
        msg.flags = Flags::SEEN;
        s.outbox_file_sent(
            id,
            sent.as_ref()
                .map(|f| (f.id, &msg, copy.as_slice(), summary.index_text.as_str())),
            imap,
        )?;
        Ok(true)
    })
    .await?;
    if filed {
        fault::crash_point("outbox:filed");
    }
    Ok(filed)
}

/// The per-account outbox task: a pass at start (after resuming what a stop interrupted),
/// whenever `wake` is notified (a new message, going online) and when a retry is due.
/// `filed()` runs after Sent copies were filed, so the account uploads them soon.
pub async fn outbox_task(
    store: SharedStore,
    account: Account,
    filing: Arc<SentFiling>,
    events: mpsc::UnboundedSender<Event>,
    wake: Arc<Notify>,
    filed: impl Fn() + Send + 'static,
) {
    let mut delay = Duration::from_secs(60);
    loop {
        let wait = match run_once(&store, &account, &filing, &events).await {
            Ok(report) => {
                delay = Duration::from_secs(60);
                if report.sent > 0 {
                    filed();
                }
                if report.sent + report.failed + report.maybe_sent > 0 {
                    let _ = events.send(Event::OutboxChanged {
                        account: account.id.clone(),
                    });
                }
                report.next_attempt.map(|at| {
                    Duration::from_secs(u64::try_from(at - now_secs()).unwrap_or(0).max(1))
                })
            }
            Err(error) => {
                let _ = events.send(Event::OutboxError {
                    account: account.id.clone(),
                    error,
                });
                delay = (delay * 2).min(Duration::from_secs(1800));
                Some(delay)
            }
        };
        match wait {
            Some(wait) => {
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(wait) => {}
                }
            }
            None => wake.notified().await,
        }
    }
}

//! How a composer starts: the identities it can write as, a new message (with the
//! signature once), a `mailto:` link, a reply or forward from the stored original (or
//! once the engine has fetched it), a saved draft; and the signature following a change
//! of identity.

use super::{Compose, DraftState, Pending, mailto};
use crate::engine::Handle;
use crate::screen::mailbox::ComposeRequest;
use crate::screen::mailbox::format;
use iced::keyboard::Modifiers;
use iced::widget::text_editor;
use std::sync::Arc;
use tern_core::account::{Account, Identity};
use tern_core::compose::{self as model, ReplyKind, SIGNATURE_SEPARATOR};
use tern_core::drafts::new_draft_id;
use tern_core::engine::Command;
use tern_core::store::{DraftId, MessageId, StoreError};

/// An identity the message can be sent as, and the account it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityChoice {
    pub account: String,
    pub identity: Identity,
}

impl std::fmt::Display for IdentityChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format::mailbox(
            Some(self.identity.name.as_str()).filter(|n| !n.trim().is_empty()),
            &self.identity.email,
        ))
    }
}

/// Every identity of every account; an account without one is its own identity.
pub fn identities(accounts: &[Account]) -> Vec<IdentityChoice> {
    let mut out = Vec::new();
    for account in accounts {
        let own: Vec<Identity> = if account.identities.is_empty() {
            vec![Identity {
                name: account.display_name.clone(),
                email: account.email.clone(),
                ..Identity::default()
            }]
        } else {
            account.identities.clone()
        };
        out.extend(own.into_iter().map(|identity| IdentityChoice {
            account: account.id.clone(),
            identity,
        }));
    }
    out
}

/// The raw original and the account it came to, read from the store.
pub(super) fn original(
    engine: &Handle,
    id: MessageId,
) -> Result<(Option<Vec<u8>>, Option<String>), StoreError> {
    engine.read(|s| {
        let account = match s.message(id)? {
            Some(row) => s.folder(row.folder)?.map(|f| f.account),
            None => None,
        };
        Ok((s.body(id)?, account))
    })
}

impl Compose {
    /// A composer for `request`, writing from `accounts` (as config.toml has them);
    /// `account` is the one in view, the default sender of a new message.
    pub fn new(
        request: ComposeRequest,
        engine: Handle,
        accounts: &[Account],
        account: Option<&str>,
    ) -> Compose {
        let mut compose =
            Compose::with_model(model::Compose::default(), new_draft_id(), engine, accounts);
        compose.pick_identity(account, None);
        match request {
            ComposeRequest::New => compose.insert_signature(),
            ComposeRequest::MailTo(url) => {
                let fields = mailto::parse(&url);
                compose.to = fields.to;
                compose.cc = fields.cc;
                compose.bcc = fields.bcc;
                compose.show_copies = !compose.cc.is_empty() || !compose.bcc.is_empty();
                compose.subject = fields.subject;
                compose.set_body(&fields.body);
                compose.insert_signature();
            }
            ComposeRequest::Reply(id) => {
                compose.start_from(Pending::Reply(id, ReplyKind::Sender), accounts)
            }
            ComposeRequest::ReplyAll(id) => {
                compose.start_from(Pending::Reply(id, ReplyKind::All), accounts)
            }
            ComposeRequest::Forward(id) => compose.start_from(Pending::Forward(id), accounts),
            // The app opens saved drafts with `open_draft` once they are read back.
            ComposeRequest::Draft(_) => {}
        }
        compose
    }

    /// A composer on a saved draft (reopened after a crash or from the Drafts folder).
    pub fn open_draft(
        draft: DraftId,
        saved: model::Compose,
        engine: Handle,
        accounts: &[Account],
    ) -> Compose {
        let (account, email) = (saved.account.clone(), saved.from.email.clone());
        let mut compose = Compose::with_model(saved, draft, engine, accounts);
        if compose.from.is_none() {
            // The identity it was written as is gone: its account's first, or any.
            compose.pick_identity(Some(&account), Some(&email));
        }
        compose.draft_sent = true;
        compose.draft_state = DraftState::Saved;
        compose
    }

    fn with_model(
        m: model::Compose,
        draft: DraftId,
        engine: Handle,
        accounts: &[Account],
    ) -> Compose {
        let identities = identities(accounts);
        let from = identities
            .iter()
            .find(|c| {
                c.account == m.account && c.identity.email.eq_ignore_ascii_case(&m.from.email)
            })
            .cloned();
        Compose {
            engine,
            identities,
            from,
            show_copies: !m.cc.is_empty() || !m.bcc.is_empty(),
            to: m.to.clone(),
            cc: m.cc.clone(),
            bcc: m.bcc.clone(),
            subject: m.subject.clone(),
            body: text_editor::Content::with_text(&m.body),
            attachments: m.attachments.clone(),
            original: m.forwarded.as_ref().map(|f| f.raw.clone()),
            base: m,
            pending: None,
            draft,
            revision: 0,
            saved_revision: 0,
            draft_sent: false,
            draft_state: DraftState::Unsaved,
            completion: None,
            confirm_close: false,
            error: None,
            modifiers: Modifiers::default(),
        }
    }

    /// Picks the sender: the identity with address `email` in `account`, else that
    /// account's first identity, else the first identity of all.
    pub(super) fn pick_identity(&mut self, account: Option<&str>, email: Option<&str>) {
        let in_account = |c: &&IdentityChoice| account.is_none_or(|a| c.account == a);
        self.from = self
            .identities
            .iter()
            .find(|c| {
                in_account(c) && email.is_some_and(|e| c.identity.email.eq_ignore_ascii_case(e))
            })
            .or_else(|| self.identities.iter().find(in_account))
            .or_else(|| self.identities.first())
            .cloned();
    }

    /// Appends the sender's signature once (`tern_core::compose::Compose::with_signature`).
    fn insert_signature(&mut self) {
        let Some(from) = &self.from else { return };
        let signed = model::Compose {
            body: self.body_text(),
            from: from.identity.clone(),
            ..model::Compose::default()
        }
        .with_signature();
        self.set_body(&signed.body);
    }

    /// Starts a reply or forward from its original, or asks the engine for the original's
    /// body and starts when it arrives.
    fn start_from(&mut self, pending: Pending, accounts: &[Account]) {
        let id = match pending {
            Pending::Reply(id, _) | Pending::Forward(id) => id,
        };
        match original(&self.engine, id) {
            Ok((Some(raw), account)) => self.fill_from(pending, &raw, account, accounts),
            Ok((None, account)) => {
                if let Some(account) = account.as_deref() {
                    self.pick_identity(Some(account), None);
                }
                self.pending = Some(pending);
                self.engine.send(Command::FetchBody(id));
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    pub(super) fn fill_from(
        &mut self,
        pending: Pending,
        raw: &[u8],
        account: Option<String>,
        accounts: &[Account],
    ) {
        let account = account
            .and_then(|id| accounts.iter().find(|a| a.id == id))
            .or_else(|| {
                let from = self.from.as_ref()?;
                accounts.iter().find(|a| a.id == from.account)
            })
            .or_else(|| accounts.first());
        let Some(account) = account else {
            return;
        };
        let m = match pending {
            Pending::Reply(_, kind) => model::reply(raw, kind, account),
            Pending::Forward(_) => {
                self.original = Some(Arc::new(raw.to_vec()));
                model::forward_inline(raw, account)
            }
        };
        self.pick_identity(Some(&m.account), Some(&m.from.email));
        self.to = m.to.clone();
        self.cc = m.cc.clone();
        self.show_copies = !self.cc.is_empty();
        self.subject = m.subject.clone();
        self.set_body(&m.body);
        self.attachments = m.attachments.clone();
        self.base = m;
        self.insert_signature();
    }

    /// Replaces the previous identity's signature with the new one's, if the body still
    /// holds it as inserted; otherwise inserts the new one once.
    pub(super) fn swap_signature(&mut self, old: Option<&IdentityChoice>) {
        let Some(new) = &self.from else { return };
        let body = self.body_text();
        let block = |sig: &str| {
            let sig = sig.trim_end().replace("\r\n", "\n");
            (!sig.trim().is_empty()).then(|| format!("{SIGNATURE_SEPARATOR}\n{sig}"))
        };
        let old_block = old.and_then(|o| block(&o.identity.signature));
        let new_block = block(&new.identity.signature);
        let updated = match (&old_block, &new_block) {
            (Some(o), _) if body.contains(o.as_str()) => {
                let replaced = match &new_block {
                    Some(n) => body.replacen(o.as_str(), n, 1),
                    None => body
                        .replacen(&format!("\n\n{o}"), "", 1)
                        .replacen(o.as_str(), "", 1),
                };
                Some(replaced)
            }
            _ => None,
        };
        match updated {
            Some(body) => self.set_body(&body),
            None => self.insert_signature(),
        }
    }
}

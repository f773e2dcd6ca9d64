//! Shared set-up for the engine's integration tests: a real Dovecot per test, an account
//! pointing at it, and realistic messages.
#![allow(dead_code, unused_imports, clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use tern_core::account::{Security, Server};
use tern_core::imap::{self, Session};
use tern_core::store::{Folder, FolderRole, Store};
use tern_core::sync::SharedStore;
use tern_testenv::Dovecot;

pub const PASSWORD: &str = "correct horse battery staple";

/// A Dovecot with one fresh user.
pub struct Env {
    pub dovecot: Dovecot,
    pub user: String,
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        let dovecot = Dovecot::start().expect("start dovecot");
        let user = dovecot.add_user("alice", PASSWORD).expect("add user");
        Env {
            dovecot,
            user,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The user's IMAP server over implicit TLS, trusting the test certificate by pin.
    pub fn server(&self) -> Server {
        Server {
            host: self.dovecot.host().to_owned(),
            port: self.dovecot.imaps_port(),
            security: Security::ImplicitTls,
            login: self.user.clone(),
            pinned_cert_sha256: Some(self.dovecot.cert_sha256_hex()),
            plaintext_acknowledged: false,
        }
    }

    pub async fn session(&self) -> Session {
        imap::connect(&self.server(), PASSWORD)
            .await
            .expect("login")
    }

    pub fn store(&self) -> SharedStore {
        Arc::new(Mutex::new(
            Store::open(&self.dir.path().join("store.sqlite3")).unwrap(),
        ))
    }

    pub fn append(&self, mailbox: &str, messages: &[Vec<u8>]) {
        self.dovecot
            .append_messages(&self.user, mailbox, messages)
            .unwrap();
    }

    /// `doveadm COMMAND -u USER ARGS`, e.g. `(&["flags", "add"], &["\\Seen", "mailbox", "INBOX", "uid", "3"])`.
    pub fn doveadm(&self, command: &[&str], args: &[&str]) -> String {
        let mut full = command.to_vec();
        full.extend_from_slice(&["-u", &self.user]);
        full.extend_from_slice(args);
        self.dovecot.doveadm(&full).unwrap()
    }

    /// The server's (uid, flags) of a mailbox, flags sorted, as doveadm sees them.
    pub fn server_state(&self, mailbox: &str) -> Vec<(u32, Vec<String>)> {
        let out = self.doveadm(&["fetch"], &["uid flags", "mailbox", mailbox]);
        let mut state = Vec::new();
        let mut uid = None;
        for line in out.lines() {
            if let Some(v) = line.strip_prefix("uid: ") {
                uid = v.trim().parse().ok();
            } else if let Some(v) = line.strip_prefix("flags:") {
                let mut flags: Vec<String> = v
                    .split_whitespace()
                    .filter(|f| *f != "\\Recent")
                    .map(str::to_owned)
                    .collect();
                flags.sort();
                state.push((uid.take().unwrap(), flags));
            }
        }
        state.sort();
        state
    }
}

/// The store's (uid, flags) of a folder in the same shape as [`Env::server_state`].
pub fn store_state(store: &SharedStore, folder: i64) -> Vec<(u32, Vec<String>)> {
    use tern_core::store::{Flags, SortOrder};
    let s = store.lock().unwrap();
    let rows = s
        .page(folder, 0, u32::MAX / 2, SortOrder::DateDesc)
        .unwrap();
    let mut state: Vec<(u32, Vec<String>)> = rows
        .into_iter()
        .filter_map(|r| {
            let mut flags = Vec::new();
            for (f, name) in [
                (Flags::ANSWERED, "\\Answered"),
                (Flags::DELETED, "\\Deleted"),
                (Flags::DRAFT, "\\Draft"),
                (Flags::FLAGGED, "\\Flagged"),
                (Flags::SEEN, "\\Seen"),
            ] {
                if r.flags.contains(f) {
                    flags.push(name.to_owned());
                }
            }
            flags.extend(r.keywords);
            flags.sort();
            Some((r.uid?, flags))
        })
        .collect();
    state.sort();
    state
}

pub fn folder(store: &SharedStore, account: &str, role: FolderRole) -> Folder {
    store
        .lock()
        .unwrap()
        .folder_by_role(account, role)
        .unwrap()
        .expect("folder with role")
}

pub use tern_testenv::corpus::messages;

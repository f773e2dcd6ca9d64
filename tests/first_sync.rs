//! A first sync against the real Dovecot: the mailbox opens on an empty store, goes to
//! the Inbox as soon as the engine lists it, shows rows while the sync is still running
//! with a progress bar of fetched/total, and ends with every message listed.
//! Needs the test keychain (the account's password lives there), like the smoke test.
#![allow(clippy::unwrap_used)]

mod common;

use common::harness::Harness;
use tern::screen::mailbox::folders::{Connection, Place};
use tern_core::account::{Account, Config, Incoming, Security, Server};
use tern_core::profile::Profile;

const MESSAGES: usize = 10_000;

#[test]
fn the_list_fills_while_the_first_sync_runs() {
    let dovecot = tern_testenv::Dovecot::start().unwrap();
    let user = dovecot.add_user("fill", "fill-password").unwrap();
    dovecot
        .append_messages(&user, "INBOX", &tern_testenv::corpus::messages(0..MESSAGES))
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let profile = Profile::open(Some(dir.path().join("profile"))).unwrap();
    let account = Account {
        id: format!("fill-{}", std::process::id()),
        display_name: "Alice".into(),
        email: "alice@example.org".into(),
        incoming: Incoming::Imap(Server {
            host: dovecot.host().into(),
            port: dovecot.imaps_port(),
            security: Security::ImplicitTls,
            login: user.clone(),
            pinned_cert_sha256: Some(dovecot.cert_sha256_hex()),
            plaintext_acknowledged: false,
        }),
        ..Account::default()
    };
    tern_core::secrets::set_password(&account.incoming_secret_key(), "fill-password").unwrap();
    Config {
        accounts: vec![account.clone()],
        ..Config::default()
    }
    .save(&profile.config_path())
    .unwrap();

    let mut h = Harness::open(profile, dir);
    assert_eq!(h.mailbox().list.messages(), 0, "nothing is stored yet");

    // Part way: the Inbox is shown, holds some rows, and says how far the sync is.
    let mut seen = None;
    h.pump_until("rows while the sync runs", |state| {
        let m = state.mailbox().unwrap();
        let Some(sync) = m.syncing.get(&account.id) else {
            return false;
        };
        let shown = m.list.messages();
        if matches!(m.place, Place::Folder(_)) && shown > 0 && shown < MESSAGES {
            seen = Some((shown, sync.progress));
            return true;
        }
        false
    });
    let (shown, progress) = seen.unwrap();
    assert!(progress.fetched < progress.total, "{progress:?}");
    assert_eq!(progress.total as usize, MESSAGES);
    assert_eq!(
        h.mailbox().connections.get(&account.id),
        Some(&Connection::Online)
    );
    let mut ui = h.ui();
    ui.find(format!(
        "Downloading {} of {} messages…",
        progress.fetched, progress.total
    ))
    .unwrap();
    drop(ui);
    assert!(shown >= 50, "the first batch is on screen ({shown})");

    // The end: every message, newest first, and no progress left.
    h.pump_until("the whole Inbox", |state| {
        let m = state.mailbox().unwrap();
        m.list.messages() == MESSAGES && m.syncing.is_empty()
    });
    let rows = h.mailbox().list.rows();
    assert!(
        rows.windows(2)
            .all(|w| (w[0].message.date, w[0].message.id) >= (w[1].message.date, w[1].message.id)),
        "newest first"
    );
    h.ui().find("10000 messages").unwrap();
    let _ = tern_core::secrets::delete_password(&account.incoming_secret_key());
}

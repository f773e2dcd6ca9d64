//! The engine end to end on a real profile: password from the real Secret Service, sync,
//! IDLE push, and no secret ever written to a file.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Env, messages};
use std::time::Duration;
use tern_core::account::{Account, Config, Incoming};
use tern_core::engine::{Command, Engine, Event};
use tern_core::profile::Profile;
use tern_core::secrets::{self, SecretsError};
use tern_core::store::{FolderRole, SortOrder};
use tokio::sync::mpsc::UnboundedReceiver;

async fn wait_for(
    events: &mut UnboundedReceiver<Event>,
    what: &str,
    mut f: impl FnMut(&Event) -> bool,
) -> Event {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(e)) if f(&e) => return e,
            Ok(Some(Event::Offline { error, .. })) => {
                panic!("went offline waiting for {what}: {error}")
            }
            Ok(Some(_)) => continue,
            _ => panic!("timed out waiting for {what}"),
        }
    }
}

/// Stores the password in the keychain, writes the profile's config and starts the
/// engine; returns once the account is online and its inbox synced.
async fn start_engine(
    profile: &Profile,
    account: &Account,
    password: &str,
) -> (Engine, UnboundedReceiver<Event>) {
    tokio::task::spawn_blocking({
        let (key, password) = (account.incoming_secret_key(), password.to_owned());
        move || secrets::set_password(&key, &password)
    })
    .await
    .unwrap()
    .expect("the test session's Secret Service stores the password");
    Config {
        accounts: vec![account.clone()],
        ..Config::default()
    }
    .save(&profile.config_path())
    .unwrap();
    let (engine, mut events) = Engine::open(profile).unwrap();
    wait_for(&mut events, "online", |e| matches!(e, Event::Online { .. })).await;
    wait_for(&mut events, "inbox synced", |e| {
        matches!(e, Event::FolderChanged { .. })
    })
    .await;
    (engine, events)
}

fn all_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            all_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn engine_syncs_pushes_new_mail_and_keeps_the_password_only_in_the_keychain() {
    let started = std::time::SystemTime::now();
    let env = Env::new();
    // The user's real password is the canary: no file may ever contain it.
    let canary = format!("canary-{}-k9Zq", std::process::id());
    let user = env.dovecot.add_user("canary", &canary).unwrap();
    let append = |range| {
        env.dovecot
            .append_messages(&user, "INBOX", &messages(range))
            .unwrap()
    };
    append(0..40);

    let profile = Profile::open(Some(env.dir.path().join("profile"))).unwrap();
    let account = Account {
        id: format!("test-{}", std::process::id()),
        display_name: "Alice".into(),
        email: "alice@example.org".into(),
        incoming: Incoming::Imap(tern_core::account::Server {
            login: user.clone(),
            ..env.server()
        }),
        ..Account::default()
    };
    let key = account.incoming_secret_key();
    let (engine, mut events) = start_engine(&profile, &account, &canary).await;
    let store = engine.store();
    let inbox = store
        .lock()
        .unwrap()
        .folder_by_role(&account.id, FolderRole::Inbox)
        .unwrap()
        .unwrap();
    let count = || {
        store
            .lock()
            .unwrap()
            .page(inbox.id, 0, 1000, SortOrder::DateDesc)
            .unwrap()
            .len()
    };
    // Wait until the sync settled (prefetch included), then push new mail.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while count() < 40 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(count(), 40);
    tokio::time::sleep(Duration::from_secs(1)).await;
    append(40..43);
    match wait_for(&mut events, "new mail by IDLE", |e| {
        matches!(e, Event::NewMail { .. })
    })
    .await
    {
        Event::NewMail { count, .. } => assert_eq!(count, 3),
        _ => unreachable!(),
    }
    assert_eq!(count(), 43);

    // Local search through the engine.
    engine.send(Command::Search {
        query: "subject:report from:juergen1".into(),
        account: None,
        folder: None,
    });
    let Event::SearchResults { rows, .. } = wait_for(&mut events, "search", |e| {
        matches!(e, Event::SearchResults { .. })
    })
    .await
    else {
        unreachable!()
    };
    assert!(!rows.is_empty());
    engine.send(Command::Shutdown);
    drop(engine);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The canary is in no file under the profile or the test's temp folders.
    let mut files = Vec::new();
    all_files(env.dir.path(), &mut files);
    all_files(&std::env::temp_dir(), &mut files);
    let mut checked = 0;
    // The test server's own user database holds the password by design; it is not Tern's.
    files.retain(|f| !f.starts_with(env.dovecot.dir()));
    // Only what was written while Tern ran (the rest of /tmp predates the test).
    files.retain(|f| {
        f.metadata()
            .is_ok_and(|m| m.len() < 256 << 20 && m.modified().is_ok_and(|t| t >= started))
    });
    for file in files {
        if let Ok(bytes) = std::fs::read(&file) {
            checked += 1;
            assert!(
                memchr::memmem::find(&bytes, canary.as_bytes()).is_none(),
                "the password leaked into {}",
                file.display()
            );
        }
    }
    assert!(checked > 3, "the scan looked at the profile's files");
    tokio::task::spawn_blocking(move || secrets::delete_password(&key))
        .await
        .unwrap()
        .unwrap();
}

#[test]
fn without_a_keychain_the_error_is_typed_and_nothing_is_written() {
    if std::env::var_os("TERN_TEST_NO_KEYCHAIN_CHILD").is_none() {
        // The keychain is chosen once per process, so check this in a child process
        // whose D-Bus session points nowhere.
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "without_a_keychain_the_error_is_typed_and_nothing_is_written",
                "--nocapture",
            ])
            .env("TERN_TEST_NO_KEYCHAIN_CHILD", "1")
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/tern-test-bus",
            )
            .status()
            .unwrap();
        assert!(status.success());
        return;
    }
    match secrets::set_password("tern-test/no-keychain", "secret") {
        Err(SecretsError::NoKeychain(_)) => {}
        other => panic!("expected NoKeychain, got {other:?}"),
    }
    assert!(matches!(
        secrets::password("tern-test/no-keychain"),
        Err(SecretsError::NoKeychain(_))
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_engine_reconnects_after_the_connection_drops() {
    let env = Env::new();
    env.append("INBOX", &messages(0..5));
    let proxy = tern_testenv::proxy::FaultProxy::start(env.dovecot.imaps_port()).unwrap();
    let profile = Profile::open(Some(env.dir.path().join("profile"))).unwrap();
    let account = Account {
        id: format!("reconnect-{}", std::process::id()),
        incoming: Incoming::Imap(tern_core::account::Server {
            port: proxy.port(),
            ..env.server()
        }),
        ..Account::default()
    };
    let key = account.incoming_secret_key();
    let (engine, mut events) = start_engine(&profile, &account, common::PASSWORD).await;

    // The network goes away under both connections (sync and IDLE).
    proxy.drop_all();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut went_offline = false;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::Offline { .. })) => went_offline = true,
            Ok(Some(Event::Online { .. })) if went_offline => break,
            Ok(Some(_)) => {}
            _ => panic!("no reconnect (offline seen: {went_offline})"),
        }
    }
    // And push works again on the new connections.
    tokio::time::sleep(Duration::from_millis(500)).await;
    env.append("INBOX", &messages(5..7));
    wait_for(&mut events, "new mail after reconnect", |e| {
        matches!(e, Event::NewMail { .. })
    })
    .await;
    engine.send(Command::Shutdown);
    tokio::task::spawn_blocking(move || secrets::delete_password(&key))
        .await
        .unwrap()
        .unwrap();
}

/// Changing accounts restarts the engine in the same process: stopping the old one must
/// store a draft saved just before, end its IMAP connections (sync and IDLE) so nothing
/// runs twice, and free the profile for the new engine even while the old handle lives.
#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_engine_keeps_the_last_draft_and_frees_the_profile() {
    let env = Env::new();
    env.append("INBOX", &messages(0..3));
    let profile = Profile::open(Some(env.dir.path().join("profile"))).unwrap();
    let account = Account {
        id: format!("stop-{}", std::process::id()),
        email: "alice@example.org".into(),
        incoming: Incoming::Imap(env.server()),
        ..Account::default()
    };
    let key = account.incoming_secret_key();
    let (engine, _events) = start_engine(&profile, &account, common::PASSWORD).await;
    let connections = || {
        env.dovecot
            .doveadm(&["who", "-1", &env.user])
            .unwrap()
            .lines()
            .filter(|l| l.contains("imap"))
            .count()
    };
    assert!(connections() > 0, "the engine is connected");

    let draft = tern_core::drafts::new_draft_id();
    engine.send(Command::SaveDraft {
        id: draft,
        compose: Box::new(tern_core::compose::Compose {
            account: account.id.clone(),
            subject: "written just before the restart".into(),
            ..tern_core::compose::Compose::default()
        }),
    });
    engine.stop().await;

    let saved = tern_core::drafts::load(&engine.store(), draft)
        .await
        .unwrap();
    assert_eq!(
        saved.map(|c| c.subject).as_deref(),
        Some("written just before the restart")
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while connections() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the stopped engine still holds connections:\n{}",
            env.dovecot.doveadm(&["who", "-1"]).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (again, _events) = Engine::open(&profile).expect("the profile is free after a stop");
    again.stop().await;
    drop(engine);
    tokio::task::spawn_blocking(move || secrets::delete_password(&key))
        .await
        .unwrap()
        .unwrap();
}

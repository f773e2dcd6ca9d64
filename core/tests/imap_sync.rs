//! The store mirrors a real Dovecot account: first sync, resync against a second client,
//! UIDVALIDITY changes, actions replayed from the durable queue, bodies.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Env, folder, messages, store_state};
use tern_core::store::{Flags, FolderRole, SortOrder, Store};
use tern_core::sync::{self, FolderReport};

const ACCOUNT: &str = "acct";

/// Syncs the folder list and one folder; returns the report.
async fn sync(env: &Env, store: &tern_core::sync::SharedStore, role: FolderRole) -> FolderReport {
    let mut session = env.session().await;
    sync::replay_pending(&mut session, store, ACCOUNT)
        .await
        .unwrap();
    sync::sync_folder_list(&mut session, store, ACCOUNT)
        .await
        .unwrap();
    let f = folder(store, ACCOUNT, role);
    sync::sync_folder(&mut session, store, &f, |_| {})
        .await
        .unwrap()
}

#[tokio::test]
async fn first_sync_mirrors_the_folder_newest_first_with_roles() {
    let env = Env::new();
    env.append("INBOX", &messages(0..1234));
    let store = env.store();
    let mut progress = Vec::new();
    let mut session = env.session().await;
    let folders = sync::sync_folder_list(&mut session, &store, ACCOUNT)
        .await
        .unwrap();
    for role in [
        FolderRole::Inbox,
        FolderRole::Drafts,
        FolderRole::Sent,
        FolderRole::Trash,
        FolderRole::Junk,
        FolderRole::Archive,
    ] {
        assert!(
            folders.iter().any(|f| f.role == Some(role)),
            "no {role:?} folder"
        );
    }
    let inbox = folder(&store, ACCOUNT, FolderRole::Inbox);
    let report = sync::sync_folder(&mut session, &store, &inbox, |p| progress.push(p))
        .await
        .unwrap();
    assert_eq!(report.new, 1234);
    // Newest first: the first batch reported is the small first screen.
    assert_eq!(progress.first().unwrap().fetched, 50);
    assert_eq!(progress.last().unwrap().fetched, 1234);
    assert_eq!(store_state(&store, inbox.id), env.server_state("INBOX"));

    let s = store.lock().unwrap();
    let page = s.page(inbox.id, 0, 10, SortOrder::DateDesc).unwrap();
    assert_eq!(page.len(), 10);
    assert!(page.windows(2).all(|w| w[0].date >= w[1].date));
    let row = s.message_by_uid(inbox.id, 11).unwrap().unwrap();
    assert_eq!(
        row.subject,
        format!("Re: {} number 3 äöü", tern_testenv::corpus::topic(3))
    );
    assert_eq!(row.from[0].name.as_deref(), Some("Jürgen Müller"));
    assert_eq!(row.message_id.as_deref(), Some("msg10@example.org"));
    assert!(row.has_attachment, "message 10 carries a PDF");
    assert!(
        !s.message_by_uid(inbox.id, 12)
            .unwrap()
            .unwrap()
            .has_attachment
    );
    // A reply (message 10, UID 11) is threaded with its parent (message 9, UID 10).
    let reply = s.message_by_uid(inbox.id, 11).unwrap().unwrap();
    let parent = s.message_by_uid(inbox.id, 10).unwrap().unwrap();
    assert_ne!(
        reply.thread,
        s.message_by_uid(inbox.id, 13).unwrap().unwrap().thread
    );
    assert_eq!(reply.thread, parent.thread);
    let (_, unread, total) = s
        .unread_counts(ACCOUNT)
        .unwrap()
        .into_iter()
        .find(|c| c.0 == inbox.id)
        .unwrap();
    assert_eq!((unread, total), (1234, 1234));
}

#[tokio::test]
async fn resync_converges_to_changes_made_by_another_client() {
    let env = Env::new();
    env.append("INBOX", &messages(0..300));
    let store = env.store();
    sync(&env, &store, FolderRole::Inbox).await;
    let inbox = folder(&store, ACCOUNT, FolderRole::Inbox);

    // Another client: flags, expunges and new mail.
    env.doveadm(
        &["flags", "add"],
        &["\\Seen \\Flagged", "mailbox", "INBOX", "uid", "1:40"],
    );
    env.doveadm(
        &["flags", "add"],
        &["$Important", "mailbox", "INBOX", "uid", "7"],
    );
    env.doveadm(&["expunge"], &["mailbox", "INBOX", "uid", "100:149"]);
    env.append("INBOX", &messages(300..320));
    let report = sync(&env, &store, FolderRole::Inbox).await;
    assert_eq!(report.new, 20);
    assert_eq!(report.removed, 50);
    assert!(report.changed_flags >= 40);
    assert_eq!(store_state(&store, inbox.id), env.server_state("INBOX"));

    // And a resync with no change changes nothing.
    let report = sync(&env, &store, FolderRole::Inbox).await;
    assert_eq!(report, FolderReport::default());
    assert_eq!(store_state(&store, inbox.id), env.server_state("INBOX"));
}

#[tokio::test]
async fn resync_without_qresync_uses_uid_comparison() {
    // The same convergence through the CONDSTORE-less path, on a raw session that never
    // enabled QRESYNC: force it by syncing a folder whose known modseq is unset.
    let env = Env::new();
    env.append("INBOX", &messages(0..50));
    let store = env.store();
    sync(&env, &store, FolderRole::Inbox).await;
    let inbox = folder(&store, ACCOUNT, FolderRole::Inbox);
    env.doveadm(&["expunge"], &["mailbox", "INBOX", "uid", "1:10"]);
    env.doveadm(
        &["flags", "add"],
        &["\\Answered", "mailbox", "INBOX", "uid", "20"],
    );
    // Forget the modseq: the next sync must compare UIDs and fetch all flags.
    let uidvalidity = inbox.uidvalidity.unwrap();
    let uidnext = inbox.uidnext.unwrap();
    store
        .lock()
        .unwrap()
        .set_sync_state(inbox.id, uidvalidity, uidnext, None)
        .unwrap();
    let report = sync(&env, &store, FolderRole::Inbox).await;
    assert_eq!(report.removed, 10);
    assert_eq!(store_state(&store, inbox.id), env.server_state("INBOX"));
}

#[tokio::test]
async fn uidvalidity_change_drops_the_cache_and_retargets_pending_operations() {
    let env = Env::new();
    env.append("INBOX", &messages(0..30));
    let store = env.store();
    sync(&env, &store, FolderRole::Inbox).await;
    let inbox = folder(&store, ACCOUNT, FolderRole::Inbox);
    // The user flags message 5 while offline...
    let id = store
        .lock()
        .unwrap()
        .message_by_uid(inbox.id, 5)
        .unwrap()
        .unwrap()
        .id;
    store
        .lock()
        .unwrap()
        .local_set_flags(&[id], Flags::FLAGGED, Flags::empty())
        .unwrap();
    // ...and meanwhile the server rebuilds the folder with new UIDs and a new UIDVALIDITY.
    env.doveadm(&["expunge"], &["mailbox", "INBOX", "all"]);
    env.doveadm(&["mailbox", "update"], &["--uid-validity", "777", "INBOX"]);
    env.append("INBOX", &messages(0..30));
    let server_before = env.server_state("INBOX");
    assert!(
        server_before.iter().all(|(uid, _)| *uid > 30),
        "UIDs were renumbered"
    );

    let report = sync(&env, &store, FolderRole::Inbox).await;
    // The flag went to the same message (by Message-ID), not to whatever has UID 5 now.
    let flagged: Vec<_> = env
        .server_state("INBOX")
        .into_iter()
        .filter(|(_, f)| f.contains(&"\\Flagged".to_owned()))
        .collect();
    assert_eq!(flagged.len(), 1);
    let uid = flagged[0].0;
    let search = env.doveadm(
        &["search"],
        &[
            "mailbox",
            "INBOX",
            "header",
            "Message-ID",
            "msg4@example.org",
        ],
    );
    assert!(
        search.contains(&format!(" {uid}")),
        "flag landed on msg4: {search}"
    );
    assert!(report.uidvalidity_reset);
    let inbox = folder(&store, ACCOUNT, FolderRole::Inbox);
    assert_eq!(inbox.uidvalidity, Some(777));
    assert_eq!(store_state(&store, inbox.id), env.server_state("INBOX"));
}

#[tokio::test]
async fn actions_are_applied_locally_at_once_and_survive_a_restart_before_replay() {
    let env = Env::new();
    env.append("INBOX", &messages(0..20));
    let store = env.store();
    sync(&env, &store, FolderRole::Inbox).await;
    let inbox = folder(&store, ACCOUNT, FolderRole::Inbox);
    let trash = folder(&store, ACCOUNT, FolderRole::Trash);
    let archive = folder(&store, ACCOUNT, FolderRole::Archive);
    let id = |uid| {
        store
            .lock()
            .unwrap()
            .message_by_uid(inbox.id, uid)
            .unwrap()
            .unwrap()
            .id
    };
    let (read, flag, del, moved, copied) = (id(1), id(2), id(3), id(4), id(5));
    {
        let mut s = store.lock().unwrap();
        s.local_set_flags(&[read], Flags::SEEN, Flags::empty())
            .unwrap();
        s.local_set_flags(&[flag], Flags::FLAGGED, Flags::empty())
            .unwrap();
        s.local_delete(&[del]).unwrap();
        s.local_move(&[moved], archive.id).unwrap();
        s.local_copy(&[copied], archive.id).unwrap();
        // Applied locally at once.
        assert_eq!(
            s.page(inbox.id, 0, 100, SortOrder::DateDesc).unwrap().len(),
            18
        );
        assert_eq!(
            s.page(archive.id, 0, 100, SortOrder::DateDesc)
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            s.page(trash.id, 0, 100, SortOrder::DateDesc).unwrap().len(),
            1
        );
        assert_eq!(s.pending_ops(ACCOUNT).unwrap().len(), 5);
    }
    // The app is killed before anything reached the server: reopen the store from disk.
    drop(store);
    let store = env.store();
    assert_eq!(store.lock().unwrap().pending_ops(ACCOUNT).unwrap().len(), 5);

    let mut session = env.session().await;
    let replay = sync::replay_pending(&mut session, &store, ACCOUNT)
        .await
        .unwrap();
    assert_eq!(replay.done, 5);
    assert!(
        store
            .lock()
            .unwrap()
            .pending_ops(ACCOUNT)
            .unwrap()
            .is_empty()
    );
    for role in [FolderRole::Inbox, FolderRole::Trash, FolderRole::Archive] {
        sync(&env, &store, role).await;
    }
    for (role, name) in [
        (FolderRole::Inbox, "INBOX"),
        (FolderRole::Trash, "Trash"),
        (FolderRole::Archive, "Archive"),
    ] {
        let f = folder(&store, ACCOUNT, role);
        assert_eq!(store_state(&store, f.id), env.server_state(name), "{name}");
    }
    let inbox_state = env.server_state("INBOX");
    assert_eq!(inbox_state.len(), 18);
    assert!(
        inbox_state
            .iter()
            .any(|(u, f)| *u == 1 && f == &vec!["\\Seen".to_owned()])
    );
    assert!(
        inbox_state
            .iter()
            .any(|(u, f)| *u == 2 && f == &vec!["\\Flagged".to_owned()])
    );
    assert_eq!(env.server_state("Trash").len(), 1);
    assert_eq!(env.server_state("Archive").len(), 2);
    // The moved row kept its identity and got its new UID from COPYUID.
    assert!(
        store
            .lock()
            .unwrap()
            .message(moved)
            .unwrap()
            .unwrap()
            .uid
            .is_some()
    );

    // Deleting from Trash expunges for good.
    let trash = folder(&store, ACCOUNT, FolderRole::Trash);
    let in_trash = store
        .lock()
        .unwrap()
        .page(trash.id, 0, 10, SortOrder::DateDesc)
        .unwrap();
    store
        .lock()
        .unwrap()
        .local_delete(&[in_trash[0].id])
        .unwrap();
    sync(&env, &store, FolderRole::Trash).await;
    assert!(env.server_state("Trash").is_empty());
}

#[tokio::test]
async fn bodies_are_fetched_on_demand_and_cached() {
    let env = Env::new();
    let originals = messages(0..12);
    env.append("INBOX", &originals);
    let store = env.store();
    sync(&env, &store, FolderRole::Inbox).await;
    let inbox = folder(&store, ACCOUNT, FolderRole::Inbox);
    let mut session = env.session().await;
    session.select("INBOX", None).await.unwrap();
    let row = store
        .lock()
        .unwrap()
        .message_by_uid(inbox.id, 11)
        .unwrap()
        .unwrap();
    assert!(!row.has_body);
    assert!(
        sync::fetch_body_into_store(&mut session, &store, row.id, 11)
            .await
            .unwrap()
    );
    let body = store.lock().unwrap().body(row.id).unwrap().unwrap();
    assert_eq!(body, originals[10]);
    // Fetching the body did not mark it read on the server.
    assert!(env.server_state("INBOX").iter().all(|(_, f)| f.is_empty()));
    // Its text is now searchable.
    let hits = store
        .lock()
        .unwrap()
        .search("attached", Some(ACCOUNT), None, 10)
        .unwrap();
    assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![row.id]);
    // Prefetch fills the rest.
    let n = sync::prefetch_bodies(&mut session, &store, &inbox, 0, 100)
        .await
        .unwrap();
    assert_eq!(n, 11);
}

#[tokio::test]
async fn folders_are_created_renamed_and_deleted() {
    let env = Env::new();
    let store = env.store();
    let mut session = env.session().await;
    session.create("Projekte/Größe & Co").await.unwrap();
    let folders = sync::sync_folder_list(&mut session, &store, ACCOUNT)
        .await
        .unwrap();
    assert!(folders.iter().any(|f| f.name == "Projekte/Größe & Co"));
    session
        .rename("Projekte/Größe & Co", "Projekte/Neu")
        .await
        .unwrap();
    let folders = sync::sync_folder_list(&mut session, &store, ACCOUNT)
        .await
        .unwrap();
    assert!(folders.iter().any(|f| f.name == "Projekte/Neu"));
    assert!(!folders.iter().any(|f| f.name == "Projekte/Größe & Co"));
    session.delete("Projekte/Neu").await.unwrap();
    let folders = sync::sync_folder_list(&mut session, &store, ACCOUNT)
        .await
        .unwrap();
    assert!(!folders.iter().any(|f| f.name == "Projekte/Neu"));
    // A name with a line break never reaches the server.
    assert!(session.create("evil\r\nt9 DELETE INBOX").await.is_err());
    let _ = Store::open(&env.dir.path().join("x.sqlite3")).unwrap();
}

#[tokio::test]
async fn an_appended_message_reaches_the_server_once_even_if_replayed_twice() {
    let env = Env::new();
    let store = env.store();
    sync(&env, &store, FolderRole::Drafts).await;
    let drafts = folder(&store, ACCOUNT, FolderRole::Drafts);
    let raw = tern_testenv::corpus::message(7);
    let row = tern_core::store::NewMessage {
        uid: 0,
        flags: Flags::SEEN | Flags::DRAFT,
        keywords: Vec::new(),
        modseq: 0,
        internal_date: 1_700_000_000,
        size: raw.len() as u32,
        date: Some(1_700_000_000),
        subject: "Draft".into(),
        from: Vec::new(),
        to: Vec::new(),
        cc: Vec::new(),
        bcc: Vec::new(),
        reply_to: Vec::new(),
        message_id: Some("msg7@example.org".into()),
        in_reply_to: None,
        references: Vec::new(),
        has_attachment: false,
    };
    let text = tern_core::mime::body_text_for_index(&raw);
    let local = store
        .lock()
        .unwrap()
        .local_append(drafts.id, &row, &raw, &text)
        .unwrap();
    let op = store.lock().unwrap().pending_ops(ACCOUNT).unwrap();
    assert_eq!(op.len(), 1);

    // Replay, then pretend the app died before recording it: the op is queued again.
    let mut session = env.session().await;
    sync::replay_pending(&mut session, &store, ACCOUNT)
        .await
        .unwrap();
    let state = env.server_state("Drafts");
    assert_eq!(state.len(), 1);
    assert_eq!(state[0].1, vec!["\\Draft".to_owned(), "\\Seen".to_owned()]);
    let uid = store.lock().unwrap().message(local).unwrap().unwrap().uid;
    assert_eq!(uid, Some(state[0].0), "the local row got the server's UID");

    let again = op[0].1.clone();
    store.lock().unwrap().enqueue(ACCOUNT, &again).unwrap();
    sync::replay_pending(&mut session, &store, ACCOUNT)
        .await
        .unwrap();
    assert_eq!(
        env.server_state("Drafts").len(),
        1,
        "no duplicate on a repeated APPEND"
    );
}

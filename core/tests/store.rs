//! The local store against a real SQLite file in a temp folder.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use tempfile::TempDir;
use tern_core::store::{
    Address, Flags, FolderId, FolderInfo, FolderRole, MessageId, NewMessage, PendingOp, SortOrder,
    Store, StoreError, schema,
};

const ACCOUNT: &str = "me@example.org";
const DAY: i64 = 86_400;
/// 2024-01-01 00:00:00 UTC.
const T0: i64 = 1_704_067_200;

fn open() -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store.sqlite")).unwrap();
    (dir, store)
}

fn reopen(dir: &TempDir) -> Store {
    Store::open(&dir.path().join("store.sqlite")).unwrap()
}

fn addr(name: &str, email: &str) -> Address {
    Address {
        name: (!name.is_empty()).then(|| name.to_string()),
        email: email.to_string(),
    }
}

fn info(name: &str, role: Option<FolderRole>) -> FolderInfo {
    FolderInfo {
        name: name.to_string(),
        delimiter: Some('/'),
        role,
        subscribed: true,
        selectable: true,
    }
}

fn msg(uid: u32, subject: &str, from: &str, date: i64) -> NewMessage {
    NewMessage {
        uid,
        flags: Flags::empty(),
        keywords: Vec::new(),
        modseq: 1,
        internal_date: date,
        size: 1000,
        date: Some(date),
        subject: subject.to_string(),
        from: vec![addr("", from)],
        to: vec![addr("Me", ACCOUNT)],
        cc: Vec::new(),
        bcc: Vec::new(),
        reply_to: Vec::new(),
        message_id: Some(format!("{uid}.{from}")),
        in_reply_to: None,
        references: Vec::new(),
        has_attachment: false,
    }
}

fn with_id(mut m: NewMessage, id: &str) -> NewMessage {
    m.message_id = Some(id.to_string());
    m
}

fn replying(mut m: NewMessage, parent: &str, refs: &[&str]) -> NewMessage {
    m.in_reply_to = Some(parent.to_string());
    m.references = refs.iter().map(|s| s.to_string()).collect();
    m
}

struct Folders {
    inbox: FolderId,
    archive: FolderId,
    trash: FolderId,
}

fn folders(store: &mut Store) -> Folders {
    store
        .sync_folder_list(
            ACCOUNT,
            &[
                info("INBOX", Some(FolderRole::Inbox)),
                info("Archive", Some(FolderRole::Archive)),
                info("Trash", Some(FolderRole::Trash)),
            ],
        )
        .unwrap();
    let id = |s: &Store, n: &str| s.folder_by_name(ACCOUNT, n).unwrap().unwrap().id;
    let f = Folders {
        inbox: id(store, "INBOX"),
        archive: id(store, "Archive"),
        trash: id(store, "Trash"),
    };
    for (i, folder) in [f.inbox, f.archive, f.trash].into_iter().enumerate() {
        store
            .set_sync_state(folder, 100 + i as u32, 1, Some(1))
            .unwrap();
    }
    f
}

fn counts(store: &Store, folder: FolderId) -> (u32, u32) {
    let f = store.folder(folder).unwrap().unwrap();
    (f.unread, f.total)
}

/// The stored counts agree with the rows (counted without trusting the counts).
fn check_counts(store: &Store, folder: FolderId) {
    let n = |q: &str| store.search(q, None, Some(folder), u32::MAX).unwrap().len() as u32;
    let (unread, read) = (n("is:unread"), n("is:read"));
    assert_eq!(
        counts(store, folder),
        (unread, unread + read),
        "folder {folder}"
    );
}

fn check_all_counts(store: &Store) {
    for f in store.folders(ACCOUNT).unwrap() {
        check_counts(store, f.id);
    }
}

fn ids(rows: &[tern_core::store::MessageRow]) -> Vec<Option<u32>> {
    rows.iter().map(|r| r.uid).collect()
}

fn user_version(path: &Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

#[test]
fn fresh_file_migrates_and_reopens() {
    let (dir, mut store) = open();
    let f = folders(&mut store);
    store
        .insert_messages(f.inbox, &[msg(1, "Hello", "a@x.org", T0)])
        .unwrap();
    drop(store);
    let path = dir.path().join("store.sqlite");
    assert_eq!(user_version(&path), schema::MIGRATIONS.len() as i64);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    drop(conn);
    let store = reopen(&dir);
    assert_eq!(store.uids(f.inbox).unwrap(), vec![1]);
    assert_eq!(store.search("hello", None, None, 10).unwrap().len(), 1);
}

#[test]
fn old_version_database_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite");
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        schema::migrate_to(&mut conn, 1).unwrap();
        conn.execute_batch(
            r#"INSERT INTO folder (id, account, name, subscribed, selectable, total, unread)
                 VALUES (1, 'me@example.org', 'INBOX', 1, 1, 1, 1);
               INSERT INTO message (folder, uid, flags, date, internal_date, size, subject,
                   sender_sort, addr_from, addr_to, thread)
                 VALUES (1, 7, 0, 1704067200, 1704067200, 10, 'Budget meeting', 'carol',
                   '[{"name":"Carol Jones","email":"carol@corp.example"}]',
                   '[{"name":null,"email":"me@example.org"}]', 1);"#,
        )
        .unwrap();
    }
    assert_eq!(user_version(&path), 1);
    let store = Store::open(&path).unwrap();
    assert_eq!(user_version(&path), schema::MIGRATIONS.len() as i64);
    // The step-2 backfill indexed the old row.
    assert_eq!(store.search("from:carol", None, None, 10).unwrap().len(), 1);
    assert_eq!(store.search("budget", None, None, 10).unwrap().len(), 1);
    assert_eq!(
        store
            .search("to:me@example.org", None, None, 10)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(counts(&store, 1), (1, 1));
    assert_eq!(
        store.page(1, 0, 10, SortOrder::DateDesc).unwrap()[0].subject,
        "Budget meeting"
    );
}

#[test]
fn newer_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite");
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    assert!(matches!(
        Store::open(&path),
        Err(StoreError::TooNew { found: 99, .. })
    ));
}

#[test]
fn folder_list_sync_adds_updates_and_removes() {
    let (_dir, mut store) = open();
    let f = folders(&mut store);
    assert_eq!(store.folders(ACCOUNT).unwrap().len(), 3);
    assert_eq!(
        store
            .folder_by_role(ACCOUNT, FolderRole::Trash)
            .unwrap()
            .unwrap()
            .id,
        f.trash
    );
    store
        .insert_messages(f.archive, &[msg(1, "x", "a@x.org", T0)])
        .unwrap();

    // Archive gone, Trash renamed by role, a new folder; another account untouched.
    store
        .sync_folder_list("other@example.org", &[info("INBOX", None)])
        .unwrap();
    store
        .sync_folder_list(
            ACCOUNT,
            &[
                info("INBOX", Some(FolderRole::Inbox)),
                info("Trash", None),
                info("Deleted Items", Some(FolderRole::Trash)),
            ],
        )
        .unwrap();
    let names: Vec<String> = store
        .folders(ACCOUNT)
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, ["Deleted Items", "INBOX", "Trash"]);
    assert_eq!(
        store.folder(f.inbox).unwrap().unwrap().uidvalidity,
        Some(100)
    );
    assert!(store.folder(f.archive).unwrap().is_none());
    assert!(store.message_by_uid(f.archive, 1).unwrap().is_none());
    assert_eq!(store.folder(f.trash).unwrap().unwrap().role, None);
    let trash = store
        .folder_by_role(ACCOUNT, FolderRole::Trash)
        .unwrap()
        .unwrap();
    assert_eq!(trash.name, "Deleted Items");
    assert_eq!(trash.delimiter, Some('/'));
    assert_eq!(store.folders("other@example.org").unwrap().len(), 1);
    assert!(store.search("x", None, None, 10).unwrap().is_empty());
}

#[test]
fn insert_page_orders_and_counts() {
    let (_dir, mut store) = open();
    let f = folders(&mut store);
    let mut batch = Vec::new();
    for uid in 1..=10u32 {
        let sender = format!(
            "{}@x.org",
            ["dave", "alice", "carol", "bob"][uid as usize % 4]
        );
        let mut m = msg(uid, &format!("m{uid}"), &sender, T0 + i64::from(uid) * 60);
        if uid.is_multiple_of(3) {
            m.flags = Flags::SEEN;
        }
        batch.push(m);
    }
    // A spam-style Date header years ahead falls back to the internal date.
    batch[9].date = Some(T0 + 900 * DAY);
    store.insert_messages(f.inbox, &batch).unwrap();
    assert_eq!(counts(&store, f.inbox), (7, 10));
    assert_eq!(
        store.message_by_uid(f.inbox, 10).unwrap().unwrap().date,
        T0 + 600
    );

    let desc = store.page(f.inbox, 0, 4, SortOrder::DateDesc).unwrap();
    assert_eq!(ids(&desc), [Some(10), Some(9), Some(8), Some(7)]);
    let asc = store.page(f.inbox, 0, 3, SortOrder::DateAsc).unwrap();
    assert_eq!(ids(&asc), [Some(1), Some(2), Some(3)]);
    // Past the middle the page is read from the other end; same rows either way.
    let tail = store.page(f.inbox, 7, 5, SortOrder::DateDesc).unwrap();
    assert_eq!(ids(&tail), [Some(3), Some(2), Some(1)]);
    let all: Vec<_> = (0..10)
        .flat_map(|o| store.page(f.inbox, o, 1, SortOrder::DateAsc).unwrap())
        .collect();
    assert_eq!(ids(&all), (1..=10).map(Some).collect::<Vec<_>>());
    assert!(
        store
            .page(f.inbox, 10, 5, SortOrder::DateDesc)
            .unwrap()
            .is_empty()
    );

    // Sender ascending, newest first within a sender.
    let by_sender = store.page(f.inbox, 0, 10, SortOrder::SenderAsc).unwrap();
    assert_eq!(ids(&by_sender), [9, 5, 1, 7, 3, 10, 6, 2, 8, 4].map(Some));
    let mid = store.page(f.inbox, 6, 4, SortOrder::SenderAsc).unwrap();
    assert_eq!(ids(&mid), ids(&by_sender[6..]));

    // Keyset paging walks the same order.
    for order in [
        SortOrder::DateDesc,
        SortOrder::DateAsc,
        SortOrder::SenderAsc,
    ] {
        let full = store.page(f.inbox, 0, 10, order).unwrap();
        let mut walked = store.page_after(f.inbox, None, 3, order).unwrap();
        while let Some(last) = walked.last().map(|r| r.id) {
            let next = store.page_after(f.inbox, Some(last), 3, order).unwrap();
            if next.is_empty() {
                break;
            }
            walked.extend(next);
        }
        assert_eq!(ids(&walked), ids(&full), "{order:?}");
    }

    // Upsert: a known uid only refreshes its flags.
    let mut again = batch[0].clone();
    again.flags = Flags::SEEN | Flags::FLAGGED;
    store.insert_messages(f.inbox, &[again]).unwrap();
    assert_eq!(counts(&store, f.inbox), (6, 10));
    assert_eq!(
        store.message_by_uid(f.inbox, 1).unwrap().unwrap().flags,
        Flags::SEEN | Flags::FLAGGED
    );
    assert_eq!(
        (
            store.min_uid(f.inbox).unwrap(),
            store.max_uid(f.inbox).unwrap()
        ),
        (Some(1), Some(10))
    );
    assert_eq!(
        store.uid_by_message_id(f.inbox, "<4.alice@x.org>").unwrap(),
        None
    );
    assert_eq!(
        store.uid_by_message_id(f.inbox, "<5.alice@x.org>").unwrap(),
        Some(5)
    );
    let unread = store.unread_counts(ACCOUNT).unwrap();
    assert!(unread.contains(&(f.inbox, 6, 10)) && unread.contains(&(f.trash, 0, 0)));
    check_all_counts(&store);
}

#[test]
fn update_flags_and_remove_uids_keep_counts() {
    let (_dir, mut store) = open();
    let f = folders(&mut store);
    let batch: Vec<_> = (1..=5)
        .map(|u| msg(u, "s", "a@x.org", T0 + i64::from(u)))
        .collect();
    store.insert_messages(f.inbox, &batch).unwrap();
    assert_eq!(counts(&store, f.inbox), (5, 5));
    store
        .update_flags(
            f.inbox,
            &[
                (1, Flags::SEEN, vec!["$Work".into()], 7),
                (2, Flags::SEEN | Flags::ANSWERED, vec![], 7),
                (99, Flags::SEEN, vec![], 7),
            ],
        )
        .unwrap();
    assert_eq!(counts(&store, f.inbox), (3, 5));
    assert_eq!(
        store.message_by_uid(f.inbox, 1).unwrap().unwrap().keywords,
        ["$Work"]
    );
    store.remove_uids(f.inbox, &[1, 3, 42]).unwrap();
    assert_eq!(counts(&store, f.inbox), (2, 3));
    assert_eq!(store.uids(f.inbox).unwrap(), [2, 4, 5]);
    store
        .update_flags(f.inbox, &[(4, Flags::SEEN, vec![], 8)])
        .unwrap();
    assert_eq!(counts(&store, f.inbox), (1, 3));
    check_all_counts(&store);
}

#[test]
fn server_flags_keep_queued_user_changes() {
    let (_dir, mut store) = open();
    let f = folders(&mut store);
    store
        .insert_messages(f.inbox, &[msg(1, "s", "a@x.org", T0)])
        .unwrap();
    let id = store.message_by_uid(f.inbox, 1).unwrap().unwrap().id;
    store
        .local_set_flags(&[id], Flags::SEEN, Flags::empty())
        .unwrap();
    // A sync before the replay reports the old server state.
    store
        .update_flags(f.inbox, &[(1, Flags::FLAGGED, vec![], 2)])
        .unwrap();
    assert_eq!(
        store.message(id).unwrap().unwrap().flags,
        Flags::SEEN | Flags::FLAGGED
    );
    assert_eq!(counts(&store, f.inbox), (0, 1));
}

#[test]
fn adopts_local_row_by_message_id() {
    let (_dir, mut store) = open();
    let f = folders(&mut store);
    store
        .insert_messages(f.inbox, &[with_id(msg(3, "Hi", "a@x.org", T0), "m1@x")])
        .unwrap();
    let id = store.message_by_uid(f.inbox, 3).unwrap().unwrap().id;
    store
        .put_body(id, b"Subject: Hi\r\n\r\nbody", "body text")
        .unwrap();
    store.local_move(&[id], f.archive).unwrap();
    let row = store.message(id).unwrap().unwrap();
    assert_eq!((row.folder, row.uid, row.has_body), (f.archive, None, true));
    assert_eq!(counts(&store, f.archive), (1, 1));
    assert_eq!(counts(&store, f.inbox), (0, 0));

    // The server reports the moved message at its new uid: same row, no duplicate.
    let mut seen = with_id(msg(17, "Hi", "a@x.org", T0), "<m1@x>");
    seen.flags = Flags::SEEN;
    store.insert_messages(f.archive, &[seen]).unwrap();
    let row = store.message(id).unwrap().unwrap();
    assert_eq!((row.uid, row.flags), (Some(17), Flags::SEEN));
    assert_eq!(counts(&store, f.archive), (0, 1));
    assert_eq!(store.body(id).unwrap().unwrap(), b"Subject: Hi\r\n\r\nbody");
    assert_eq!(store.search("body", None, None, 10).unwrap().len(), 1);
    check_all_counts(&store);
}

#[test]
fn reset_folder_keeps_local_rows_and_ops() {
    let (_dir, mut store) = open();
    let f = folders(&mut store);
    store
        .insert_messages(
            f.inbox,
            &[msg(1, "a", "a@x.org", T0), msg(2, "b", "b@x.org", T0)],
        )
        .unwrap();
    store
        .insert_messages(f.archive, &[msg(1, "c", "c@x.org", T0)])
        .unwrap();
    let in_archive = store.message_by_uid(f.archive, 1).unwrap().unwrap().id;
    let in_inbox = store.message_by_uid(f.inbox, 2).unwrap().unwrap().id;
    store.local_move(&[in_archive], f.inbox).unwrap();
    store
        .local_set_flags(&[in_inbox], Flags::FLAGGED, Flags::empty())
        .unwrap();
    store.put_body(in_inbox, b"raw", "unique").unwrap();
    let ops = store.pending_ops(ACCOUNT).unwrap();
    assert_eq!(ops.len(), 2);

    store.reset_folder(f.inbox, 555).unwrap();
    let folder = store.folder(f.inbox).unwrap().unwrap();
    assert_eq!(
        (folder.uidvalidity, folder.uidnext, folder.highestmodseq),
        (Some(555), None, None)
    );
    let rows = store.page(f.inbox, 0, 10, SortOrder::DateDesc).unwrap();
    assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), [in_archive]);
    assert_eq!(counts(&store, f.inbox), (1, 1));
    assert_eq!(store.pending_ops(ACCOUNT).unwrap(), ops);
    assert!(store.body(in_inbox).unwrap().is_none());
    assert!(store.search("unique", None, None, 10).unwrap().is_empty());
    check_all_counts(&store);
}

fn thread_of(store: &Store, folder: FolderId, uid: u32) -> i64 {
    store.message_by_uid(folder, uid).unwrap().unwrap().thread
}

#[test]
fn threads_in_order_out_of_order_and_merged() {
    let (_dir, mut store) = open();
    let f = folders(&mut store);
    // In order: root, reply, reply to reply (References only).
    store
        .insert_messages(
            f.inbox,
            &[
                with_id(msg(1, "Plan", "a@x.org", T0), "root@x"),
                replying(
                    with_id(msg(2, "Re: Plan", "b@x.org", T0 + 60), "r1@x"),
                    "root@x",
                    &["root@x"],
                ),
                with_id(msg(3, "Re: Plan", "a@x.org", T0 + 120), "r2@x"),
            ],
        )
        .unwrap();
    let mut r3 = with_id(msg(4, "Re: Plan", "c@x.org", T0 + 180), "r3@x");
    r3.references = vec!["root@x".into(), "r1@x".into()];
    store.insert_messages(f.inbox, &[r3]).unwrap();
    let t = thread_of(&store, f.inbox, 1);
    assert_eq!(thread_of(&store, f.inbox, 2), t);
    assert_eq!(thread_of(&store, f.inbox, 4), t);
    // No reply headers, "Re: Plan" within the window: the subject fallback joins it.
    assert_eq!(thread_of(&store, f.inbox, 3), t);

    // Out of order, across folders: the grandchild first, then the child, then the root.
    store
        .insert_messages(
            f.archive,
            &[replying(
                with_id(msg(1, "Re: Trip", "b@x.org", T0 + 200), "t3@x"),
                "t2@x",
                &["t1@x", "t2@x"],
            )],
        )
        .unwrap();
    store
        .insert_messages(
            f.inbox,
            &[replying(
                with_id(msg(10, "Re: Trip", "a@x.org", T0 + 100), "t2@x"),
                "t1@x",
                &["t1@x"],
            )],
        )
        .unwrap();
    store
        .insert_messages(f.inbox, &[with_id(msg(11, "Trip", "c@x.org", T0), "t1@x")])
        .unwrap();
    let trip = thread_of(&store, f.archive, 1);
    assert_ne!(trip, t);
    assert_eq!(thread_of(&store, f.inbox, 10), trip);
    assert_eq!(thread_of(&store, f.inbox, 11), trip);
    let rows = store.thread(trip).unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| r.message_id.as_deref().unwrap())
            .collect::<Vec<_>>(),
        ["t1@x", "t2@x", "t3@x"]
    );

    // Two threads that only meet through a later message (two replies whose common parent is
    // missing, one referencing each) merge into one.
    store
        .insert_messages(
            f.inbox,
            &[
                replying(
                    with_id(msg(20, "Re: A", "a@x.org", T0), "a2@x"),
                    "a1@x",
                    &["a1@x"],
                ),
                replying(
                    with_id(msg(21, "Re: B", "b@x.org", T0), "b2@x"),
                    "b1@x",
                    &["b1@x"],
                ),
            ],
        )
        .unwrap();
    let (ta, tb) = (
        thread_of(&store, f.inbox, 20),
        thread_of(&store, f.inbox, 21),
    );
    assert_ne!(ta, tb);
    store
        .insert_messages(
            f.inbox,
            &[replying(
                with_id(msg(22, "Re: A+B", "c@x.org", T0), "c@x"),
                "a2@x",
                &["a1@x", "a2@x", "b2@x"],
            )],
        )
        .unwrap();
    let merged = thread_of(&store, f.inbox, 22);
    assert_eq!(thread_of(&store, f.inbox, 20), merged);
    assert_eq!(thread_of(&store, f.inbox, 21), merged);
    assert_eq!(store.thread(merged).unwrap().len(), 3);
    // A thread id held from before the merge still finds the whole thread.
    assert_eq!(store.thread(ta.max(tb)).unwrap().len(), 3);
    // A message arriving later that references an id of the absorbed thread lands in it too.
    store
        .insert_messages(
            f.inbox,
            &[replying(
                with_id(msg(23, "Re: B", "d@x.org", T0), "b3@x"),
                "b1@x",
                &["b1@x"],
            )],
        )
        .unwrap();
    assert_eq!(thread_of(&store, f.inbox, 23), merged);
    // Message-ID lookups go through the (merged) links.
    assert_eq!(store.uid_by_message_id(f.inbox, "b2@x").unwrap(), Some(21));
    assert_eq!(store.uid_by_message_id(f.archive, "b2@x").unwrap(), None);
}

#[test]
fn subject_fallback_only_for_reply_looking_subjects() {
    let (_dir, mut store) = open();
    let f = folders(&mut store);
    store
        .insert_messages(
            f.inbox,
            &[
                msg(1, "Hello", "a@x.org", T0),
                msg(2, "Hello", "b@x.org", T0 + 60),
                msg(3, "[team] RE: hello ", "c@x.org", T0 + 120),
                msg(4, "Re: Hello", "d@x.org", T0 + 40 * DAY),
            ],
        )
        .unwrap();
    // Two plain "Hello"s are unrelated.
    assert_ne!(thread_of(&store, f.inbox, 1), thread_of(&store, f.inbox, 2));
    // The reply joins the nearest "Hello" in time.
    assert_eq!(thread_of(&store, f.inbox, 3), thread_of(&store, f.inbox, 2));
    // Outside the 30-day window: its own thread.
    let far = thread_of(&store, f.inbox, 4);
    assert!(![1, 2].map(|u| thread_of(&store, f.inbox, u)).contains(&far));

    // The reply arrives before its original: the plain original joins it.
    store
        .insert_messages(f.inbox, &[msg(10, "Fwd: Minutes", "a@x.org", T0 + 500)])
        .unwrap();
    store
        .insert_messages(f.inbox, &[msg(11, "Minutes", "b@x.org", T0 + 400)])
        .unwrap();
    assert_eq!(
        thread_of(&store, f.inbox, 10),
        thread_of(&store, f.inbox, 11)
    );
    // A message with reply headers never falls back to the subject.
    store
        .insert_messages(
            f.inbox,
            &[replying(
                msg(12, "Re: Minutes", "c@x.org", T0 + 450),
                "unknown@x",
                &[],
            )],
        )
        .unwrap();
    assert_ne!(
        thread_of(&store, f.inbox, 12),
        thread_of(&store, f.inbox, 11)
    );
    // A second plain "Minutes" does not join through the "Fwd: Minutes" the first claimed.
    store
        .insert_messages(f.inbox, &[msg(13, "Minutes", "d@x.org", T0 + 460)])
        .unwrap();
    assert_ne!(
        thread_of(&store, f.inbox, 13),
        thread_of(&store, f.inbox, 11)
    );
}

#[test]
fn search_operators() {
    let (_dir, mut store) = open();
    let f = folders(&mut store);
    let mut a = msg(1, "Quarterly report Q3", "alice@corp.example", T0);
    a.from = vec![addr("Alice Martín", "alice@corp.example")];
    a.has_attachment = true;
    let mut b = msg(
        2,
        "Report on the quarterly numbers",
        "bob@corp.example",
        T0 + 10 * DAY,
    );
    b.to = vec![addr("Carol", "carol@corp.example")];
    b.flags = Flags::SEEN | Flags::FLAGGED;
    let c = msg(3, "Lunch?", "alice@home.example", T0 + 20 * DAY);
    store.insert_messages(f.inbox, &[a, b]).unwrap();
    store.insert_messages(f.archive, &[c]).unwrap();
    let lunch = store.message_by_uid(f.archive, 3).unwrap().unwrap().id;
    store
        .put_body(lunch, b"raw", "Shall we try the new ramen place?")
        .unwrap();
    store
        .sync_folder_list("other@example.org", &[info("INBOX", None)])
        .unwrap();
    let other = store
        .folder_by_name("other@example.org", "INBOX")
        .unwrap()
        .unwrap()
        .id;
    store
        .insert_messages(
            other,
            &[msg(1, "Quarterly report", "alice@corp.example", T0)],
        )
        .unwrap();

    let s = |q: &str| -> Vec<(FolderId, Option<u32>)> {
        store
            .search(q, Some(ACCOUNT), None, 50)
            .unwrap()
            .iter()
            .map(|r| (r.folder, r.uid))
            .collect()
    };
    let inbox = |u: u32| (f.inbox, Some(u));
    let arch = |u: u32| (f.archive, Some(u));
    assert_eq!(s("quarterly"), [inbox(2), inbox(1)]);
    assert_eq!(s("quart"), [inbox(2), inbox(1)], "last word is a prefix");
    assert!(s("quart ").is_empty(), "a finished word is not");
    assert_eq!(s("from:alice"), [arch(3), inbox(1)]);
    assert_eq!(s("from:martin"), [inbox(1)], "names and diacritics");
    assert_eq!(s("from:alice@home.example"), [arch(3)]);
    assert_eq!(s("to:carol"), [inbox(2)]);
    assert_eq!(s("to:me"), [arch(3), inbox(1)]);
    assert_eq!(s(r#"subject:"quarterly report""#), [inbox(1)]);
    assert_eq!(s(r#""report on the""#), [inbox(2)]);
    assert_eq!(s("subject:lunch"), [arch(3)]);
    assert_eq!(s("ramen"), [arch(3)], "body text");
    assert_eq!(s("has:attachment"), [inbox(1)]);
    assert_eq!(s("is:unread"), [arch(3), inbox(1)]);
    assert_eq!(s("is:read"), [inbox(2)]);
    assert_eq!(s("is:flagged"), [inbox(2)]);
    assert_eq!(s("before:2024-01-11"), [inbox(1)]);
    assert_eq!(s("after:2024-01-11"), [arch(3), inbox(2)]);
    assert_eq!(s("after:2024-01-02 before:2024-01-21"), [inbox(2)]);
    assert_eq!(
        s("from:alice report is:unread has:attachment before:2024-02-01"),
        [inbox(1)]
    );
    assert!(s("from:bob lunch").is_empty());
    // An unknown key is text: "quarterly:report" is the phrase "quarterly report".
    assert!(s("nope:report").is_empty());
    assert_eq!(s("quarterly:report"), [inbox(1)]);
    assert!(s("").is_empty() && s("   ").is_empty());

    // Scope: one folder; all accounts.
    let in_archive = store.search("alice", None, Some(f.archive), 50).unwrap();
    assert_eq!(in_archive.len(), 1);
    assert_eq!(
        store
            .search("quarterly report", None, None, 50)
            .unwrap()
            .len(),
        3
    );
    assert_eq!(store.search("quarterly", None, None, 1).unwrap().len(), 1);

    // Hostile input never reaches FTS5 as syntax.
    for q in [
        "\"",
        "\"\"",
        "*",
        "(",
        ")",
        "-",
        ":",
        "^",
        "\"*()-:^",
        "a\"b",
        "NOT",
        "AND OR NEAR",
        "report AND",
        "col:\"",
        "from:\"",
        "subject:(x",
        "NEAR(a b)",
        "{sender}: x",
        "a*b",
        "'; DROP TABLE message; --",
        "\u{0}",
        "🙂",
        "é",
        "from:*",
        "\"unterminated phrase",
        "before:2024-99-99",
        "after:",
        "is:",
        "has:",
        "^report",
        "report\"",
        "+report",
    ] {
        assert!(store.search(q, None, None, 10).is_ok(), "{q:?}");
    }
    assert_eq!(s("report\""), [inbox(2), inbox(1)]);
    assert_eq!(s("-report"), [inbox(2), inbox(1)]);
    assert_eq!(
        s("report \u{345}"),
        [inbox(2), inbox(1)],
        "a lone combining mark is ignored"
    );
    assert_eq!(s("NOT"), Vec::<(FolderId, Option<u32>)>::new());
}

#[test]
fn local_actions_queue_ops_durably() {
    let (dir, mut store) = open();
    let f = folders(&mut store);
    store
        .insert_messages(
            f.inbox,
            &(1..=4)
                .map(|u| with_id(msg(u, "s", "a@x.org", T0 + i64::from(u)), &format!("m{u}")))
                .collect::<Vec<_>>(),
        )
        .unwrap();
    let id = |s: &Store, u: u32| s.message_by_uid(f.inbox, u).unwrap().unwrap().id;
    let (m1, m2, m3, m4) = (id(&store, 1), id(&store, 2), id(&store, 3), id(&store, 4));

    store
        .local_set_flags(&[m1, m2], Flags::SEEN | Flags::FLAGGED, Flags::empty())
        .unwrap();
    store
        .local_set_flags(&[m1], Flags::SEEN, Flags::FLAGGED)
        .unwrap();
    store.local_move(&[m2], f.archive).unwrap();
    store.local_copy(&[m3], f.archive).unwrap();
    store.local_delete(&[m4]).unwrap();
    let mut draft = msg(0, "Draft", ACCOUNT, T0 + 9);
    draft.flags = Flags::DRAFT | Flags::SEEN;
    let appended = store
        .local_append(f.archive, &draft, b"From: me\r\n\r\nhi", "hi there")
        .unwrap();

    assert_eq!(counts(&store, f.inbox), (1, 2));
    assert_eq!(counts(&store, f.archive), (1, 3));
    assert_eq!(counts(&store, f.trash), (1, 1));
    let copy = store.page(f.archive, 0, 10, SortOrder::DateDesc).unwrap();
    let copy_id = copy
        .iter()
        .find(|r| r.subject == "s" && r.id != m2)
        .unwrap()
        .id;
    assert_eq!(
        store.message(copy_id).unwrap().unwrap().thread,
        store.message(m3).unwrap().unwrap().thread
    );
    assert_eq!(
        store.body(appended).unwrap().unwrap(),
        b"From: me\r\n\r\nhi"
    );
    assert_eq!(
        store.search("there", None, None, 10).unwrap()[0].id,
        appended
    );

    let expected = vec![
        PendingOp::SetFlags {
            folder: f.inbox,
            uid: 1,
            uidvalidity: 100,
            message_id: Some("m1".into()),
            add: Flags::SEEN | Flags::FLAGGED,
            remove: Flags::empty(),
        },
        PendingOp::SetFlags {
            folder: f.inbox,
            uid: 2,
            uidvalidity: 100,
            message_id: Some("m2".into()),
            add: Flags::SEEN | Flags::FLAGGED,
            remove: Flags::empty(),
        },
        PendingOp::SetFlags {
            folder: f.inbox,
            uid: 1,
            uidvalidity: 100,
            message_id: Some("m1".into()),
            add: Flags::empty(),
            remove: Flags::FLAGGED,
        },
        PendingOp::Move {
            from: f.inbox,
            uid: 2,
            uidvalidity: 100,
            message_id: Some("m2".into()),
            to: f.archive,
            local: m2,
        },
        PendingOp::Copy {
            from: f.inbox,
            uid: 3,
            uidvalidity: 100,
            message_id: Some("m3".into()),
            to: f.archive,
            local: copy_id,
        },
        PendingOp::Move {
            from: f.inbox,
            uid: 4,
            uidvalidity: 100,
            message_id: Some("m4".into()),
            to: f.trash,
            local: m4,
        },
        PendingOp::Append {
            folder: f.archive,
            local: appended,
        },
    ];
    let ops: Vec<PendingOp> = store
        .pending_ops(ACCOUNT)
        .unwrap()
        .into_iter()
        .map(|(_, op)| op)
        .collect();
    assert_eq!(ops, expected);

    // Deleting in Trash is for good.
    store
        .insert_messages(f.trash, &[with_id(msg(9, "old", "a@x.org", T0), "old@x")])
        .unwrap();
    let old = store.message_by_uid(f.trash, 9).unwrap().unwrap().id;
    store.local_delete(&[old]).unwrap();
    assert!(store.message(old).unwrap().is_none());

    // Survives closing and reopening; and a connection that was never closed (a kill).
    let before = store.pending_ops(ACCOUNT).unwrap();
    assert_eq!(
        before.last().unwrap().1,
        PendingOp::Expunge {
            folder: f.trash,
            uid: 9,
            uidvalidity: 102,
            message_id: Some("old@x".into())
        }
    );
    drop(store);
    let store = reopen(&dir);
    assert_eq!(store.pending_ops(ACCOUNT).unwrap(), before);
    assert_eq!(store.message(m2).unwrap().unwrap().folder, f.archive);
    let mut store = store;
    store
        .local_set_flags(&[m3], Flags::ANSWERED, Flags::empty())
        .unwrap();
    std::mem::forget(store);
    let store = reopen(&dir);
    assert_eq!(store.pending_ops(ACCOUNT).unwrap().len(), before.len() + 1);
    assert!(store.pending_ops("other@example.org").unwrap().is_empty());
    check_all_counts(&store);
}

#[test]
fn actions_on_local_only_rows_edit_the_queued_op() {
    let (_dir, mut store) = open();
    let f = folders(&mut store);
    store
        .insert_messages(
            f.inbox,
            &[
                with_id(msg(1, "a", "a@x.org", T0), "a@x"),
                with_id(msg(2, "b", "a@x.org", T0), "b@x"),
            ],
        )
        .unwrap();
    let a = store.message_by_uid(f.inbox, 1).unwrap().unwrap().id;
    let b = store.message_by_uid(f.inbox, 2).unwrap().unwrap().id;

    // Move twice: still one op, to the last folder; flags on the local row stay local.
    store.local_move(&[a], f.archive).unwrap();
    store
        .local_set_flags(&[a], Flags::SEEN, Flags::empty())
        .unwrap();
    store.local_move(&[a], f.trash).unwrap();
    let ops = store.pending_ops(ACCOUNT).unwrap();
    assert_eq!(ops.len(), 1);
    assert_eq!(
        ops[0].1,
        PendingOp::Move {
            from: f.inbox,
            uid: 1,
            uidvalidity: 100,
            message_id: Some("a@x".into()),
            to: f.trash,
            local: a
        }
    );
    assert_eq!(store.message(a).unwrap().unwrap().flags, Flags::SEEN);

    // Moved back before replay: the op is cancelled and the uid comes back.
    store.local_move(&[a], f.inbox).unwrap();
    assert!(store.pending_ops(ACCOUNT).unwrap().is_empty());
    assert_eq!(store.message(a).unwrap().unwrap().uid, Some(1));
    assert_eq!(counts(&store, f.inbox), (1, 2));

    // Deleted for good while its move to Trash is queued: expunge at the source instead.
    store.local_delete(&[b]).unwrap();
    store.local_delete(&[b]).unwrap();
    let ops = store.pending_ops(ACCOUNT).unwrap();
    assert_eq!(ops.len(), 1);
    assert_eq!(
        ops[0].1,
        PendingOp::Expunge {
            folder: f.inbox,
            uid: 2,
            uidvalidity: 100,
            message_id: Some("b@x".into())
        }
    );
    store.finish_op(ops[0].0).unwrap();

    // A copy deleted before replay never reaches the server.
    store.local_copy(&[a], f.archive).unwrap();
    let copy = store.pending_ops(ACCOUNT).unwrap()[0].1.local().unwrap();
    store.local_delete(&[copy]).unwrap();
    store.local_delete(&[copy]).unwrap();
    assert!(store.pending_ops(ACCOUNT).unwrap().is_empty());
    check_all_counts(&store);
}

#[test]
fn complete_op_handles_a_move_made_while_in_flight() {
    let (_dir, mut store) = open();
    let f = folders(&mut store);
    store
        .insert_messages(f.inbox, &[with_id(msg(1, "a", "a@x.org", T0), "a@x")])
        .unwrap();
    let a = store.message_by_uid(f.inbox, 1).unwrap().unwrap().id;
    store.local_move(&[a], f.archive).unwrap();
    let (op, executed) = store.pending_ops(ACCOUNT).unwrap().remove(0);
    // While the engine runs the MOVE, the user moves the row on to Trash.
    store.local_move(&[a], f.trash).unwrap();
    store.complete_op(op, &executed, Some(40)).unwrap();
    let ops = store.pending_ops(ACCOUNT).unwrap();
    assert_eq!(
        ops,
        vec![(
            op,
            PendingOp::Move {
                from: f.archive,
                uid: 40,
                uidvalidity: 101,
                message_id: Some("a@x".into()),
                to: f.trash,
                local: a
            }
        )]
    );
    assert_eq!(store.message(a).unwrap().unwrap().uid, None);
    // The follow-up runs undisturbed: the row gets its Trash uid.
    store.complete_op(op, &ops[0].1, Some(7)).unwrap();
    assert!(store.pending_ops(ACCOUNT).unwrap().is_empty());
    assert_eq!(store.message(a).unwrap().unwrap().uid, Some(7));
    // set_uid over a row the sync already inserted at that uid keeps the local row.
    let draft = store
        .local_append(
            f.inbox,
            &with_id(msg(0, "d", ACCOUNT, T0), "d@x"),
            b"raw",
            "",
        )
        .unwrap();
    let mut dup = with_id(msg(50, "d", ACCOUNT, T0), "d@x");
    dup.message_id = None;
    store.insert_messages(f.inbox, &[dup]).unwrap();
    store.set_uid(draft, 50).unwrap();
    assert_eq!(
        store.message_by_uid(f.inbox, 50).unwrap().unwrap().id,
        draft
    );
    assert_eq!(counts(&store, f.inbox).1, 1);
    check_all_counts(&store);
}

#[test]
fn fail_op_keeps_op_queued() {
    let (dir, mut store) = open();
    let f = folders(&mut store);
    store
        .insert_messages(f.inbox, &[msg(1, "a", "a@x.org", T0)])
        .unwrap();
    let a: MessageId = store.message_by_uid(f.inbox, 1).unwrap().unwrap().id;
    store
        .local_set_flags(&[a], Flags::SEEN, Flags::empty())
        .unwrap();
    let (op, _) = store.pending_ops(ACCOUNT).unwrap()[0].clone();
    store.fail_op(op, "NO [SERVERBUG] oops").unwrap();
    store.fail_op(op, "connection reset").unwrap();
    drop(store);
    let mut store = reopen(&dir);
    assert_eq!(store.pending_ops(ACCOUNT).unwrap().len(), 1);
    assert_eq!(store.op_attempts(op).unwrap(), 2);
    assert_eq!(
        store.op_status(op).unwrap().unwrap().last_error.as_deref(),
        Some("connection reset")
    );
    store.finish_op(op).unwrap();
    assert!(store.pending_ops(ACCOUNT).unwrap().is_empty());
    assert_eq!(store.op_attempts(op).unwrap(), 0);
}

#[test]
fn bodies_and_messages_without_body() {
    let (_dir, mut store) = open();
    let f = folders(&mut store);
    let batch: Vec<_> = (1..=5)
        .map(|u| msg(u, "s", "a@x.org", T0 + i64::from(u) * DAY))
        .collect();
    store.insert_messages(f.inbox, &batch).unwrap();
    let m4 = store.message_by_uid(f.inbox, 4).unwrap().unwrap().id;
    store.put_body(m4, b"raw4", "four").unwrap();
    let want: Vec<u32> = store
        .messages_without_body(f.inbox, T0 + 2 * DAY, 10)
        .unwrap()
        .into_iter()
        .map(|(_, u)| u)
        .collect();
    assert_eq!(want, [5, 3]);
    assert!(store.message(m4).unwrap().unwrap().has_body);
    assert!(matches!(
        store.put_body(9999, b"x", ""),
        Err(StoreError::NoSuchMessage(9999))
    ));
}

#[test]
fn deep_pages_match_a_full_read() {
    let (_dir, mut store) = open();
    let f = folders(&mut store);
    let senders = [
        "ann@x.org",
        "Bob@x.org",
        "cid@x.org",
        "dee@x.org",
        "eve@x.org",
    ];
    // Many equal dates and senders, so ties exercise the id tie-break.
    let batch: Vec<NewMessage> = (1..=9_000u32)
        .map(|u| msg(u, "s", senders[(u % 5) as usize], T0 + i64::from(u / 3)))
        .collect();
    for chunk in batch.chunks(3000) {
        store.insert_messages(f.inbox, chunk).unwrap();
    }
    for order in [
        SortOrder::DateDesc,
        SortOrder::DateAsc,
        SortOrder::SenderAsc,
    ] {
        let full: Vec<MessageId> = store
            .page(f.inbox, 0, 9_000, order)
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(full.len(), 9_000);
        // The first deep read walks, the second builds marks, the rest use them.
        for round in 0..3 {
            for offset in [4_097u32, 4_200, 4_500, 4_511, 4_512, 4_513, 4_700] {
                let page: Vec<MessageId> = store
                    .page(f.inbox, offset, 37, order)
                    .unwrap()
                    .iter()
                    .map(|r| r.id)
                    .collect();
                let at = offset as usize;
                assert_eq!(
                    page,
                    full[at..at + 37],
                    "{order:?} offset {offset} round {round}"
                );
            }
        }
        let after = store
            .page_after(f.inbox, Some(full[4_600]), 20, order)
            .unwrap();
        assert_eq!(
            after.iter().map(|r| r.id).collect::<Vec<_>>(),
            full[4_601..4_621]
        );
    }
    // A write drops the marks: pages reflect it.
    let first = store.page(f.inbox, 4_500, 1, SortOrder::DateAsc).unwrap()[0].id;
    store.remove_uids(f.inbox, &[1, 2, 3]).unwrap();
    for _ in 0..3 {
        assert_eq!(
            store.page(f.inbox, 4_497, 1, SortOrder::DateAsc).unwrap()[0].id,
            first
        );
    }
    check_all_counts(&store);
}

#[test]
fn message_id_collisions_step_past() {
    let (dir, mut store) = open();
    let f = folders(&mut store);
    let set_seq = |v: i64| {
        let conn = rusqlite::Connection::open(dir.path().join("store.sqlite")).unwrap();
        conn.execute("UPDATE meta SET value = ?1 WHERE key = 'next_seq'", [v])
            .unwrap();
    };
    store
        .insert_messages(f.inbox, &[msg(1, "a", "a@x.org", T0)])
        .unwrap();
    let a = store.message_by_uid(f.inbox, 1).unwrap().unwrap().id;
    // Force the sequence to wrap onto a's id: same second, same low bits.
    set_seq(1 << 22);
    store
        .insert_messages(f.inbox, &[msg(2, "b", "b@x.org", T0)])
        .unwrap();
    let b = store.message_by_uid(f.inbox, 2).unwrap().unwrap().id;
    assert_eq!(b, a + 1);
    set_seq(1 << 22);
    store.local_copy(&[a], f.archive).unwrap();
    let copy = store.page(f.archive, 0, 1, SortOrder::DateDesc).unwrap()[0].id;
    assert_eq!(copy, a + 2);
    // Ids follow dates.
    store
        .insert_messages(f.inbox, &[msg(3, "c", "c@x.org", T0 - DAY)])
        .unwrap();
    assert!(store.message_by_uid(f.inbox, 3).unwrap().unwrap().id < a);
    check_all_counts(&store);
}

#[test]
fn unindexed_rows_become_searchable_after_index_pending() {
    let batch = vec![
        msg(1, "Quarterly report", "alice@corp.example", T0),
        msg(2, "Lunch plans", "bob@corp.example", T0 + DAY),
        msg(3, "Quarterly figures", "carol@corp.example", T0 + 2 * DAY),
        msg(4, "Gone soon", "dave@corp.example", T0 + 3 * DAY),
        msg(5, "Report draft", "erin@corp.example", T0 + 4 * DAY),
    ];
    // The same rows through the indexed path: the deferred path must end up searching alike.
    let (_d, mut indexed) = open();
    let fi = folders(&mut indexed);
    indexed.insert_messages(fi.inbox, &batch).unwrap();

    let (_dir, mut store) = open();
    let f = folders(&mut store);
    store.insert_messages_unindexed(f.inbox, &batch).unwrap();
    assert_eq!(store.pending_index_count().unwrap(), 5);
    assert_eq!(counts(&store, f.inbox), (5, 5));
    assert!(
        store
            .search("quarterly", None, None, 50)
            .unwrap()
            .is_empty()
    );

    // A body stored before indexing indexes its whole row.
    let lunch = store.message_by_uid(f.inbox, 2).unwrap().unwrap().id;
    store.put_body(lunch, b"raw", "ramen place").unwrap();
    assert_eq!(store.pending_index_count().unwrap(), 4);
    let uids = |s: &Store, q: &str| -> Vec<Option<u32>> {
        ids(&s.search(q, Some(ACCOUNT), None, 50).unwrap())
    };
    assert_eq!(uids(&store, "ramen"), [Some(2)]);
    assert_eq!(uids(&store, "from:bob"), [Some(2)]);

    // A copy of an unindexed row waits with it; an expunged row leaves the queue.
    let q3 = store.message_by_uid(f.inbox, 3).unwrap().unwrap().id;
    store.local_copy(&[q3], f.archive).unwrap();
    assert_eq!(store.pending_index_count().unwrap(), 5);
    store.remove_uids(f.inbox, &[4]).unwrap();
    indexed.remove_uids(fi.inbox, &[4]).unwrap();
    assert_eq!(store.pending_index_count().unwrap(), 4);

    // Newest first, `limit` a call.
    assert_eq!(store.index_pending(2).unwrap(), 2);
    assert_eq!(uids(&store, "report"), [Some(5)]);
    assert_eq!(store.index_pending(10).unwrap(), 2);
    assert_eq!(store.index_pending(10).unwrap(), 0);
    assert_eq!(store.pending_index_count().unwrap(), 0);

    for q in [
        "quarterly",
        "report",
        "from:alice",
        "from:corp.example",
        "to:me",
        "subject:\"quarterly figures\"",
        "is:unread",
    ] {
        let expect: Vec<Option<u32>> = uids(&indexed, q);
        let got: Vec<Option<u32>> = ids(&store.search(q, None, Some(f.inbox), 50).unwrap());
        assert_eq!(got, expect, "{q}");
    }
    // The copy is found in its folder.
    assert_eq!(
        ids(&store.search("figures", None, Some(f.archive), 50).unwrap()),
        [None]
    );
    check_all_counts(&store);
}

/// A draft copy replaced while its upload runs: the queued Append becomes an Expunge by
/// Message-ID, and when the upload finishes with a uid, that uid is what gets expunged, so
/// the old draft does not stay on the server.
#[test]
fn a_draft_copy_replaced_during_its_upload_is_expunged_after_it() {
    let (_dir, mut store) = open();
    let f = folders(&mut store);
    let old = with_id(msg(0, "draft", "me@x.org", T0), "draft-1@x");
    let row = store
        .local_append(f.archive, &old, b"Subject: draft\r\n\r\nv1", "v1")
        .unwrap();
    let (op, executed) = store.pending_ops(ACCOUNT).unwrap().remove(0);
    assert_eq!(
        executed,
        PendingOp::Append {
            folder: f.archive,
            local: row
        }
    );

    // The replay has read the op and is uploading; the next save replaces the copy.
    let new = with_id(msg(0, "draft", "me@x.org", T0 + 30), "draft-2@x");
    store
        .replace_draft_copy(
            f.archive,
            Some("draft-1@x"),
            Some((&new, b"Subject: draft\r\n\r\nv2".as_slice(), "v2")),
            true,
        )
        .unwrap();
    // The upload ends: the server gave the old copy uid 7.
    store.complete_op(op, &executed, Some(7)).unwrap();
    let ops: Vec<PendingOp> = store
        .pending_ops(ACCOUNT)
        .unwrap()
        .into_iter()
        .map(|(_, op)| op)
        .collect();
    assert!(
        ops.iter().any(|o| matches!(
            o,
            PendingOp::Expunge { folder, uid: 7, message_id: Some(id), .. }
                if *folder == f.archive && id == "draft-1@x"
        )),
        "the old copy is expunged by its new uid: {ops:?}"
    );
    assert!(
        ops.iter()
            .any(|o| matches!(o, PendingOp::Append { folder, .. } if *folder == f.archive)),
        "the new copy is still to be uploaded: {ops:?}"
    );
}

/// Thread ids as a partition: which rows share a thread (the ids themselves may differ).
fn thread_partition(store: &Store, folder: FolderId, uids: &[u32]) -> Vec<Vec<bool>> {
    let threads: Vec<i64> = uids.iter().map(|&u| thread_of(store, folder, u)).collect();
    threads
        .iter()
        .map(|a| threads.iter().map(|b| a == b).collect())
        .collect()
}

/// A tangle for threading: replies before and after their parents, parents that never
/// arrive (so two threads meet only through a later reply and merge), References without
/// In-Reply-To, reply-looking subjects without reply headers, originals that arrive after
/// such a reply, repeated plain subjects, and links to rows of an earlier batch.
fn thread_tangle() -> (Vec<NewMessage>, Vec<NewMessage>) {
    let mut seed = 7u64;
    let mut next = move |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    let topics = ["Plan", "Trip", "Budget", "Lunch", "Release", "Hello"];
    let mut all = Vec::new();
    for i in 0..240u32 {
        let topic = topics[next(topics.len() as u64) as usize];
        let date = T0 + i64::from(i) * 3600;
        let mut m = with_id(msg(i + 1, topic, "a@x.org", date), &format!("m{i}@x"));
        match next(6) {
            // A reply to an earlier or later message, or to one that never arrives.
            0 | 1 => {
                let parent = next(260);
                let grand = next(260);
                m.subject = format!("Re: {topic}");
                m.in_reply_to = Some(format!("m{parent}@x"));
                m.references = vec![format!("m{grand}@x"), format!("m{parent}@x")];
            }
            // References only.
            2 => {
                m.subject = format!("Fwd: {topic}");
                m.references = vec![format!("m{}@x", next(260))];
            }
            // Looks like a reply, has no reply headers.
            3 => m.subject = format!("Re: {topic}"),
            // No Message-ID at all.
            4 if next(3) == 0 => m.message_id = None,
            _ => {}
        }
        all.push(m);
    }
    let later = all.split_off(40);
    (all, later)
}

#[test]
fn a_batch_threads_exactly_as_its_messages_one_at_a_time() {
    let (earlier, mut later) = thread_tangle();
    // A first sync's order: newest first, batch by batch, each in ascending order.
    later.reverse();
    let mut batch_order: Vec<NewMessage> = Vec::new();
    for chunk in later.chunks(50) {
        batch_order.extend(chunk.iter().rev().cloned());
    }
    let uids: Vec<u32> = earlier.iter().chain(&later).map(|m| m.uid).collect();

    let (_d1, mut one_by_one) = open();
    let f1 = folders(&mut one_by_one);
    one_by_one.insert_messages(f1.inbox, &earlier).unwrap();
    for m in &batch_order {
        one_by_one
            .insert_messages(f1.inbox, std::slice::from_ref(m))
            .unwrap();
    }

    // The bulk path of a first sync: read-ahead lookups, deferred links, rows prepared
    // apart; once with rows prepared for another account, which must be redone.
    for prepared_for in [ACCOUNT, "someone-else@example.org"] {
        let (_d2, mut batched) = open();
        let f2 = folders(&mut batched);
        batched.insert_messages(f2.inbox, &earlier).unwrap();
        for chunk in batch_order.chunks(100) {
            let prepared = Store::prepare_headers(prepared_for, chunk).unwrap();
            batched
                .insert_prepared_unindexed(f2.inbox, chunk, prepared)
                .unwrap();
        }
        assert_eq!(
            thread_partition(&batched, f2.inbox, &uids),
            thread_partition(&one_by_one, f1.inbox, &uids),
            "prepared for {prepared_for}"
        );
        // Links written at the end of a batch are there for the next one.
        for m in earlier.iter().chain(&later) {
            if let Some(id) = &m.message_id {
                assert_eq!(
                    batched.uid_by_message_id(f2.inbox, id).unwrap(),
                    one_by_one.uid_by_message_id(f1.inbox, id).unwrap(),
                    "{id}"
                );
            }
        }
        check_all_counts(&batched);
    }
    // The tangle does exercise merges and the subject fallback.
    let threads: std::collections::HashSet<i64> = uids
        .iter()
        .map(|&u| thread_of(&one_by_one, f1.inbox, u))
        .collect();
    assert!(
        threads.len() > 6 && threads.len() < uids.len() / 2,
        "{}",
        threads.len()
    );
}

#[test]
fn a_first_sync_feeds_the_address_book_after_its_index_pass() {
    let (_dir, mut store) = open();
    let f = folders(&mut store);
    let mut first = msg(1, "Hello", "ada@example.org", T0);
    first.from = vec![addr("Ada Lovelace", "ada@example.org")];
    store.insert_messages_unindexed(f.inbox, &[first]).unwrap();
    // Folded in by the pass that runs after the folder's first sync, in chunks.
    assert_eq!(store.fold_pending_addresses(10).unwrap(), 1);
    assert_eq!(store.fold_pending_addresses(10).unwrap(), 0);
    assert_eq!(
        store.address_suggestions("lovel", 5).unwrap(),
        vec![addr("Ada Lovelace", "ada@example.org")]
    );

    // More bulk rows, then an ordinary insert (new mail): that write folds in everything
    // since the mark, the bulk rows included, each once.
    let bulk: Vec<NewMessage> = (2..=6)
        .map(|uid| {
            msg(
                uid,
                "Bulk",
                &format!("bulk{uid}@example.org"),
                T0 + i64::from(uid),
            )
        })
        .collect();
    store.insert_messages_unindexed(f.inbox, &bulk).unwrap();
    store
        .insert_messages(f.inbox, &[msg(7, "New", "new@example.org", T0 + DAY)])
        .unwrap();
    assert_eq!(store.fold_pending_addresses(10).unwrap(), 0);
    let found = store.address_suggestions("example", 20).unwrap();
    let mut emails: Vec<&str> = found.iter().map(|a| a.email.as_str()).collect();
    emails.sort_unstable();
    assert_eq!(
        emails,
        [
            "ada@example.org",
            "bulk2@example.org",
            "bulk3@example.org",
            "bulk4@example.org",
            "bulk5@example.org",
            "bulk6@example.org",
            "me@example.org",
            "new@example.org"
        ]
    );

    // A chunk at a time: `limit` rows per call, none counted twice.
    let more: Vec<NewMessage> = (8..=12)
        .map(|uid| msg(uid, "Ada again", "ada@example.org", T0 + 2 * DAY))
        .collect();
    store.insert_messages_unindexed(f.inbox, &more).unwrap();
    assert_eq!(store.fold_pending_addresses(2).unwrap(), 2);
    assert_eq!(store.fold_pending_addresses(2).unwrap(), 2);
    assert_eq!(store.fold_pending_addresses(2).unwrap(), 1);
    assert_eq!(store.fold_pending_addresses(2).unwrap(), 0);
    // Ada: 1 + 5 messages; "me" is in To of all 12. Most used first.
    assert_eq!(
        store
            .address_suggestions("example", 2)
            .unwrap()
            .into_iter()
            .map(|a| a.email)
            .collect::<Vec<_>>(),
        ["me@example.org", "ada@example.org"]
    );
}

#[test]
fn a_step_5_store_migrates_and_keeps_its_address_book_current() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite");
    {
        let mut store = Store::open(&path).unwrap();
        let f = folders(&mut store);
        let mut old = msg(1, "Old mail", "old@example.org", T0);
        old.from = vec![addr("Old Friend", "old@example.org")];
        store.insert_messages(f.inbox, &[old]).unwrap();
    }
    // Back to step 5 as the previous version left it: its per-commit trigger, no mark.
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP TRIGGER message_address_book; DELETE FROM meta WHERE key = 'address_seq';
             PRAGMA user_version = 5;",
        )
        .unwrap();
        // The step-5 trigger, recreated from that step's own text.
        let v5 = schema::MIGRATIONS[4];
        let trigger = &v5[v5.find("CREATE TRIGGER message_address_book").unwrap()..];
        conn.execute_batch(trigger).unwrap();
        // Step 5 still runs as it did: a message stored now is in the book at once.
        let tx = conn.transaction().unwrap();
        tx.execute_batch(
            r#"INSERT INTO message (id, folder, uid, date, internal_date, size, subject,
                   sender_sort, addr_from, thread)
               SELECT (1704067200 << 22) | (SELECT value FROM meta WHERE key = 'next_seq'),
                   id, 2, 1704067200, 1704067200, 10, 'Step 5', 'carol',
                   '[{"name":"Carol Step","email":"carol@example.org"}]', 99
               FROM folder WHERE name = 'INBOX';
               UPDATE meta SET value = value + 1 WHERE key = 'next_seq';"#,
        )
        .unwrap();
        tx.commit().unwrap();
    }
    assert_eq!(user_version(&path), 5);
    let mut store = Store::open(&path).unwrap();
    assert_eq!(user_version(&path), schema::MIGRATIONS.len() as i64);
    // What step 5 had is kept, and nothing is folded in twice.
    assert_eq!(store.fold_pending_addresses(100).unwrap(), 0);
    assert_eq!(
        store.address_suggestions("friend", 5).unwrap(),
        vec![addr("Old Friend", "old@example.org")]
    );
    assert_eq!(
        store.address_suggestions("carol", 5).unwrap(),
        vec![addr("Carol Step", "carol@example.org")]
    );
    // New mail after the migration reaches the book at once; a first sync's after its pass.
    let inbox = store.folder_by_name(ACCOUNT, "INBOX").unwrap().unwrap().id;
    store
        .insert_messages(inbox, &[msg(3, "New", "new@example.org", T0 + DAY)])
        .unwrap();
    assert_eq!(
        emails_of(store.address_suggestions("new", 5).unwrap()),
        ["new@example.org"]
    );
    store
        .insert_messages_unindexed(inbox, &[msg(4, "Bulk", "bulk@example.org", T0 + DAY)])
        .unwrap();
    assert_eq!(store.fold_pending_addresses(100).unwrap(), 1);
    assert_eq!(
        emails_of(store.address_suggestions("bulk", 5).unwrap()),
        ["bulk@example.org"]
    );
    // Counted once each: "me" is in To of the old, the new and the bulk message.
    drop(store);
    let uses: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT uses FROM address_book WHERE key = 'me@example.org'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(uses, 3);
}

fn emails_of(found: Vec<Address>) -> Vec<String> {
    found.into_iter().map(|a| a.email).collect()
}

//! POP3 accounts against a real Dovecot: mail is downloaded into the local store once,
//! server copies are deleted only as the account's options say and only once stored, and
//! dropped connections (during RETR, between DELE and QUIT, during QUIT) neither lose nor
//! duplicate a message.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Env, PASSWORD};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tern_core::account::{Account, Incoming, Pop3Options, Server};
use tern_core::pop3;
use tern_core::store::{FolderId, FolderRole, MessageRow, SortOrder, Store};
use tern_core::sync::SharedStore;
use tern_core::sync::pop3::{Pop3Report, sync_pop3};
use tern_testenv::proxy::FaultProxy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// `user`'s POP3 server over implicit TLS on `port` (Dovecot's, or a proxy's in front).
fn server(env: &Env, user: &str, port: u16) -> Server {
    Server {
        port,
        login: user.to_owned(),
        ..env.server()
    }
}

fn account(env: &Env, user: &str, port: u16, pop3: Pop3Options) -> Account {
    Account {
        id: format!("pop-{user}"),
        email: format!("{user}@example.org"),
        incoming: Incoming::Pop3(server(env, user, port)),
        pop3,
        ..Account::default()
    }
}

fn options(leave_on_server: bool) -> Pop3Options {
    Pop3Options {
        leave_on_server,
        ..Pop3Options::default()
    }
}

fn open_store(env: &Env, name: &str) -> SharedStore {
    Arc::new(Mutex::new(
        Store::open(&env.dir.path().join(format!("{name}.sqlite3"))).unwrap(),
    ))
}

async fn sync(store: &SharedStore, account: &Account) -> Pop3Report {
    sync_pop3(store, account, PASSWORD, |_, _| {})
        .await
        .unwrap()
}

/// The Message-ID of a raw message, without angle brackets.
fn message_id(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let line = text
        .lines()
        .take_while(|l| !l.is_empty())
        .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))?;
    Some(line[11..].trim().trim_matches(['<', '>']).to_owned())
}

/// Every message on the server, by UIDL, as RETR gives it (read without deleting).
async fn server_mail(env: &Env, user: &str) -> BTreeMap<String, Vec<u8>> {
    let mut session = pop3::connect(&server(env, user, env.dovecot.pop3s_port()), PASSWORD)
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for (n, uidl) in session.uidl().await.unwrap() {
        out.insert(uidl, session.retr(n).await.unwrap());
    }
    session.quit().await.unwrap();
    out
}

/// The Message-IDs on the server.
async fn server_ids(env: &Env, user: &str) -> BTreeSet<String> {
    server_mail(env, user)
        .await
        .values()
        .map(|raw| message_id(raw).unwrap())
        .collect()
}

fn folder_id(store: &SharedStore, account: &str, role: FolderRole) -> FolderId {
    common::folder(store, account, role).id
}

fn rows(store: &SharedStore, folder: FolderId) -> Vec<MessageRow> {
    store
        .lock()
        .unwrap()
        .page(folder, 0, 1_000_000, SortOrder::DateDesc)
        .unwrap()
}

/// Every local row of the account, in all its folders.
fn all_rows(store: &SharedStore, account: &str) -> Vec<MessageRow> {
    let folders = store.lock().unwrap().folders(account).unwrap();
    folders.iter().flat_map(|f| rows(store, f.id)).collect()
}

/// The account's local Message-IDs, sorted, duplicates kept.
fn local_ids(store: &SharedStore, account: &str) -> Vec<String> {
    let mut ids: Vec<String> = all_rows(store, account)
        .into_iter()
        .map(|r| r.message_id.unwrap())
        .collect();
    ids.sort();
    ids
}

fn row_with_id(store: &SharedStore, account: &str, id: &str) -> Option<MessageRow> {
    all_rows(store, account)
        .into_iter()
        .find(|r| r.message_id.as_deref() == Some(id))
}

fn corpus_ids(range: std::ops::Range<usize>) -> Vec<String> {
    let mut ids: Vec<String> = range.map(|i| format!("msg{i}@example.org")).collect();
    ids.sort();
    ids
}

/// Checks that every server message is stored exactly once, byte for byte.
fn assert_stored_once(store: &SharedStore, account: &str, server: &BTreeMap<String, Vec<u8>>) {
    let stored = all_rows(store, account);
    let s = store.lock().unwrap();
    for raw in server.values() {
        let id = message_id(raw).unwrap();
        let copies: Vec<&MessageRow> = stored
            .iter()
            .filter(|r| r.message_id.as_deref() == Some(id.as_str()))
            .collect();
        assert_eq!(copies.len(), 1, "{id}: {} local copies", copies.len());
        assert!(copies[0].has_body, "{id}");
        let body = s.body(copies[0].id).unwrap().unwrap();
        assert!(
            body == *raw,
            "{id}: the stored bytes differ from the server's"
        );
    }
}

/// A relay that counts the bytes the server sends, to learn how long a session is and
/// so where a fault proxy should cut an identical one.
struct CountingRelay {
    port: u16,
    server_bytes: Arc<AtomicU64>,
}

impl CountingRelay {
    async fn start(target: u16) -> CountingRelay {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server_bytes = Arc::new(AtomicU64::new(0));
        let count = server_bytes.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(("127.0.0.1", target)).await.unwrap();
                let count = count.clone();
                tokio::spawn(async move {
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    let up = async {
                        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                        let _ = server_write.shutdown().await;
                    };
                    let down = async {
                        let mut buf = vec![0; 16 * 1024];
                        while let Ok(n @ 1..) = server_read.read(&mut buf).await {
                            count.fetch_add(n as u64, Ordering::SeqCst);
                            if client_write.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        let _ = client_write.shutdown().await;
                    };
                    tokio::join!(up, down);
                });
            }
        });
        CountingRelay { port, server_bytes }
    }

    /// Bytes the server sent so far, once its side of the last session has settled.
    async fn server_bytes(&self) -> u64 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.server_bytes.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn downloads_new_mail_once_into_the_local_inbox() {
    let env = Env::new();
    let messages = common::messages(0..30);
    env.append("INBOX", &messages);
    let store = env.store();
    let acc = account(
        &env,
        &env.user,
        env.dovecot.pop3s_port(),
        Pop3Options::default(),
    );
    let mut calls = Vec::new();
    let report = sync_pop3(&store, &acc, PASSWORD, |done, total| {
        calls.push((done, total))
    })
    .await
    .unwrap();
    assert_eq!(
        report,
        Pop3Report {
            downloaded: 30,
            deleted_on_server: 0,
            skipped_known: 0
        }
    );
    assert_eq!(calls.first(), Some(&(0, 30)));
    assert_eq!(calls.last(), Some(&(30, 30)));

    // The account's folders exist locally, with their roles.
    for role in [
        FolderRole::Inbox,
        FolderRole::Drafts,
        FolderRole::Sent,
        FolderRole::Trash,
        FolderRole::Junk,
        FolderRole::Archive,
    ] {
        common::folder(&store, &acc.id, role);
    }
    let inbox = common::folder(&store, &acc.id, FolderRole::Inbox);
    assert_eq!((inbox.total, inbox.unread), (30, 30));
    let inbox = inbox.id;
    assert_eq!(rows(&store, inbox).len(), 30);

    for (i, raw) in messages.iter().enumerate() {
        let row = row_with_id(&store, &acc.id, &format!("msg{i}@example.org")).unwrap();
        assert_eq!(row.folder, inbox);
        assert_eq!(row.uid, None, "a POP3 message is local-only");
        let t = i / 3;
        let re = if i % 3 == 1 { "Re: " } else { "" };
        let topic = tern_testenv::corpus::topic(t);
        assert_eq!(row.subject, format!("{re}{topic} number {t} äöü"));
        assert_eq!(row.from[0].name.as_deref(), Some("Jürgen Müller"));
        assert_eq!(row.from[0].email, format!("juergen{}@example.org", i % 50));
        assert_eq!(row.to[0].email, "alice@example.org");
        let month = ((i / 28) % 6) as u32 + 1;
        let date = chrono::NaiveDate::from_ymd_opt(2024, month, 1 + (i % 28) as u32)
            .unwrap()
            .and_hms_opt((i % 24) as u32, (i % 60) as u32, 0)
            .unwrap()
            .and_utc()
            .timestamp();
        assert_eq!(row.date, date, "msg{i}");
        assert_eq!(row.has_attachment, i % 10 == 0, "msg{i}");
        assert_eq!(row.size as usize, raw.len());
        assert!(row.has_body);
        assert_eq!(store.lock().unwrap().body(row.id).unwrap().unwrap(), *raw);
        if i % 3 == 1 {
            let parent = row_with_id(&store, &acc.id, &format!("msg{}@example.org", i - 1));
            assert_eq!(
                row.thread,
                parent.unwrap().thread,
                "msg{i} joins its thread"
            );
        }
    }
    {
        let s = store.lock().unwrap();
        // A word from the bodies, and one that is only in message 17's body.
        assert_eq!(
            s.search("Köln", Some(&acc.id), None, 500).unwrap().len(),
            30
        );
        let hits = s.search("week 17", Some(&acc.id), None, 500).unwrap();
        assert!(
            hits.iter()
                .any(|r| r.message_id.as_deref() == Some("msg17@example.org")),
            "{hits:?}"
        );
        assert!(s.pending_ops(&acc.id).unwrap().is_empty());
    }

    let report = sync(&store, &acc).await;
    assert_eq!(
        report,
        Pop3Report {
            downloaded: 0,
            deleted_on_server: 0,
            skipped_known: 30
        }
    );
    assert_eq!(rows(&store, inbox).len(), 30);

    env.append("INBOX", &common::messages(30..33));
    let report = sync(&store, &acc).await;
    assert_eq!((report.downloaded, report.skipped_known), (3, 30));
    assert_eq!(local_ids(&store, &acc.id), corpus_ids(0..33));

    // Leave on server (the default): deleting here, even for good, deletes nothing there.
    let row = row_with_id(&store, &acc.id, "msg5@example.org").unwrap();
    store.lock().unwrap().local_delete(&[row.id]).unwrap();
    store.lock().unwrap().local_delete(&[row.id]).unwrap();
    assert!(row_with_id(&store, &acc.id, "msg5@example.org").is_none());
    let report = sync(&store, &acc).await;
    assert_eq!((report.downloaded, report.deleted_on_server), (0, 0));
    assert_eq!(server_ids(&env, &env.user).await.len(), 33);
}

#[tokio::test]
async fn delete_after_days_deletes_only_what_was_downloaded_long_enough_ago() {
    let env = Env::new();
    env.append("INBOX", &common::messages(0..6));
    let store = env.store();
    let acc = account(
        &env,
        &env.user,
        env.dovecot.pop3s_port(),
        Pop3Options {
            delete_after_days: Some(10),
            ..Pop3Options::default()
        },
    );
    let report = sync(&store, &acc).await;
    assert_eq!((report.downloaded, report.deleted_on_server), (6, 0));

    // Downloaded eleven days ago, as far as the store knows.
    let db = rusqlite::Connection::open(env.dir.path().join("store.sqlite3")).unwrap();
    db.busy_timeout(Duration::from_secs(5)).unwrap();
    let changed = db
        .execute(
            "UPDATE pop3_seen SET downloaded = downloaded - 11 * 86400 WHERE message IN
             (SELECT id FROM message
              WHERE message_id IN ('msg1@example.org', 'msg4@example.org'))",
            [],
        )
        .unwrap();
    assert_eq!(changed, 2);

    let report = sync(&store, &acc).await;
    assert_eq!(
        report,
        Pop3Report {
            downloaded: 0,
            deleted_on_server: 2,
            skipped_known: 6
        }
    );
    let expected: BTreeSet<String> = ["msg0", "msg2", "msg3", "msg5"]
        .iter()
        .map(|m| format!("{m}@example.org"))
        .collect();
    assert_eq!(server_ids(&env, &env.user).await, expected);
    // The local copies stay.
    assert_eq!(local_ids(&store, &acc.id), corpus_ids(0..6));

    let report = sync(&store, &acc).await;
    assert_eq!(
        report,
        Pop3Report {
            downloaded: 0,
            deleted_on_server: 0,
            skipped_known: 4
        }
    );
}

#[tokio::test]
async fn delete_when_deleted_here_follows_local_deletes_and_nothing_else() {
    let env = Env::new();
    env.append("INBOX", &common::messages(0..6));
    let store = env.store();
    let acc = account(
        &env,
        &env.user,
        env.dovecot.pop3s_port(),
        Pop3Options {
            delete_when_deleted_here: true,
            ..Pop3Options::default()
        },
    );
    assert_eq!(sync(&store, &acc).await.downloaded, 6);
    let id = |n: usize| {
        row_with_id(&store, &acc.id, &format!("msg{n}@example.org"))
            .unwrap()
            .id
    };
    let (archive, inbox) = (
        folder_id(&store, &acc.id, FolderRole::Archive),
        folder_id(&store, &acc.id, FolderRole::Inbox),
    );
    let (m0, m1, m2, m3, m4) = (id(0), id(1), id(2), id(3), id(4));
    {
        let mut s = store.lock().unwrap();
        // To Trash: a delete.
        s.local_delete(&[m0]).unwrap();
        // Deleted for good (Trash, then out of Trash).
        s.local_delete(&[m1]).unwrap();
        s.local_delete(&[m1]).unwrap();
        // Moved elsewhere: not a delete.
        s.local_move(&[m2], archive).unwrap();
        // Into Trash and back out before the sync: not a delete.
        s.local_delete(&[m3]).unwrap();
        s.local_move(&[m3], inbox).unwrap();
        s.local_set_flags(
            &[m4],
            tern_core::store::Flags::SEEN,
            tern_core::store::Flags::empty(),
        )
        .unwrap();
        s.local_copy(&[m4], archive).unwrap();
        // None of it is for a server to replay.
        assert_eq!(s.pending_ops(&acc.id).unwrap(), vec![]);
    }
    let report = sync(&store, &acc).await;
    assert_eq!(
        report,
        Pop3Report {
            downloaded: 0,
            deleted_on_server: 2,
            skipped_known: 6
        }
    );
    let expected: BTreeSet<String> = (2..6).map(|i| format!("msg{i}@example.org")).collect();
    assert_eq!(server_ids(&env, &env.user).await, expected);
    let trash = folder_id(&store, &acc.id, FolderRole::Trash);
    assert_eq!(
        row_with_id(&store, &acc.id, "msg0@example.org")
            .unwrap()
            .folder,
        trash
    );
    assert!(row_with_id(&store, &acc.id, "msg1@example.org").is_none());
    assert_eq!(
        row_with_id(&store, &acc.id, "msg2@example.org")
            .unwrap()
            .folder,
        archive
    );

    let report = sync(&store, &acc).await;
    assert_eq!((report.downloaded, report.deleted_on_server), (0, 0));
    assert_eq!(server_ids(&env, &env.user).await.len(), 4);
}

/// Drops during RETR at three points of the download; then a clean sync. Nothing is lost,
/// nothing is stored twice, and what was RETR'd before a drop is kept.
#[tokio::test]
async fn drops_during_retr_neither_lose_nor_duplicate() {
    let env = Env::new();
    // Two large messages first: RETR goes newest (highest number) first, so the first cut
    // lands after some small ones are in, a later one inside a large one.
    let mut messages = vec![
        tern_testenv::corpus::message(100),
        tern_testenv::corpus::message(200),
    ];
    messages.extend(common::messages(0..40));
    let reference = env.dovecot.add_user("reference", PASSWORD).unwrap();
    env.append("INBOX", &messages);
    env.dovecot
        .append_messages(&reference, "INBOX", &messages)
        .unwrap();

    // How many bytes the server sends for a whole first download.
    let relay = CountingRelay::start(env.dovecot.pop3s_port()).await;
    let ref_store = open_store(&env, "reference");
    let ref_acc = account(&env, &reference, relay.port, options(false));
    assert_eq!(sync(&ref_store, &ref_acc).await.downloaded, 42);
    let total = relay.server_bytes().await;

    let server = server_mail(&env, &env.user).await;
    let store = env.store();
    let proxy = FaultProxy::start(env.dovecot.pop3s_port()).unwrap();
    let acc = account(&env, &env.user, proxy.port(), options(false));
    let mut errors = 0;
    for (n, fraction) in [0.3, 0.55, 0.8].into_iter().enumerate() {
        proxy.drop_after_server_bytes((total as f64 * fraction) as u64);
        let result = sync_pop3(&store, &acc, PASSWORD, |_, _| {}).await;
        let stored = local_ids(&store, &acc.id).len();
        if n == 0 {
            assert!(result.is_err(), "{result:?}");
            assert!(
                stored > 0 && stored < 42,
                "messages RETR'd before the drop are kept: {stored}"
            );
        }
        errors += usize::from(result.is_err());
        // Nothing was deleted on the server: no QUIT was reached after a drop.
        if result.is_err() {
            assert_eq!(server_mail(&env, &env.user).await.len(), 42);
        }
    }
    assert!(errors >= 2, "the cuts must land in the downloads");

    proxy.drop_after_server_bytes(0);
    sync(&store, &acc).await;
    assert_stored_once(&store, &acc.id, &server);
    assert_eq!(
        local_ids(&store, &acc.id).len(),
        42,
        "no message is stored twice"
    );
    assert!(
        server_mail(&env, &env.user).await.is_empty(),
        "the DELEs happened"
    );
}

/// Syncs `user`'s INBOX twice through `port`: a first download that keeps the server
/// copies, then one that deletes all 20 of them. Returns the account for the second.
async fn download_then_delete_all(
    env: &Env,
    store: &SharedStore,
    user: &str,
    port: u16,
) -> Account {
    let direct = account(env, user, env.dovecot.pop3s_port(), options(true));
    assert_eq!(sync(store, &direct).await.downloaded, 20);
    account(env, user, port, options(false))
}

/// The bytes the server sends in a session that only deletes 20 messages, measured on a
/// reference user with the same mail (same sizes, same UIDL lengths, same replies).
async fn measure_delete_session(env: &Env, messages: &[Vec<u8>]) -> u64 {
    let reference = env.dovecot.add_user("reference", PASSWORD).unwrap();
    env.dovecot
        .append_messages(&reference, "INBOX", messages)
        .unwrap();
    let relay = CountingRelay::start(env.dovecot.pop3s_port()).await;
    let store = open_store(env, "reference");
    let acc = download_then_delete_all(env, &store, &reference, relay.port).await;
    let before = relay.server_bytes().await;
    let report = sync(&store, &acc).await;
    assert_eq!(report.deleted_on_server, 20);
    relay.server_bytes().await - before
}

/// TLS records at the end of a delete session: each DELE reply ("+OK Marked to be
/// deleted.") is about 49 bytes with TLS overhead, the QUIT reply about 58, and a
/// close_notify (24) may follow. Cut points are chosen well inside those ranges.
const CLOSE_AND_QUIT: u64 = 24 + 58;
const DELE_RECORD: u64 = 49;

#[tokio::test]
async fn a_drop_between_dele_and_quit_deletes_nothing_and_the_next_sync_redoes_it() {
    let env = Env::new();
    let messages = common::messages(0..20);
    env.append("INBOX", &messages);
    let session_bytes = measure_delete_session(&env, &messages).await;

    let store = env.store();
    let proxy = FaultProxy::start(env.dovecot.pop3s_port()).unwrap();
    let acc = download_then_delete_all(&env, &store, &env.user, proxy.port()).await;
    let server = server_mail(&env, &env.user).await;
    // About half the DELEs have been answered when the connection goes; QUIT never arrives.
    proxy.drop_after_server_bytes(session_bytes - CLOSE_AND_QUIT - 10 * DELE_RECORD);
    let result = sync_pop3(&store, &acc, PASSWORD, |_, _| {}).await;
    assert!(result.is_err(), "{result:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        server_mail(&env, &env.user).await.len(),
        20,
        "no QUIT, no delete"
    );
    assert_stored_once(&store, &acc.id, &server);

    proxy.drop_after_server_bytes(0);
    let report = sync(&store, &acc).await;
    assert_eq!(
        report,
        Pop3Report {
            downloaded: 0,
            deleted_on_server: 20,
            skipped_known: 20
        }
    );
    assert!(server_mail(&env, &env.user).await.is_empty());
    assert_stored_once(&store, &acc.id, &server);
}

#[tokio::test]
async fn a_drop_during_quit_loses_nothing_whether_or_not_the_server_deleted() {
    let env = Env::new();
    let messages = common::messages(0..20);
    env.append("INBOX", &messages);
    let session_bytes = measure_delete_session(&env, &messages).await;

    let store = env.store();
    let proxy = FaultProxy::start(env.dovecot.pop3s_port()).unwrap();
    let acc = download_then_delete_all(&env, &store, &env.user, proxy.port()).await;
    let server = server_mail(&env, &env.user).await;
    // Inside the QUIT reply's record, with or without a close_notify after it.
    proxy.drop_after_server_bytes(session_bytes - 54);
    let result = sync_pop3(&store, &acc, PASSWORD, |_, _| {}).await;
    assert!(result.is_err(), "the client never heard +OK: {result:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        server_mail(&env, &env.user).await.is_empty(),
        "the server got QUIT and deleted"
    );

    proxy.drop_after_server_bytes(0);
    let report = sync(&store, &acc).await;
    assert_eq!(report, Pop3Report::default(), "nothing left to do");
    assert_stored_once(&store, &acc.id, &server);
    // The records of the deleted UIDLs are forgotten; new mail still arrives.
    env.append("INBOX", &common::messages(20..21));
    assert_eq!(sync(&store, &acc).await.downloaded, 1);
    assert_eq!(local_ids(&store, &acc.id), corpus_ids(0..21));
}

#[tokio::test]
async fn malformed_messages_are_stored_and_shown_as_source() {
    let env = Env::new();
    let no_headers = b"This message has no header block at all\r\n\
just words, wombats and more words\r\n"
        .to_vec();
    let mut junk: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    junk.extend_from_slice(b"\r\n");
    let one_line = vec![b'x'; 2 * 1024 * 1024];
    let mut long_header = b"Subject: ".to_vec();
    long_header.extend(std::iter::repeat_n(b'y', 2 * 1024 * 1024));
    long_header.extend_from_slice(b"\r\n\r\nbody\r\n");
    let mut messages = vec![no_headers, junk, one_line, long_header];
    messages.push(common::messages(0..1).remove(0));
    env.append("INBOX", &messages);

    let store = env.store();
    let acc = account(
        &env,
        &env.user,
        env.dovecot.pop3s_port(),
        Pop3Options::default(),
    );
    let report = sync(&store, &acc).await;
    assert_eq!(report.downloaded, 5);
    let server = server_mail(&env, &env.user).await;
    let inbox = folder_id(&store, &acc.id, FolderRole::Inbox);
    let stored = rows(&store, inbox);
    assert_eq!(stored.len(), 5);
    {
        let s = store.lock().unwrap();
        let mut bodies: Vec<Vec<u8>> = stored
            .iter()
            .map(|r| s.body(r.id).unwrap().unwrap())
            .collect();
        bodies.sort();
        let mut expected: Vec<Vec<u8>> = server.into_values().collect();
        expected.sort();
        assert!(bodies == expected, "stored bytes are the server's");
        for body in &bodies {
            let source = matches!(
                tern_core::mime::parse(body),
                tern_core::mime::Parsed::Source { .. }
            );
            let readable = body.starts_with(b"Subject: yyy") || body.starts_with(b"From: ");
            assert_eq!(
                source,
                !readable,
                "{:?}",
                String::from_utf8_lossy(&body[..40])
            );
        }
        // The headerless message is searchable by its text.
        let hits = s.search("wombats", Some(&acc.id), None, 10).unwrap();
        assert_eq!(hits.len(), 1, "{hits:?}");
    }
    // And the next sync does not fetch them again.
    assert_eq!(sync(&store, &acc).await.skipped_known, 5);
}

#[tokio::test]
async fn messages_of_tens_of_megabytes_are_stored_whole() {
    let env = Env::new();
    let big = |i: usize| {
        let mut m = format!(
            "From: Bob <bob@example.org>\r\nSubject: big {i}\r\nMessage-ID: <big{i}@example.org>\r\n\
             Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
             The scans are attached.\r\n--b\r\nContent-Type: application/octet-stream; name=scan.bin\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n"
        )
        .into_bytes();
        let line =
            b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n";
        for _ in 0..(20 * 1024 * 1024 / line.len()) {
            m.extend_from_slice(line);
        }
        m.extend_from_slice(b"--b--\r\n");
        m
    };
    let messages = vec![big(0), big(1), common::messages(0..1).remove(0)];
    env.append("INBOX", &messages);
    let store = env.store();
    let acc = account(
        &env,
        &env.user,
        env.dovecot.pop3s_port(),
        Pop3Options::default(),
    );
    assert_eq!(sync(&store, &acc).await.downloaded, 3);
    let server = server_mail(&env, &env.user).await;
    assert_stored_once(&store, &acc.id, &server);
    let row = row_with_id(&store, &acc.id, "big1@example.org").unwrap();
    assert!(row.has_attachment);
    assert_eq!(row.size as usize, messages[1].len());
}

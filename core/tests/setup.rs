//! Account setup against the real servers: the servers guessed from an address, and
//! "Test connection" telling each kind of failure apart on a real Dovecot and Postfix
//! (wrong password, host not found, port closed, silence, an untrusted or changed
//! certificate, a server that refuses the login without encryption). Also the address
//! book behind To/Cc completion, on a real store file.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::PASSWORD;
use tern_core::account::{Security, Server};
use tern_core::setup::{self, Outcome, Protocol, guess_servers, test_incoming, test_outgoing};
use tern_core::store::{Address, FolderInfo, FolderRole, NewMessage, Store};
use tern_testenv::{Dovecot, Postfix};

/// The short limit for tests that wait for a silent server.
const SHORT: Duration = Duration::from_secs(2);

#[test]
fn servers_are_guessed_from_the_domain_tls_first() {
    let guessed: Vec<(Protocol, String, u16, Security)> = guess_servers("Ann.Lee@Example.ORG")
        .into_iter()
        .map(|c| (c.protocol, c.server.host, c.server.port, c.server.security))
        .collect();
    use Protocol::*;
    use Security::*;
    let expected = [
        (Imap, "imap.example.org", 993, ImplicitTls),
        (Imap, "mail.example.org", 993, ImplicitTls),
        (Imap, "imap.example.org", 143, StartTls),
        (Imap, "mail.example.org", 143, StartTls),
        (Smtp, "smtp.example.org", 465, ImplicitTls),
        (Smtp, "mail.example.org", 465, ImplicitTls),
        (Smtp, "smtp.example.org", 587, StartTls),
        (Smtp, "mail.example.org", 587, StartTls),
        (Pop3, "pop3.example.org", 995, ImplicitTls),
        (Pop3, "mail.example.org", 995, ImplicitTls),
        (Pop3, "pop3.example.org", 110, StartTls),
        (Pop3, "mail.example.org", 110, StartTls),
    ]
    .map(|(p, h, port, s)| (p, h.to_owned(), port, s));
    assert_eq!(guessed, expected);
    // The login is the address as typed; nothing is pinned or sent in the clear.
    for c in guess_servers("Ann.Lee@Example.ORG") {
        assert_eq!(c.server.login, "Ann.Lee@Example.ORG");
        assert_eq!(c.server.pinned_cert_sha256, None);
        assert!(!c.server.plaintext_acknowledged);
    }
    assert!(guess_servers("not an address").is_empty());
}

fn server(dovecot: &Dovecot, user: &str, port: u16, security: Security) -> Server {
    Server {
        host: dovecot.host().to_owned(),
        port,
        security,
        login: user.to_owned(),
        pinned_cert_sha256: Some(dovecot.cert_sha256_hex()),
        plaintext_acknowledged: false,
    }
}

#[tokio::test]
async fn imap_settings_are_tested_and_each_failure_is_named() {
    let dovecot = Dovecot::start().unwrap();
    let user = dovecot.add_user("setup", PASSWORD).unwrap();
    let imaps = server(&dovecot, &user, dovecot.imaps_port(), Security::ImplicitTls);
    let imap = server(&dovecot, &user, dovecot.imap_port(), Security::StartTls);

    assert_eq!(
        test_incoming(&imaps, PASSWORD, Protocol::Imap).await,
        Outcome::Ok
    );
    assert_eq!(
        test_incoming(&imap, PASSWORD, Protocol::Imap).await,
        Outcome::Ok
    );

    // A self-signed certificate: refused with its fingerprint; trusting exactly that one
    // (what the setup form's "trust this certificate" does) makes the test pass.
    let unpinned = Server {
        pinned_cert_sha256: None,
        ..imaps.clone()
    };
    let fingerprint = match test_incoming(&unpinned, PASSWORD, Protocol::Imap).await {
        Outcome::CertificateNotTrusted { fingerprint, .. } => fingerprint,
        other => panic!("{other:?}"),
    };
    assert_eq!(fingerprint, dovecot.cert_sha256_hex());
    let trusted = Server {
        pinned_cert_sha256: Some(fingerprint),
        ..unpinned
    };
    assert_eq!(
        test_incoming(&trusted, PASSWORD, Protocol::Imap).await,
        Outcome::Ok
    );

    // A pin for another certificate: the server's certificate "changed".
    let other_pin = Server {
        pinned_cert_sha256: Some("00".repeat(32)),
        ..imaps.clone()
    };
    assert!(matches!(
        test_incoming(&other_pin, PASSWORD, Protocol::Imap).await,
        Outcome::CertificateChanged { presented, .. } if presented == dovecot.cert_sha256_hex()
    ));

    // Nothing listening.
    let closed = Server {
        port: tern_testenv::free_port(),
        ..imaps.clone()
    };
    assert!(matches!(
        test_incoming(&closed, PASSWORD, Protocol::Imap).await,
        Outcome::PortClosed { .. }
    ));

    // A name that never resolves (RFC 2606).
    let nowhere = Server {
        host: "imap.tern-setup.invalid".into(),
        ..imaps.clone()
    };
    assert_eq!(
        test_incoming(&nowhere, PASSWORD, Protocol::Imap).await,
        Outcome::HostNotFound {
            host: "imap.tern-setup.invalid".into()
        }
    );

    // STARTTLS chosen for the TLS port: the server waits for a TLS hello, the client for
    // a greeting; the test gives up and says the server did not answer.
    let wrong_way = Server {
        security: Security::StartTls,
        ..imaps.clone()
    };
    assert_eq!(
        setup::test_within(Protocol::Imap, &wrong_way, PASSWORD, SHORT).await,
        Outcome::Timeout
    );
    // TLS from the start on the STARTTLS port: the handshake fails, not the certificate.
    let other_way = Server {
        security: Security::ImplicitTls,
        ..imap.clone()
    };
    assert!(matches!(
        test_incoming(&other_way, PASSWORD, Protocol::Imap).await,
        Outcome::TlsFailed { .. }
    ));

    // No encryption: refused before connecting unless the user agreed; once agreed, this
    // server refuses to log in without encryption (LOGINDISABLED), which is not a wrong
    // password.
    let plain = Server {
        security: Security::Plaintext,
        ..imap.clone()
    };
    assert_eq!(
        test_incoming(&plain, PASSWORD, Protocol::Imap).await,
        Outcome::PlaintextNotAllowed
    );
    let agreed = Server {
        plaintext_acknowledged: true,
        ..plain
    };
    assert!(matches!(
        test_incoming(&agreed, PASSWORD, Protocol::Imap).await,
        Outcome::ServerRefused { .. }
    ));

    // Last, since a failed login slows this server's next ones down.
    assert!(matches!(
        test_incoming(&imaps, "not the password", Protocol::Imap).await,
        Outcome::WrongPassword { .. }
    ));
}

#[tokio::test]
async fn pop3_settings_are_tested_and_each_failure_is_named() {
    let dovecot = Dovecot::start().unwrap();
    let user = dovecot.add_user("setup", PASSWORD).unwrap();
    let pop3s = server(&dovecot, &user, dovecot.pop3s_port(), Security::ImplicitTls);
    let pop3 = server(&dovecot, &user, dovecot.pop3_port(), Security::StartTls);

    assert_eq!(
        test_incoming(&pop3s, PASSWORD, Protocol::Pop3).await,
        Outcome::Ok
    );
    assert_eq!(
        test_incoming(&pop3, PASSWORD, Protocol::Pop3).await,
        Outcome::Ok
    );
    let unpinned = Server {
        pinned_cert_sha256: None,
        ..pop3.clone()
    };
    assert!(matches!(
        test_incoming(&unpinned, PASSWORD, Protocol::Pop3).await,
        Outcome::CertificateNotTrusted { fingerprint, .. } if fingerprint == dovecot.cert_sha256_hex()
    ));
    // USER/PASS without encryption, which the user agreed to: the server says no, and
    // its words are kept.
    let agreed = Server {
        security: Security::Plaintext,
        plaintext_acknowledged: true,
        ..pop3.clone()
    };
    match test_incoming(&agreed, PASSWORD, Protocol::Pop3).await {
        Outcome::ServerRefused { reply } => {
            assert!(reply.to_lowercase().contains("plaintext"), "{reply}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        test_incoming(&pop3s, "not the password", Protocol::Pop3).await,
        Outcome::WrongPassword { .. }
    ));
}

#[tokio::test]
async fn smtp_settings_are_tested_and_each_failure_is_named() {
    let dovecot = Dovecot::start().unwrap();
    let postfix = Postfix::start(&dovecot).unwrap();
    let user = dovecot.add_user("setup", PASSWORD).unwrap();
    let smtp = |port, security| Server {
        host: postfix.host().to_owned(),
        port,
        security,
        login: user.clone(),
        pinned_cert_sha256: Some(postfix.cert_sha256_hex()),
        plaintext_acknowledged: false,
    };
    let submissions = smtp(postfix.submissions_port(), Security::ImplicitTls);
    let submission = smtp(postfix.submission_port(), Security::StartTls);

    assert_eq!(test_outgoing(&submissions, PASSWORD).await, Outcome::Ok);
    assert_eq!(test_outgoing(&submission, PASSWORD).await, Outcome::Ok);
    let unpinned = Server {
        pinned_cert_sha256: None,
        ..submission.clone()
    };
    assert!(matches!(
        test_outgoing(&unpinned, PASSWORD).await,
        Outcome::CertificateNotTrusted { fingerprint, .. } if fingerprint == postfix.cert_sha256_hex()
    ));
    // The submission port offers no login before STARTTLS.
    let agreed = Server {
        security: Security::Plaintext,
        plaintext_acknowledged: true,
        ..submission.clone()
    };
    assert_eq!(
        test_outgoing(&agreed, PASSWORD).await,
        Outcome::NoLoginMethod
    );
    let wrong_way = Server {
        security: Security::StartTls,
        ..submissions.clone()
    };
    assert_eq!(
        setup::test_within(Protocol::Smtp, &wrong_way, PASSWORD, SHORT).await,
        Outcome::Timeout
    );
    match test_outgoing(&submissions, "not the password").await {
        Outcome::WrongPassword { reply } => assert!(reply.starts_with("535"), "{reply}"),
        other => panic!("{other:?}"),
    }
}

// ---- The address book behind To/Cc completion ----

fn address(name: &str, email: &str) -> Address {
    Address {
        name: (!name.is_empty()).then(|| name.to_owned()),
        email: email.to_owned(),
    }
}

fn message(uid: u32, from: Address, to: Vec<Address>, cc: Vec<Address>) -> NewMessage {
    NewMessage {
        uid,
        flags: Default::default(),
        keywords: Vec::new(),
        modseq: 1,
        internal_date: 1_700_000_000 + i64::from(uid) * 60,
        size: 100,
        date: Some(1_700_000_000 + i64::from(uid) * 60),
        subject: format!("message {uid}"),
        from: vec![from],
        to,
        cc,
        bcc: vec![address("Hidden", "hidden@example.org")],
        reply_to: Vec::new(),
        message_id: Some(format!("{uid}@example.org")),
        in_reply_to: None,
        references: Vec::new(),
        has_attachment: false,
    }
}

/// A store with Inbox, Sent and Junk; returns it and the three folder ids.
fn store(dir: &std::path::Path) -> (Store, i64, i64, i64) {
    let mut store = Store::open(&dir.join("store.sqlite3")).unwrap();
    let folder = |name: &str, role| FolderInfo {
        name: name.into(),
        delimiter: Some('/'),
        role: Some(role),
        subscribed: true,
        selectable: true,
    };
    store
        .sync_folder_list(
            "a",
            &[
                folder("INBOX", FolderRole::Inbox),
                folder("Sent", FolderRole::Sent),
                folder("Junk", FolderRole::Junk),
            ],
        )
        .unwrap();
    let id = |role| store.folder_by_role("a", role).unwrap().unwrap().id;
    let (inbox, sent, junk) = (
        id(FolderRole::Inbox),
        id(FolderRole::Sent),
        id(FolderRole::Junk),
    );
    (store, inbox, sent, junk)
}

fn emails(found: Vec<Address>) -> Vec<String> {
    found.into_iter().map(|a| a.email).collect()
}

#[test]
fn addresses_seen_in_mail_complete_by_name_or_address_word() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, inbox, sent, junk) = store(dir.path());
    let me = address("Me Myself", "me@example.org");
    let jorg = address("Jörg Müller", "joerg.mueller@example.de");
    let joanna = address("Joanna Smith", "jo@example.com");
    let john = address("", "JOHN@Example.net");
    // Jörg writes three times, Joanna once; the user writes to Joanna twice (Sent counts
    // more); John only in Cc; a spammer only in Junk. The bulk path (a first sync) and
    // the one-by-one path both feed the book.
    store
        .insert_messages_unindexed(
            inbox,
            &[
                message(1, jorg.clone(), vec![me.clone()], vec![john.clone()]),
                message(2, jorg.clone(), vec![me.clone()], vec![]),
            ],
        )
        .unwrap();
    store
        .insert_messages(
            inbox,
            &[
                message(3, jorg.clone(), vec![me.clone()], vec![]),
                message(4, joanna.clone(), vec![me.clone()], vec![]),
            ],
        )
        .unwrap();
    store
        .insert_messages(
            sent,
            &[
                message(1, me.clone(), vec![joanna.clone()], vec![]),
                message(2, me.clone(), vec![joanna.clone()], vec![]),
            ],
        )
        .unwrap();
    store
        .insert_messages(
            junk,
            &[message(
                1,
                address("Jolly Winner", "jackpot@spam.example"),
                vec![me.clone()],
                vec![],
            )],
        )
        .unwrap();

    // "jo": Joanna (1 + 2×5 as a Sent recipient) before Jörg (3) before John (1); the
    // spammer never.
    assert_eq!(
        emails(store.address_suggestions("jo", 10).unwrap()),
        [
            "jo@example.com",
            "joerg.mueller@example.de",
            "JOHN@Example.net"
        ]
    );
    // Case and accents fold both ways; a later word of the name or the address matches.
    for typed in ["MÜL", "mul", "jörg", "mueller", "joerg.mu", "example.de"] {
        assert_eq!(
            emails(store.address_suggestions(typed, 10).unwrap()),
            ["joerg.mueller@example.de"],
            "{typed}"
        );
    }
    assert_eq!(
        store.address_suggestions("smi", 10).unwrap(),
        vec![joanna.clone()]
    );
    // The display name is kept; an address seen without one has none.
    assert_eq!(
        store.address_suggestions("john", 10).unwrap(),
        vec![john.clone()]
    );
    // Bcc is the user's private business and not mail "seen"; the limit holds.
    assert!(store.address_suggestions("hidden", 10).unwrap().is_empty());
    assert_eq!(store.address_suggestions("jo", 1).unwrap().len(), 1);
    // Whatever is typed, nothing is FTS syntax and nothing fails.
    for typed in [
        "\"", "jo*", "jo OR x", "NEAR(", "-", "", "   ", "a\"b", "^j", "jo:",
    ] {
        store
            .address_suggestions(typed, 10)
            .unwrap_or_else(|e| panic!("{typed:?}: {e}"));
    }
    assert!(store.address_suggestions("jackpot", 10).unwrap().is_empty());
}

#[test]
fn the_book_is_filled_from_mail_stored_before_it_existed_and_across_a_sequence_wrap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite3");
    {
        let (mut store, inbox, _, _) = store(dir.path());
        store
            .insert_messages(
                inbox,
                &[message(
                    1,
                    address("Old Friend", "old@example.org"),
                    vec![address("", "me@example.org")],
                    vec![],
                )],
            )
            .unwrap();
    }
    // Back to schema step 4, as a store from the previous version is.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP TRIGGER message_address_book; DROP TABLE address_book;
             DROP TABLE address_fts; DROP INDEX message_seq;
             DELETE FROM meta WHERE key = 'address_seq'; PRAGMA user_version = 4;",
        )
        .unwrap();
    }
    let (store_v5, _, _, _) = store(dir.path());
    assert_eq!(
        store_v5.address_suggestions("friend", 5).unwrap(),
        vec![address("Old Friend", "old@example.org")]
    );

    // The insert sequence wraps in the middle of one transaction: every new row counts.
    let dir = tempfile::tempdir().unwrap();
    let (mut store, inbox, _, _) = store(dir.path());
    rusqlite::Connection::open(dir.path().join("store.sqlite3"))
        .unwrap()
        .execute("UPDATE meta SET value = 4194300 WHERE key = 'next_seq'", [])
        .unwrap();
    let batch: Vec<NewMessage> = (10..18)
        .map(|uid| {
            message(
                uid,
                address(&format!("Wrap {uid}"), &format!("wrap{uid}@example.org")),
                vec![],
                vec![],
            )
        })
        .collect();
    store.insert_messages(inbox, &batch).unwrap();
    assert_eq!(store.address_suggestions("wrap", 20).unwrap().len(), 8);
}

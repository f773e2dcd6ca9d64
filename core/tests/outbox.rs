//! Sending end to end through the engine: a message goes into the outbox, through the real
//! Postfix into the real Dovecot, its Sent copy to the server; a process killed at every
//! outbox step and restarted neither loses nor duplicates a message; drafts survive a crash;
//! a refused message comes back as a draft to fix and resend; a server that files sent mail
//! itself gets no second copy.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::PASSWORD;
use mail_parser::MimeHeaders;
use tern_core::account::{Account, Config, Identity, Incoming, Security, Server, ServerFilesSent};
use tern_core::compose::{Attachment, Compose};
use tern_core::engine::{Command, Engine, Event};
use tern_core::outbox::OutboxError;
use tern_core::profile::Profile;
use tern_core::secrets;
use tern_core::store::OutboxState;
use tern_testenv::{Dovecot, Postfix};
use tokio::sync::mpsc::UnboundedReceiver;

/// Dovecot and the Postfix that delivers into it, with a sender and a recipient.
struct Mail {
    // Postfix first: it must stop before the Dovecot it delivers to.
    postfix: Postfix,
    dovecot: Dovecot,
    alice: String,
    bob: String,
    dir: tempfile::TempDir,
}

impl Mail {
    fn new() -> Mail {
        Mail::on(Dovecot::start().expect("start dovecot"))
    }

    fn on(dovecot: Dovecot) -> Mail {
        let postfix = Postfix::start(&dovecot).expect("start postfix");
        let alice = dovecot.add_user("alice", PASSWORD).unwrap();
        let bob = dovecot.add_user("bob", PASSWORD).unwrap();
        Mail {
            postfix,
            dovecot,
            alice,
            bob,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Alice's account: IMAP over implicit TLS, SMTP submission with STARTTLS, both pinned.
    fn account(&self, id: &str) -> Account {
        let address = self.dovecot.address(&self.alice);
        Account {
            id: id.to_owned(),
            display_name: "Alice".into(),
            email: address.clone(),
            identities: vec![Identity {
                name: "Ålice Ünderwood".into(),
                email: address,
                reply_to: None,
                signature: String::new(),
            }],
            incoming: Incoming::Imap(Server {
                host: self.dovecot.host().to_owned(),
                port: self.dovecot.imaps_port(),
                security: Security::ImplicitTls,
                login: self.alice.clone(),
                pinned_cert_sha256: Some(self.dovecot.cert_sha256_hex()),
                plaintext_acknowledged: false,
            }),
            outgoing: Some(Server {
                host: self.postfix.host().to_owned(),
                port: self.postfix.submission_port(),
                security: Security::StartTls,
                login: self.alice.clone(),
                pinned_cert_sha256: Some(self.postfix.cert_sha256_hex()),
                plaintext_acknowledged: false,
            }),
            ..Account::default()
        }
    }

    /// Writes a profile for `account` and stores its password in the Secret Service.
    fn profile(&self, name: &str, account: &Account) -> Profile {
        let profile = Profile::open(Some(self.dir.path().join(name))).unwrap();
        secrets::set_password(&account.incoming_secret_key(), PASSWORD)
            .expect("the test session's Secret Service stores the password");
        Config {
            accounts: vec![account.clone()],
            // Server copies of drafts every second instead of 30, so the test is quick.
            draft_server_interval_secs: Some(1),
        }
        .save(&profile.config_path())
        .unwrap();
        profile
    }

    fn compose(&self, account: &Account, subject: &str) -> Compose {
        Compose {
            account: account.id.clone(),
            from: account.identities[0].clone(),
            to: format!("Bøb Tester <{}>", self.dovecot.address(&self.bob)),
            subject: subject.to_owned(),
            body: "Hello Bob,\n.a line starting with a dot\nGrüße\n".into(),
            ..Compose::default()
        }
    }

    fn settle(&self) {
        self.postfix
            .wait_for_empty_queue(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{e}\n{}", self.postfix.log_tail()));
    }

    /// The raw messages of `user`'s `mailbox` whose decoded Subject contains `subject`.
    fn fetch(&self, user: &str, mailbox: &str, subject: &str) -> Vec<Vec<u8>> {
        let path = self
            .dovecot
            .doveadm(&["mailbox", "path", "-u", user, mailbox])
            .unwrap_or_default();
        let mut files = Vec::new();
        for sub in ["new", "cur"] {
            let dir = std::path::Path::new(path.trim()).join(sub);
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                files.push(entry.path());
            }
        }
        files.sort();
        files
            .iter()
            .filter_map(|f| std::fs::read(f).ok())
            .filter(|raw| {
                mail_parser::MessageParser::default()
                    .parse_headers(raw)
                    .and_then(|m| m.subject().map(|s| s.contains(subject)))
                    .unwrap_or(false)
            })
            .collect()
    }

    /// How many messages of `user`'s `mailbox` have `subject` in their Subject.
    fn count(&self, user: &str, mailbox: &str, subject: &str) -> usize {
        self.fetch(user, mailbox, subject).len()
    }
}

async fn wait_until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn drain(events: &mut UnboundedReceiver<Event>) -> Vec<Event> {
    let mut out = Vec::new();
    while let Ok(e) = events.try_recv() {
        out.push(e);
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sent_message_arrives_intact_and_its_sent_copy_is_filed_once() {
    let mail = Mail::new();
    let account = mail.account("send");
    let profile = mail.profile("send", &account);
    let (engine, mut events) = Engine::open(&profile).unwrap();

    let pdf: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    let mut compose = mail.compose(&account, "Grüße — ein Test ✉ über Ünïcödé");
    compose.bcc = mail.dovecot.address(&mail.alice);
    compose.attachments.push(Attachment {
        name: "Übersicht 2026 — café.pdf".into(),
        content_type: "application/pdf".into(),
        content_id: None,
        data: Arc::new(pdf.clone()),
    });
    engine.send(Command::Send {
        compose: Box::new(compose),
        draft: None,
    });

    let store = engine.store();
    let queued = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.recv().await {
                Some(Event::OutboxChanged { .. }) => return,
                Some(Event::Error(e)) => panic!("send failed: {e}"),
                Some(_) => {}
                None => panic!("engine stopped"),
            }
        }
    })
    .await;
    assert!(queued.is_ok(), "the message was queued");
    wait_until("the outbox to empty", || {
        let s = store.lock().unwrap();
        s.outbox(None).unwrap().is_empty().then_some(())
    })
    .await;
    mail.settle();

    let delivered = mail.fetch(&mail.bob, "INBOX", "Grüße");
    assert_eq!(delivered.len(), 1, "delivered exactly once");
    let parsed = mail_parser::MessageParser::default()
        .parse(&delivered[0])
        .unwrap();
    assert_eq!(parsed.subject(), Some("Grüße — ein Test ✉ über Ünïcödé"));
    let from = parsed.from().unwrap().first().unwrap();
    assert_eq!(from.name(), Some("Ålice Ünderwood"));
    assert!(
        parsed
            .body_text(0)
            .unwrap()
            .contains(".a line starting with a dot")
    );
    let attachment = parsed.attachments().next().unwrap();
    assert_eq!(
        attachment.attachment_name(),
        Some("Übersicht 2026 — café.pdf")
    );
    assert_eq!(
        attachment.contents(),
        pdf.as_slice(),
        "attachment byte for byte"
    );
    assert!(
        parsed.header("Bcc").is_none(),
        "no Bcc in what recipients get"
    );
    // Bob reads the same bytes over IMAP and over POP3.
    let bob_server = |port, security| Server {
        host: mail.dovecot.host().to_owned(),
        port,
        security,
        login: mail.bob.clone(),
        pinned_cert_sha256: Some(mail.dovecot.cert_sha256_hex()),
        plaintext_acknowledged: false,
    };
    let mut imap = tern_core::imap::connect(
        &bob_server(mail.dovecot.imaps_port(), Security::ImplicitTls),
        PASSWORD,
    )
    .await
    .unwrap();
    imap.select("INBOX", None).await.unwrap();
    let uids = imap.all_uids().await.unwrap();
    assert_eq!(uids.len(), 1);
    let over_imap = imap.fetch_body(uids[0]).await.unwrap().unwrap();
    // Maildir keeps LF line ends; the protocols give CRLF.
    let stored = String::from_utf8(delivered[0].clone())
        .unwrap()
        .replace('\n', "\r\n")
        .into_bytes();
    assert!(over_imap == stored, "IMAP gives the delivered bytes");
    let mut pop3 = tern_core::pop3::connect(
        &bob_server(mail.dovecot.pop3_port(), Security::StartTls),
        PASSWORD,
    )
    .await
    .unwrap();
    let over_pop3 = pop3.retr(1).await.unwrap();
    assert!(over_pop3 == stored, "POP3 gives the delivered bytes");
    pop3.quit().await.unwrap();

    // The Bcc recipient got it too.
    assert_eq!(mail.count(&mail.alice, "INBOX", "Grüße"), 1);

    // The Sent copy reaches the server once, with the Bcc line for the sender's records.
    let sent = wait_until("the Sent copy on the server", || {
        let copies = mail.fetch(&mail.alice, "Sent", "Grüße");
        (!copies.is_empty()).then_some(copies)
    })
    .await;
    assert_eq!(sent.len(), 1);
    let copy = mail_parser::MessageParser::default()
        .parse(&sent[0])
        .unwrap();
    assert!(copy.header("Bcc").is_some(), "the Sent copy keeps the Bcc");
    assert_eq!(copy.message_id(), parsed.message_id());

    let events = drain(&mut events);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::OutboxChanged { .. })),
        "the GUI heard about the outbox"
    );
    engine.send(Command::Shutdown);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_recipient_stays_in_the_outbox_with_the_servers_reason() {
    let mail = Mail::new();
    let account = mail.account("refused");
    let profile = mail.profile("refused", &account);
    let (engine, _events) = Engine::open(&profile).unwrap();
    let mut compose = mail.compose(&account, "to nowhere");
    compose.cc = "someone@elsewhere.example".into();
    engine.send(Command::Send {
        compose: Box::new(compose),
        draft: None,
    });
    let store = engine.store();
    let item = wait_until("a failed entry", || {
        let s = store.lock().unwrap();
        s.outbox(None)
            .unwrap()
            .into_iter()
            .find(|i| i.state == OutboxState::Failed)
    })
    .await;
    let reason = item.last_error.unwrap();
    assert!(reason.contains("someone@elsewhere.example"), "{reason}");
    mail.settle();
    assert_eq!(
        mail.count(&mail.bob, "INBOX", "to nowhere"),
        0,
        "no partial send"
    );
    engine.send(Command::Shutdown);
}

const CRASH_CHILD: &str = "TERN_TEST_OUTBOX_CRASH_CHILD";

/// The child half of the crash test: opens the engine on the given profile and sends one
/// message; `TERN_CRASH_AT` makes the process abort at one outbox step.
async fn crash_child(spec: std::ffi::OsString) {
    let spec: serde_json::Value = serde_json::from_str(spec.to_str().unwrap()).unwrap();
    let profile = Profile::open(Some(spec["profile"].as_str().unwrap().into())).unwrap();
    let compose: Compose = serde_json::from_value(spec["compose"].clone()).unwrap();
    let (engine, _events) = Engine::open(&profile).unwrap();
    engine.send(Command::Send {
        compose: Box::new(compose),
        draft: None,
    });
    // The crash point aborts the process long before this ends.
    tokio::time::sleep(Duration::from_secs(60)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stop_at_any_outbox_step_neither_loses_nor_duplicates_a_message() {
    if let Some(spec) = std::env::var_os(CRASH_CHILD) {
        return crash_child(spec).await;
    }
    let mail = Mail::new();
    let mut lost = 0;
    let mut duplicated = 0;
    let mut maybe_sent = Vec::new();
    for step in ["queued", "submitting", "finishing", "accepted", "filed"] {
        let account = mail.account(&format!("crash-{step}"));
        let profile = mail.profile(&format!("crash-{step}"), &account);
        let subject = format!("crash test at {step}");
        let spec = serde_json::json!({
            "profile": profile.dir(),
            "compose": mail.compose(&account, &subject),
        });
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_stop_at_any_outbox_step_neither_loses_nor_duplicates_a_message",
                "--nocapture",
            ])
            .env(CRASH_CHILD, spec.to_string())
            .env("TERN_CRASH_AT", format!("outbox:{step}"))
            .status()
            .unwrap();
        assert_eq!(status.code(), None, "the child was stopped at {step}");

        // Restart on the same profile and let the engine settle what the stop left.
        let (engine, _events) = Engine::open(&profile).unwrap();
        let store = engine.store();
        let left = wait_until(
            &format!("the outbox to settle after a stop at {step}"),
            || {
                let items = store.lock().unwrap().outbox(None).unwrap();
                let busy = items.iter().any(|i| {
                    matches!(
                        i.state,
                        OutboxState::Queued
                            | OutboxState::Submitting
                            | OutboxState::Finishing
                            | OutboxState::Accepted
                    )
                });
                (!busy).then_some(items)
            },
        )
        .await;
        mail.settle();
        let delivered = mail.count(&mail.bob, "INBOX", &subject);
        if left.iter().any(|i| i.state == OutboxState::MaybeSent) {
            maybe_sent.push(step);
        } else if delivered == 0 {
            lost += 1;
        }
        duplicated += delivered.saturating_sub(1);
        if delivered == 1 {
            let copies = wait_until(&format!("one Sent copy after a stop at {step}"), || {
                let n = mail.count(&mail.alice, "Sent", &subject);
                (n > 0).then_some(n)
            })
            .await;
            assert_eq!(copies, 1, "one Sent copy after a stop at {step}");
        }
        engine.send(Command::Shutdown);
    }
    assert_eq!(lost, 0, "lost messages");
    assert_eq!(duplicated, 0, "duplicated messages");
    // Stopped with the final dot possibly out: shown to the user, never resent on its own.
    assert_eq!(maybe_sent, ["finishing"]);
}

const DRAFT_CHILD: &str = "TERN_TEST_DRAFT_CRASH_CHILD";

/// The child half of the draft crash test: saves two versions, waits until the engine says
/// the latest is saved, then aborts like a crash.
async fn draft_child(spec: std::ffi::OsString) {
    let spec: serde_json::Value = serde_json::from_str(spec.to_str().unwrap()).unwrap();
    let profile = Profile::open(Some(spec["profile"].as_str().unwrap().into())).unwrap();
    let mut compose: Compose = serde_json::from_value(spec["compose"].clone()).unwrap();
    let id = spec["id"].as_i64().unwrap();
    let (engine, mut events) = Engine::open(&profile).unwrap();
    let started = tokio::time::Instant::now();
    for text in ["Dear Bob", "Dear Bob, the latest words"] {
        compose.body = text.to_owned();
        engine.send(Command::SaveDraft {
            id,
            compose: Box::new(compose.clone()),
        });
    }
    let mut saved = 0;
    while saved < 2 {
        match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
            Ok(Some(Event::DraftSaved { id: s })) if s == id => saved += 1,
            Ok(Some(_)) => {}
            other => panic!("no DraftSaved: {other:?}"),
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "saved within 2 s"
    );
    std::process::abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_draft_survives_a_crash_and_keeps_one_server_copy() {
    if let Some(spec) = std::env::var_os(DRAFT_CHILD) {
        return draft_child(spec).await;
    }
    let mail = Mail::new();
    let account = mail.account("drafts");
    let profile = mail.profile("drafts", &account);
    let id = tern_core::drafts::new_draft_id();
    let spec = serde_json::json!({
        "profile": profile.dir(),
        "compose": mail.compose(&account, "draft in progress"),
        "id": id,
    });
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_draft_survives_a_crash_and_keeps_one_server_copy",
            "--nocapture",
        ])
        .env(DRAFT_CHILD, spec.to_string())
        .status()
        .unwrap();
    assert_eq!(status.code(), None, "the child crashed after the save");

    // Reopened after the crash: the latest text.
    let (engine, _events) = Engine::open(&profile).unwrap();
    let store = engine.store();
    let reopened = tern_core::drafts::load(&store, id).await.unwrap().unwrap();
    assert_eq!(reopened.body, "Dear Bob, the latest words");

    // Edits go to the server's Drafts folder, each replacing the one before.
    let mut compose = reopened;
    for round in 1..=2 {
        compose.body = format!("version {round}");
        engine.send(Command::SaveDraft {
            id,
            compose: Box::new(compose.clone()),
        });
        let want = format!("version {round}");
        wait_until("the server copy", || {
            let copies = mail.fetch(&mail.alice, "Drafts", "draft in progress");
            let latest = copies.len() == 1 && String::from_utf8_lossy(&copies[0]).contains(&want);
            latest.then_some(())
        })
        .await;
    }
    // Sending it removes the draft here and on the server.
    engine.send(Command::Send {
        compose: Box::new(compose),
        draft: Some(id),
    });
    wait_until("the draft gone from the server", || {
        mail.fetch(&mail.alice, "Drafts", "draft in progress")
            .is_empty()
            .then_some(())
    })
    .await;
    assert!(store.lock().unwrap().drafts().unwrap().is_empty());
    wait_until("the message delivered", || {
        (mail.count(&mail.bob, "INBOX", "draft in progress") > 0).then_some(())
    })
    .await;
    mail.settle();
    assert_eq!(mail.count(&mail.bob, "INBOX", "draft in progress"), 1);
    engine.send(Command::Shutdown);
}

/// The Sent copy's APPEND is cut twice: once in the middle of the upload, once after the
/// server stored it but before its reply arrived. The server ends with exactly one copy.
#[tokio::test(flavor = "multi_thread")]
async fn a_sent_copy_cut_during_its_upload_is_filed_exactly_once() {
    let mail = Mail::new();
    let proxy = tern_testenv::proxy::FaultProxy::start(mail.dovecot.imaps_port()).unwrap();
    let mut account = mail.account("append-cut");
    if let Incoming::Imap(server) = &mut account.incoming {
        server.port = proxy.port();
    }
    let profile = mail.profile("append-cut", &account);
    // Commands and syncs stay far below 1 MB from the client; the upload of a 3 MB Sent copy
    // does not.
    let (engine, mut events) = Engine::open(&profile).unwrap();
    wait_for_online(&mut events).await;
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    for (cut, subject) in [
        ("upload", "cut during upload"),
        ("reply", "cut before reply"),
    ] {
        match cut {
            "upload" => proxy.drop_after_client_bytes(1_000_000),
            _ => proxy.drop_reply_after_client_bytes(3_000_000),
        }
        // The cut applies to new connections: make the engine reconnect through it.
        proxy.drop_all();
        wait_for_online(&mut events).await;
        let mut compose = mail.compose(&account, subject);
        compose.attachments.push(Attachment {
            name: "big.bin".into(),
            content_type: "application/octet-stream".into(),
            content_id: None,
            data: Arc::new(big.clone()),
        });
        engine.send(Command::Send {
            compose: Box::new(compose),
            draft: None,
        });
        // The cut shows as the account going offline.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Some(Event::Offline { .. })) => break,
                Ok(Some(_)) => {}
                other => panic!("no cut during the {cut} test: {other:?}"),
            }
        }
        proxy.drop_after_client_bytes(0);
        proxy.drop_reply_after_client_bytes(0);
        engine.send(Command::SyncAll);
        wait_until(&format!("the Sent copy after a cut {cut}"), || {
            (mail.count(&mail.alice, "Sent", subject) > 0).then_some(())
        })
        .await;
        // Another round of replay and sync adds nothing.
        engine.send(Command::SyncAll);
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(mail.count(&mail.alice, "Sent", subject), 1, "cut {cut}");
        assert_eq!(mail.count(&mail.bob, "INBOX", subject), 1, "sent once");
    }
    engine.send(Command::Shutdown);
}

async fn wait_for_online(events: &mut UnboundedReceiver<Event>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::FolderListChanged { .. })) => return,
            Ok(Some(_)) => {}
            other => panic!("not online: {other:?}"),
        }
    }
}

/// A POP3 account through the engine: its mail is downloaded into the local Inbox, and what
/// it sends is filed in its local Sent folder (there is no server folder to upload to).
#[tokio::test(flavor = "multi_thread")]
async fn a_pop3_account_downloads_mail_and_keeps_its_sent_copy_locally() {
    let mail = Mail::new();
    mail.dovecot
        .append_messages(&mail.alice, "INBOX", &tern_testenv::corpus::messages(0..5))
        .unwrap();
    let mut account = mail.account("pop3");
    account.incoming = Incoming::Pop3(Server {
        host: mail.dovecot.host().to_owned(),
        port: mail.dovecot.pop3s_port(),
        security: Security::ImplicitTls,
        login: mail.alice.clone(),
        pinned_cert_sha256: Some(mail.dovecot.cert_sha256_hex()),
        plaintext_acknowledged: false,
    });
    let profile = mail.profile("pop3", &account);
    let (engine, mut events) = Engine::open(&profile).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::NewMail { count, .. })) => {
                assert_eq!(count, 5);
                break;
            }
            Ok(Some(Event::Offline { error, .. })) => panic!("offline: {error}"),
            Ok(Some(_)) => {}
            other => panic!("no new mail: {other:?}"),
        }
    }
    let store = engine.store();
    let inbox = common::folder(&store, "pop3", tern_core::store::FolderRole::Inbox);
    assert_eq!(inbox.total, 5);

    engine.send(Command::Send {
        compose: Box::new(mail.compose(&account, "sent from pop3")),
        draft: None,
    });
    let sent = common::folder(&store, "pop3", tern_core::store::FolderRole::Sent);
    wait_until("the local Sent copy", || {
        let s = store.lock().unwrap();
        let rows = s
            .page(sent.id, 0, 10, tern_core::store::SortOrder::DateDesc)
            .unwrap();
        (s.outbox(None).unwrap().is_empty() && rows.len() == 1).then_some(())
    })
    .await;
    {
        let s = store.lock().unwrap();
        let row = &s
            .page(sent.id, 0, 10, tern_core::store::SortOrder::DateDesc)
            .unwrap()[0];
        assert_eq!(row.subject, "sent from pop3");
        assert!(
            s.body(row.id).unwrap().is_some(),
            "the Sent copy has its bytes"
        );
        assert!(
            s.pending_ops("pop3").unwrap().is_empty(),
            "nothing for a server"
        );
    }
    mail.settle();
    assert_eq!(mail.count(&mail.bob, "INBOX", "sent from pop3"), 1);
    assert_eq!(mail.count(&mail.alice, "Sent", "sent from pop3"), 0);
    engine.send(Command::Shutdown);
}

/// Through a proxy in front of Postfix: a connection cut during DATA is a temporary failure
/// (queued again, sent once when retried); a cut after the final dot, before the reply, is
/// "may have been sent": shown, and never sent again on its own.
#[tokio::test(flavor = "multi_thread")]
async fn cut_submissions_are_retried_or_shown_as_maybe_sent() {
    let mail = Mail::new();
    let proxy = tern_testenv::proxy::FaultProxy::start(mail.postfix.submission_port()).unwrap();
    let mut account = mail.account("smtp-cut");
    if let Some(server) = &mut account.outgoing {
        server.port = proxy.port();
    }
    let profile = mail.profile("smtp-cut", &account);
    let (engine, mut events) = Engine::open(&profile).unwrap();
    wait_for_online(&mut events).await;
    let store = engine.store();
    let attachment = Attachment {
        name: "data.bin".into(),
        content_type: "application/octet-stream".into(),
        content_id: None,
        data: Arc::new(vec![7u8; 200_000]),
    };
    let entry = |subject: &'static str| {
        let store = store.clone();
        move || {
            store
                .lock()
                .unwrap()
                .outbox(None)
                .unwrap()
                .into_iter()
                .find(|i| i.subject == subject)
        }
    };

    // Cut in the middle of the upload: certainly not sent, queued again with the reason.
    proxy.drop_after_client_bytes(50_000);
    let mut compose = mail.compose(&account, "cut during data");
    compose.attachments.push(attachment.clone());
    engine.send(Command::Send {
        compose: Box::new(compose),
        draft: None,
    });
    let find = entry("cut during data");
    let item = wait_until("a retry scheduled", || {
        find().filter(|i| i.state == OutboxState::Queued && i.attempts > 0)
    })
    .await;
    assert!(item.last_error.is_some());
    proxy.drop_after_client_bytes(0);
    engine.send(Command::RetryOutgoing(item.id));
    wait_until("the retried message sent", || {
        find().is_none().then_some(())
    })
    .await;
    mail.settle();
    assert_eq!(mail.count(&mail.bob, "INBOX", "cut during data"), 1);

    // Cut after the final dot: Postfix has it, Tern cannot know.
    proxy.drop_reply_after_client_bytes(150_000);
    let mut compose = mail.compose(&account, "cut before reply");
    compose.attachments.push(attachment);
    engine.send(Command::Send {
        compose: Box::new(compose),
        draft: None,
    });
    let find = entry("cut before reply");
    let item = wait_until("maybe sent", || {
        find().filter(|i| i.state == OutboxState::MaybeSent)
    })
    .await;
    assert!(item.last_error.is_some());
    proxy.drop_reply_after_client_bytes(0);
    engine.send(Command::SyncAll);
    tokio::time::sleep(Duration::from_secs(2)).await;
    mail.settle();
    assert_eq!(mail.count(&mail.bob, "INBOX", "cut before reply"), 1);
    assert_eq!(
        find().map(|i| i.state),
        Some(OutboxState::MaybeSent),
        "still shown, not resent"
    );
    engine.send(Command::Shutdown);
}

/// Two engines on one profile would replay and send the same queues: the second is refused
/// until the first is gone.
#[tokio::test(flavor = "multi_thread")]
async fn a_profile_is_open_in_one_engine_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let profile = Profile::open(Some(dir.path().join("p"))).unwrap();
    let (first, _events) = Engine::open(&profile).unwrap();
    match Engine::open(&profile) {
        Err(tern_core::engine::EngineError::ProfileInUse) => {}
        Err(e) => panic!("expected ProfileInUse, got {e}"),
        Ok(_) => panic!("a second engine opened the same profile"),
    }
    drop(first);
    assert!(
        Engine::open(&profile).is_ok(),
        "free again once the first is gone"
    );
}

/// A forward-as-attachment draft reopens with the forwarded message's bytes, not an empty
/// part.
#[tokio::test(flavor = "multi_thread")]
async fn a_forwarding_draft_reopens_with_the_forwarded_message() {
    let dir = tempfile::tempdir().unwrap();
    let store: tern_core::sync::SharedStore = Arc::new(std::sync::Mutex::new(
        tern_core::store::Store::open(&dir.path().join("store.sqlite3")).unwrap(),
    ));
    let original = tern_testenv::corpus::message(3);
    let compose = Compose {
        account: "a".into(),
        subject: "Fwd: something".into(),
        forwarded: Some(tern_core::compose::ForwardedMessage {
            subject: "something".into(),
            raw: Arc::new(original.clone()),
        }),
        ..Compose::default()
    };
    let id = tern_core::drafts::new_draft_id();
    tern_core::drafts::save_local(&store, id, &compose, true)
        .await
        .unwrap();
    let reopened = tern_core::drafts::load(&store, id).await.unwrap().unwrap();
    let forwarded = reopened.forwarded.expect("still a forward");
    assert_eq!(forwarded.subject, "something");
    assert!(*forwarded.raw == original, "the forwarded bytes came back");
}

/// A message with everything a draft can hold, to a recipient Postfix refuses (other
/// domains are not relayed), written as the user typed it: no final line end.
fn refused_compose(mail: &Mail, account: &Account, subject: &str) -> Compose {
    let mut compose = mail.compose(account, subject);
    compose.body = "Hello Bob,\n.a line starting with a dot\nGrüße".into();
    compose.cc = "Nobody Here <someone@elsewhere.example>".into();
    compose.bcc = format!("Ålice Copy <{}>", mail.dovecot.address(&mail.alice));
    compose.reply_to = Some("Help Desk <desk@tern.test>".into());
    compose.in_reply_to = Some("parent@tern.test".into());
    compose.references = vec!["root@tern.test".into(), "parent@tern.test".into()];
    compose.attachments = vec![
        Attachment {
            name: "Übersicht 2026 — café.pdf".into(),
            content_type: "application/pdf".into(),
            content_id: None,
            data: Arc::new((0..=255u8).cycle().take(200_000).collect()),
        },
        Attachment {
            name: "notes.txt".into(),
            content_type: "text/plain; charset=iso-8859-1".into(),
            content_id: None,
            // Latin-1 bytes and bare LFs: only a byte-for-byte copy keeps them.
            data: Arc::new(b"caf\xe9\nno CR here\n".to_vec()),
        },
    ];
    compose
}

/// The outbox entry whose subject is `subject`, once it is in `state`.
async fn entry_in(
    store: &tern_core::sync::SharedStore,
    subject: &str,
    state: OutboxState,
) -> tern_core::store::OutboxItem {
    wait_until(&format!("{subject:?} {state:?}"), || {
        store
            .lock()
            .unwrap()
            .outbox(None)
            .unwrap()
            .into_iter()
            .find(|i| i.subject == subject && i.state == state)
    })
    .await
}

/// The next `DraftReopened` (draft, outbox id); an outbox error fails the test.
async fn reopened(events: &mut UnboundedReceiver<Event>) -> (i64, i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::DraftReopened {
                draft, outgoing, ..
            })) => return (draft, outgoing),
            Ok(Some(Event::OutboxError { error, .. })) => panic!("edit refused: {error}"),
            Ok(Some(_)) => {}
            other => panic!("no DraftReopened: {other:?}"),
        }
    }
}

/// The "permanent failures stay for the user to fix and resend": the refused message
/// becomes a draft holding exactly what was written (Bcc, Reply-To, threading, attachments
/// byte for byte), and once the refused address is removed it is delivered as written.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_message_is_taken_back_as_a_draft_fixed_and_sent() {
    let mail = Mail::new();
    let account = mail.account("edit");
    let profile = mail.profile("edit", &account);
    let (engine, mut events) = Engine::open(&profile).unwrap();
    let store = engine.store();
    let subject = "édité et renvoyé";
    let written = refused_compose(&mail, &account, subject);
    engine.send(Command::Send {
        compose: Box::new(written.clone()),
        draft: None,
    });
    let failed = entry_in(&store, subject, OutboxState::Failed).await;
    assert!(
        failed
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("someone@elsewhere.example")),
        "{:?}",
        failed.last_error
    );

    engine.send(Command::EditOutgoing { id: failed.id });
    let (draft, outgoing) = reopened(&mut events).await;
    assert_eq!(outgoing, failed.id);
    assert!(store.lock().unwrap().outbox(None).unwrap().is_empty());
    let mut compose = tern_core::drafts::load(&store, draft)
        .await
        .unwrap()
        .expect("the draft is stored");
    assert_eq!(compose, written, "the draft holds the message as written");
    // Sent right after DraftReopened, so it may still be on its way.
    let heard = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.recv().await {
                Some(Event::OutboxChanged { .. }) => return true,
                Some(_) => {}
                None => return false,
            }
        }
    })
    .await;
    assert_eq!(heard, Ok(true), "the GUI hears the outbox changed");

    // The user removes the refused address and sends again.
    compose.cc.clear();
    engine.send(Command::Send {
        compose: Box::new(compose),
        draft: Some(draft),
    });
    wait_until(
        "the resent message to leave the outbox and the draft",
        || {
            let s = store.lock().unwrap();
            (s.outbox(None).unwrap().is_empty() && s.drafts().unwrap().is_empty()).then_some(())
        },
    )
    .await;
    mail.settle();
    assert_eq!(mail.count(&mail.bob, "INBOX", subject), 1, "delivered once");
    assert_eq!(mail.count(&mail.alice, "INBOX", subject), 1, "the Bcc too");

    // Bob reads it over IMAP: the attachments arrive as they were written.
    let mut imap = tern_core::imap::connect(
        &Server {
            host: mail.dovecot.host().to_owned(),
            port: mail.dovecot.imaps_port(),
            security: Security::ImplicitTls,
            login: mail.bob.clone(),
            pinned_cert_sha256: Some(mail.dovecot.cert_sha256_hex()),
            plaintext_acknowledged: false,
        },
        PASSWORD,
    )
    .await
    .unwrap();
    imap.select("INBOX", None).await.unwrap();
    let uids = imap.all_uids().await.unwrap();
    assert_eq!(uids.len(), 1);
    let raw = imap.fetch_body(uids[0]).await.unwrap().unwrap();
    let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert_eq!(parsed.subject(), Some(subject));
    assert_eq!(
        parsed.in_reply_to().as_text(),
        Some("parent@tern.test"),
        "still threaded"
    );
    assert!(parsed.header("Cc").is_none(), "the refused Cc is gone");
    let received: Vec<(String, Vec<u8>)> = parsed
        .attachments()
        .map(|a| {
            (
                a.attachment_name().unwrap_or_default().to_owned(),
                a.contents().to_vec(),
            )
        })
        .collect();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].0, written.attachments[0].name);
    assert!(
        received[0].1 == *written.attachments[0].data,
        "the PDF byte for byte"
    );
    assert_eq!(received[1].0, "notes.txt");
    engine.send(Command::Shutdown);
}

/// A message waiting to be sent (its server is down) cannot be taken back: it may be
/// submitted at any moment. The refusal is an outbox error naming why; nothing changes.
#[tokio::test(flavor = "multi_thread")]
async fn a_queued_message_cannot_be_taken_back_as_a_draft() {
    let mail = Mail::new();
    let mut account = mail.account("edit-queued");
    if let Some(server) = &mut account.outgoing {
        // Nothing listens there: every attempt is a temporary failure.
        server.port = tern_testenv::free_port();
    }
    let profile = mail.profile("edit-queued", &account);
    let (engine, mut events) = Engine::open(&profile).unwrap();
    let store = engine.store();
    let subject = "waiting for its server";
    engine.send(Command::Send {
        compose: Box::new(mail.compose(&account, subject)),
        draft: None,
    });
    let queued = wait_until("a failed attempt", || {
        store
            .lock()
            .unwrap()
            .outbox(None)
            .unwrap()
            .into_iter()
            .find(|i| i.state == OutboxState::Queued && i.attempts > 0)
    })
    .await;
    drain(&mut events);
    engine.send(Command::EditOutgoing { id: queued.id });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let error = loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::OutboxError { error, .. })) => break error,
            Ok(Some(Event::DraftReopened { .. })) => panic!("a queued message became a draft"),
            Ok(Some(_)) => {}
            other => panic!("no refusal: {other:?}"),
        }
    };
    match error {
        OutboxError::NotEditable { id, state } => {
            assert_eq!(id, queued.id);
            assert!(
                matches!(state, OutboxState::Queued | OutboxState::Submitting),
                "{state:?}"
            );
        }
        other => panic!("expected NotEditable, got {other}"),
    }
    let s = store.lock().unwrap();
    assert_eq!(s.outbox(None).unwrap().len(), 1, "still in the outbox");
    assert!(s.drafts().unwrap().is_empty(), "no draft made");
    drop(s);
    engine.send(Command::Shutdown);
}

const EDIT_CHILD: &str = "TERN_TEST_EDIT_CRASH_CHILD";

/// The child half of the edit crash test: opens the engine and asks to edit one entry;
/// `TERN_CRASH_AT` aborts the process at one step of that.
async fn edit_child(spec: std::ffi::OsString) {
    let spec: serde_json::Value = serde_json::from_str(spec.to_str().unwrap()).unwrap();
    let profile = Profile::open(Some(spec["profile"].as_str().unwrap().into())).unwrap();
    let (engine, _events) = Engine::open(&profile).unwrap();
    engine.send(Command::EditOutgoing {
        id: spec["id"].as_i64().unwrap(),
    });
    tokio::time::sleep(Duration::from_secs(60)).await;
}

/// Killed at each step of taking a message back as a draft (after reading it, inside the
/// transaction after the draft is written, after the commit), a restarted Tern has the
/// outbox entry or the draft, never both and never neither; editing again then works.
#[tokio::test(flavor = "multi_thread")]
async fn a_stop_while_taking_a_message_back_leaves_it_in_one_place() {
    if let Some(spec) = std::env::var_os(EDIT_CHILD) {
        return edit_child(spec).await;
    }
    let mail = Mail::new();
    // A "may have been sent" message can be taken back like a refused one.
    for (step, left_in) in [
        ("read", OutboxState::Failed),
        ("draft-written", OutboxState::MaybeSent),
        ("reopened", OutboxState::Failed),
    ] {
        let name = format!("edit-crash-{step}");
        let account = mail.account(&name);
        let profile = mail.profile(&name, &account);
        let written = refused_compose(&mail, &account, &format!("taken back at {step}"));
        // The message as the outbox keeps one the server refused (or left unsettled).
        let id = {
            let store: tern_core::sync::SharedStore = Arc::new(std::sync::Mutex::new(
                tern_core::store::Store::open(&profile.store_path()).unwrap(),
            ));
            let id = tern_core::outbox::queue(&store, &written).await.unwrap();
            assert!(
                store
                    .lock()
                    .unwrap()
                    .outbox_transition(
                        id,
                        &[OutboxState::Queued],
                        left_in,
                        Some("550 5.7.1 relay access denied"),
                        None,
                        true,
                    )
                    .unwrap()
            );
            id
        };
        let spec = serde_json::json!({ "profile": profile.dir(), "id": id });
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_stop_while_taking_a_message_back_leaves_it_in_one_place",
                "--nocapture",
            ])
            .env(EDIT_CHILD, spec.to_string())
            .env("TERN_CRASH_AT", format!("outbox:edit:{step}"))
            .status()
            .unwrap();
        assert_eq!(status.code(), None, "the child was stopped at {step}");

        let (engine, mut events) = Engine::open(&profile).unwrap();
        let store = engine.store();
        let (entry, drafts) = {
            let s = store.lock().unwrap();
            (s.outbox_item(id).unwrap(), s.drafts().unwrap())
        };
        assert_eq!(
            usize::from(entry.is_some()) + drafts.len(),
            1,
            "after a stop at {step}: entry {entry:?}, drafts {drafts:?}"
        );
        let draft = match entry {
            Some(entry) => {
                assert_eq!(entry.state, left_in, "at {step}");
                engine.send(Command::EditOutgoing { id });
                reopened(&mut events).await.0
            }
            None => drafts[0].id,
        };
        let compose = tern_core::drafts::load(&store, draft).await.unwrap();
        assert_eq!(compose.as_ref(), Some(&written), "the draft after {step}");
        assert!(store.lock().unwrap().outbox(None).unwrap().is_empty());
        assert_eq!(store.lock().unwrap().drafts().unwrap().len(), 1);
        engine.send(Command::Shutdown);
    }
}

/// Waits for the first `OutboxChanged`: the message is in the outbox.
async fn queued(events: &mut UnboundedReceiver<Event>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::OutboxChanged { .. })) => return,
            Ok(Some(Event::Error(e))) => panic!("send failed: {e}"),
            Ok(Some(_)) => {}
            other => panic!("not queued: {other:?}"),
        }
    }
}

/// Message-IDs of the messages in `user`'s `mailbox`.
fn message_ids(mail: &Mail, user: &str, mailbox: &str, subject: &str) -> Vec<String> {
    mail.fetch(user, mailbox, subject)
        .iter()
        .filter_map(|raw| {
            mail_parser::MessageParser::default()
                .parse_headers(raw)
                .and_then(|m| m.message_id().map(str::to_owned))
        })
        .collect()
}

/// A server that says it is Gmail (X-GM-EXT-1) files what its SMTP accepted in Sent itself:
/// with the default setting Tern uploads no copy of its own. An account set to "no" on the
/// same server still gets Tern's copy.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_files_sent_mail_itself_gets_no_copy_from_tern() {
    let dovecot =
        Dovecot::start_with_config("imap_capability = +X-GM-EXT-1").expect("start dovecot");
    let mail = Mail::on(dovecot);
    let account = mail.account("gmail-like");
    assert_eq!(
        account.server_files_sent,
        ServerFilesSent::Auto,
        "the default"
    );
    let Incoming::Imap(server) = &account.incoming else {
        unreachable!()
    };
    let session = tern_core::imap::connect(server, PASSWORD).await.unwrap();
    assert!(
        session.files_sent_mail(),
        "the test server advertises X-GM-EXT-1: {:?}",
        session.capabilities()
    );
    drop(session);

    for (setting, subject, copies) in [
        (ServerFilesSent::Auto, "filed by the server", 0),
        (ServerFilesSent::No, "filed by tern anyway", 1),
    ] {
        let mut account = mail.account(&format!("gmail-{copies}"));
        account.server_files_sent = setting;
        let profile = mail.profile(&account.id, &account);
        let (engine, mut events) = Engine::open(&profile).unwrap();
        let store = engine.store();
        engine.send(Command::Send {
            compose: Box::new(mail.compose(&account, subject)),
            draft: None,
        });
        queued(&mut events).await;
        wait_until("the outbox to empty", || {
            store
                .lock()
                .unwrap()
                .outbox(None)
                .unwrap()
                .is_empty()
                .then_some(())
        })
        .await;
        mail.settle();
        let delivered = message_ids(&mail, &mail.bob, "INBOX", subject);
        assert_eq!(delivered.len(), 1, "delivered once");
        if copies == 0 {
            // Filed without a copy: no local Sent row and no upload waiting, so none can
            // reach the server later either.
            {
                let s = store.lock().unwrap();
                let sent = s
                    .folder_by_role(&account.id, tern_core::store::FolderRole::Sent)
                    .unwrap()
                    .expect("the Sent folder is known");
                let rows = s
                    .page(sent.id, 0, 100, tern_core::store::SortOrder::DateDesc)
                    .unwrap();
                assert!(rows.iter().all(|r| r.subject != subject), "no local copy");
                assert!(s.pending_ops(&account.id).unwrap().is_empty(), "no upload");
            }
            engine.send(Command::SyncAll);
            tokio::time::sleep(Duration::from_secs(2)).await;
        } else {
            wait_until("Tern's Sent copy", || {
                (mail.count(&mail.alice, "Sent", subject) > 0).then_some(())
            })
            .await;
        }
        let filed = message_ids(&mail, &mail.alice, "Sent", subject);
        assert_eq!(
            filed.iter().filter(|id| **id == delivered[0]).count(),
            copies,
            "Sent copies with the sent Message-ID, setting {setting:?}"
        );
        engine.send(Command::Shutdown);
    }
}

/// The setting used to be a bool; configs saved then still load: `true` is "yes", `false`
/// (what every account was saved with) lets Tern find out.
#[test]
fn old_and_new_forms_of_the_server_files_sent_setting_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    for (value, want) in [
        ("true", ServerFilesSent::Yes),
        ("false", ServerFilesSent::Auto),
        ("\"auto\"", ServerFilesSent::Auto),
        ("\"yes\"", ServerFilesSent::Yes),
        ("\"no\"", ServerFilesSent::No),
    ] {
        std::fs::write(
            &path,
            format!("[[accounts]]\nid = \"a\"\nserver_files_sent = {value}\n"),
        )
        .unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(config.accounts[0].server_files_sent, want, "{value}");
        // Saved and loaded again, it stays.
        config.save(&path).unwrap();
        assert_eq!(Config::load(&path).unwrap(), config, "{value} saved");
    }
    std::fs::write(&path, "[[accounts]]\nid = \"a\"\n").unwrap();
    assert_eq!(
        Config::load(&path).unwrap().accounts[0].server_files_sent,
        ServerFilesSent::Auto,
        "missing"
    );
    std::fs::write(
        &path,
        "[[accounts]]\nid = \"a\"\nserver_files_sent = \"sometimes\"\n",
    )
    .unwrap();
    assert!(Config::load(&path).is_err(), "an unknown word is an error");
}

//! SMTP submission against a real Postfix delivering into a real Dovecot: what arrives,
//! what is refused and why, and what the outbox is told when the connection is lost.
//! Scripted fake servers cover what Postfix won't do (injected bytes, closing at chosen
//! points, silence).
#![allow(clippy::unwrap_used)]

use std::time::Duration;
use tern_core::account::{Security, Server};
use tern_core::smtp::{self, SmtpError, Stage, Submission, Timeouts};
use tern_core::tls::TlsError;
use tern_testenv::proxy::FaultProxy;
use tern_testenv::{Dovecot, Postfix};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const PASSWORD: &str = "correct horse battery staple";
const QUEUE_TIMEOUT: Duration = Duration::from_secs(30);

/// One Dovecot, its Postfix, and the sender. Fields drop in order: Postfix first.
struct Env {
    postfix: Postfix,
    dovecot: Dovecot,
    alice: String,
}

impl Env {
    fn new() -> Env {
        let dovecot = Dovecot::start().expect("start dovecot");
        let postfix = Postfix::start(&dovecot).expect("start postfix");
        let alice = dovecot.add_user("alice", PASSWORD).unwrap();
        Env {
            postfix,
            dovecot,
            alice,
        }
    }

    fn user(&self, hint: &str) -> String {
        self.dovecot.add_user(hint, PASSWORD).unwrap()
    }

    fn address(&self, user: &str) -> String {
        self.dovecot.address(user)
    }

    /// Alice's submission over implicit TLS, trusting the test certificate by pin.
    fn submissions(&self) -> Server {
        Server {
            host: self.postfix.host().to_owned(),
            port: self.postfix.submissions_port(),
            security: Security::ImplicitTls,
            login: self.alice.clone(),
            pinned_cert_sha256: Some(self.postfix.cert_sha256_hex()),
            plaintext_acknowledged: false,
        }
    }

    /// Alice's submission over STARTTLS (port 587's role).
    fn submission(&self) -> Server {
        Server {
            port: self.postfix.submission_port(),
            security: Security::StartTls,
            ..self.submissions()
        }
    }

    fn wait_for_empty_queue(&self) {
        self.postfix
            .wait_for_empty_queue(QUEUE_TIMEOUT)
            .unwrap_or_else(|e| panic!("{e}\n{}", self.dovecot.log_tail()));
    }

    /// Every message in `user`'s INBOX, over IMAP (CRLF line ends), oldest first.
    async fn inbox(&self, user: &str) -> Vec<Vec<u8>> {
        let server = Server {
            host: self.dovecot.host().to_owned(),
            port: self.dovecot.imaps_port(),
            security: Security::ImplicitTls,
            login: user.to_owned(),
            pinned_cert_sha256: Some(self.dovecot.cert_sha256_hex()),
            plaintext_acknowledged: false,
        };
        let mut session = tern_core::imap::connect(&server, PASSWORD).await.unwrap();
        session.select("INBOX", None).await.unwrap();
        let mut messages = Vec::new();
        for uid in session.all_uids().await.unwrap() {
            messages.push(session.fetch_body(uid).await.unwrap().unwrap());
        }
        messages
    }

    /// Waits for delivery, then checks `user` got exactly `sent`, once.
    async fn assert_delivered_once(&self, user: &str, sent: &[u8]) {
        self.wait_for_empty_queue();
        let inbox = self.inbox(user).await;
        assert_eq!(
            inbox.len(),
            1,
            "{user}: expected one message\n{}",
            self.postfix.log_tail()
        );
        let stored = &inbox[0];
        let text = String::from_utf8_lossy(stored);
        assert!(
            text.contains("by localhost (Postfix) with ESMTPSA"),
            "no Received header from an authenticated submission:\n{}",
            &text[..text.len().min(2000)]
        );
        assert!(
            strip_trace(stored) == sent,
            "message changed in transit ({} bytes sent, {} stored)",
            sent.len(),
            stored.len()
        );
    }
}

/// A message with the lines SMTP must dot-stuff (".hidden", "..two", a lone ".") and
/// 8-bit text, so BODY=8BITMIME is needed.
fn message(from: &str, to: &[String], subject: &str) -> Vec<u8> {
    format!(
        "From: Alice <{from}>\r\nTo: {}\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}.{}@tern.test>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n\
         Hello,\r\n.hidden\r\n..two dots\r\n.\r\n\r\nGrüße, Ålice\r\n",
        to.join(", "),
        std::process::id()
    )
    .into_bytes()
}

/// A message with an attachment of `bytes` pseudo-random bytes, base64 in 76-column
/// lines, as the compose builder writes one.
fn attachment_message(from: &str, to: &str, bytes: usize) -> Vec<u8> {
    use base64::Engine as _;
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let data: Vec<u8> = (0..bytes)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&data);
    let mut out = format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: attachment\r\nMessage-ID: <att.{}@tern.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nSee attached.\r\n\
         --b1\r\nContent-Type: application/octet-stream\r\n\
         Content-Disposition: attachment; filename=\"data.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n",
        std::process::id()
    )
    .into_bytes();
    for line in encoded.as_bytes().chunks(76) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--b1--\r\n");
    out
}

/// The message without the trace fields Postfix and Dovecot put on top (Return-Path,
/// Delivered-To, Received, with their continuation lines).
fn strip_trace(stored: &[u8]) -> &[u8] {
    let mut rest = stored;
    let mut in_trace = false;
    loop {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let line = String::from_utf8_lossy(&rest[..end]).to_ascii_lowercase();
        let continuation = line.starts_with(' ') || line.starts_with('\t');
        if (continuation && in_trace)
            || ["return-path:", "delivered-to:", "received:"]
                .iter()
                .any(|p| line.starts_with(p))
        {
            in_trace = true;
            rest = &rest[end..];
        } else {
            return rest;
        }
    }
}

fn submission<'a>(from: &'a str, to: &'a [String], bytes: &'a [u8]) -> Submission<'a> {
    Submission {
        from,
        recipients: to,
        bytes,
        smtputf8: false,
    }
}

#[tokio::test]
async fn starttls_submission_delivers_the_message_unchanged() {
    let env = Env::new();
    let bob = env.user("bob");
    let from = env.address(&env.alice);
    let to = vec![env.address(&bob)];
    let sent = message(&from, &to, "starttls");

    let accepted = smtp::submit(
        &env.submission(),
        PASSWORD,
        submission(&from, &to, &sent),
        || Ok(()),
    )
    .await
    .unwrap();
    // The queue id the outbox keeps, in Postfix's words.
    assert!(
        accepted.reply.starts_with("2.0.0 Ok: queued as "),
        "{accepted:?}"
    );
    env.assert_delivered_once(&bob, &sent).await;
}

#[tokio::test]
async fn implicit_tls_submission_reaches_every_recipient_once() {
    let env = Env::new();
    let users = [env.user("bob"), env.user("carol"), env.user("dave")];
    let from = env.address(&env.alice);
    let to: Vec<String> = users.iter().map(|u| env.address(u)).collect();
    let sent = message(&from, &to, "several");

    smtp::submit(
        &env.submissions(),
        PASSWORD,
        submission(&from, &to, &sent),
        || Ok(()),
    )
    .await
    .unwrap();
    for user in &users {
        env.assert_delivered_once(user, &sent).await;
    }
    assert!(env.inbox(&env.alice).await.is_empty(), "no bounce expected");
}

#[tokio::test]
async fn refused_recipients_are_all_reported_and_nobody_gets_a_partial_send() {
    let env = Env::new();
    let (bob, carol) = (env.user("bob"), env.user("carol"));
    let from = env.address(&env.alice);
    let to = vec![
        env.address(&bob),
        "someone@elsewhere.example".to_owned(),
        env.address(&carol),
        "other@example.net".to_owned(),
    ];
    let sent = message(&from, &to, "refused");

    let err = smtp::submit(
        &env.submissions(),
        PASSWORD,
        submission(&from, &to, &sent),
        || Ok(()),
    )
    .await
    .unwrap_err();
    let SmtpError::RecipientsRefused(refused) = &err else {
        panic!("{err:?}");
    };
    let got: Vec<(&str, u16, &str)> = refused
        .iter()
        .map(|r| (r.address.as_str(), r.code, r.reply.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "someone@elsewhere.example",
                554,
                "5.7.1 <someone@elsewhere.example>: Relay access denied"
            ),
            (
                "other@example.net",
                554,
                "5.7.1 <other@example.net>: Relay access denied"
            ),
        ]
    );
    assert!(err.is_permanent());
    assert!(
        err.to_string().contains("someone@elsewhere.example"),
        "{err}"
    );

    // The user removes the bad addresses and sends again: each gets exactly that one,
    // so the first attempt left nothing in the queue.
    let fixed = vec![env.address(&bob), env.address(&carol)];
    let resent = message(&from, &fixed, "fixed");
    smtp::submit(
        &env.submissions(),
        PASSWORD,
        submission(&from, &fixed, &resent),
        || Ok(()),
    )
    .await
    .unwrap();
    env.assert_delivered_once(&bob, &resent).await;
    env.assert_delivered_once(&carol, &resent).await;
}

#[tokio::test]
async fn test_connection_succeeds_and_a_wrong_password_is_auth_failed() {
    let env = Env::new();
    smtp::check(&env.submissions(), PASSWORD).await.unwrap();
    smtp::check(&env.submission(), PASSWORD).await.unwrap();

    let err = smtp::check(&env.submissions(), "wrong password")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SmtpError::AuthFailed { code: 535, reply } if reply.contains("authentication failed")),
        "{err:?}"
    );
    assert!(err.is_permanent());

    let from = env.address(&env.alice);
    let to = vec![from.clone()];
    let sent = message(&from, &to, "wrongpw");
    let err = smtp::submit(
        &env.submission(),
        "wrong password",
        submission(&from, &to, &sent),
        || Ok(()),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, SmtpError::AuthFailed { code: 535, .. }),
        "{err:?}"
    );
    env.wait_for_empty_queue();
    assert!(env.inbox(&env.alice).await.is_empty());
}

#[tokio::test]
async fn untrusted_or_changed_certificates_are_refused() {
    let env = Env::new();
    let cert = env.postfix.cert_sha256_hex();
    for server in [env.submissions(), env.submission()] {
        let unpinned = Server {
            pinned_cert_sha256: None,
            ..server.clone()
        };
        let err = smtp::check(&unpinned, PASSWORD).await.unwrap_err();
        assert!(
            matches!(&err, SmtpError::Tls(TlsError::Untrusted { fingerprint, .. }) if *fingerprint == cert),
            "{:?}: {err:?}",
            server.security
        );
        assert!(err.is_permanent());

        let other = "00".repeat(32);
        let wrong_pin = Server {
            pinned_cert_sha256: Some(other.clone()),
            ..server.clone()
        };
        let err = smtp::check(&wrong_pin, PASSWORD).await.unwrap_err();
        assert_eq!(
            err,
            SmtpError::Tls(TlsError::PinMismatch {
                pinned: other,
                presented: cert.clone()
            })
        );
    }
}

#[tokio::test]
async fn plaintext_needs_consent_and_never_sends_the_password_unoffered() {
    // Without consent, nothing connects at all.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = Server {
        host: "127.0.0.1".into(),
        port: listener.local_addr().unwrap().port(),
        security: Security::Plaintext,
        login: "alice".into(),
        ..Server::default()
    };
    let to = vec!["bob@tern.test".to_owned()];
    let err = smtp::submit(
        &server,
        PASSWORD,
        submission("a@tern.test", &to, b"x"),
        || Ok(()),
    )
    .await
    .unwrap_err();
    assert_eq!(err, SmtpError::PlaintextNotAllowed);
    assert_eq!(
        smtp::check(&server, PASSWORD).await,
        Err(SmtpError::PlaintextNotAllowed)
    );
    let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
    assert!(accepted.is_err(), "a connection was made");

    // With consent, Postfix's plain submission port hides AUTH until TLS, so the login
    // is refused here rather than sent in clear.
    let env = Env::new();
    let consented = Server {
        security: Security::Plaintext,
        plaintext_acknowledged: true,
        ..env.submission()
    };
    assert_eq!(
        smtp::check(&consented, PASSWORD).await,
        Err(SmtpError::NoAuthMechanism)
    );
}

#[tokio::test]
async fn ten_megabyte_attachment_is_accepted_and_too_big_is_refused_before_upload() {
    let env = Env::new();
    let bob = env.user("bob");
    let from = env.address(&env.alice);
    let to = vec![env.address(&bob)];
    let sent = attachment_message(&from, &to[0], 10 * 1024 * 1024);
    assert!(sent.len() > 13_000_000);
    smtp::submit(
        &env.submissions(),
        PASSWORD,
        submission(&from, &to, &sent),
        || Ok(()),
    )
    .await
    .unwrap();
    env.assert_delivered_once(&bob, &sent).await;

    // Above the announced SIZE: refused before the upload, so the user hears at once.
    let line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n";
    let mut huge = b"Subject: huge\r\n\r\n".to_vec();
    huge.extend(
        line.repeat(Postfix::MESSAGE_SIZE_LIMIT as usize / line.len() + 1)
            .bytes(),
    );
    let proxy = FaultProxy::start(env.postfix.submissions_port()).unwrap();
    // Cut if more than the commands get through: the message must never be uploaded.
    proxy.drop_after_client_bytes(64 * 1024);
    let via_proxy = Server {
        port: proxy.port(),
        ..env.submissions()
    };
    let err = smtp::submit(&via_proxy, PASSWORD, submission(&from, &to, &huge), || {
        Ok(())
    })
    .await
    .unwrap_err();
    assert_eq!(
        err,
        SmtpError::TooBig {
            limit: Postfix::MESSAGE_SIZE_LIMIT
        }
    );
    assert!(err.is_permanent());
}

#[tokio::test]
async fn connection_lost_during_the_upload_is_dropped_and_nothing_is_delivered() {
    let env = Env::new();
    let bob = env.user("bob");
    let from = env.address(&env.alice);
    let to = vec![env.address(&bob)];
    // Far larger than the socket buffers, so the cut is noticed before the upload ends.
    let sent = attachment_message(&from, &to[0], 12 * 1024 * 1024);
    let proxy = FaultProxy::start(env.postfix.submissions_port()).unwrap();
    proxy.drop_after_client_bytes(256 * 1024);
    let server = Server {
        port: proxy.port(),
        ..env.submissions()
    };

    let mut reached_final_dot = false;
    // A stalled upload counts as lost too; a short block timeout keeps the test quick
    // should the cut show up as silence rather than a reset.
    let timeouts = Timeouts {
        data_block: Duration::from_secs(20),
        ..Timeouts::default()
    };
    let err = smtp::submit_with(
        &server,
        PASSWORD,
        submission(&from, &to, &sent),
        || {
            reached_final_dot = true;
            Ok(())
        },
        &timeouts,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            SmtpError::Dropped {
                stage: Stage::Message,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert!(
        !reached_final_dot,
        "the outbox must not record 'may be sent'"
    );

    // Safe to retry: the retry is the only copy that arrives.
    let retry = message(&from, &to, "retry");
    smtp::submit(
        &env.submissions(),
        PASSWORD,
        submission(&from, &to, &retry),
        || Ok(()),
    )
    .await
    .unwrap();
    env.assert_delivered_once(&bob, &retry).await;
}

#[tokio::test]
async fn connection_lost_after_the_final_dot_is_maybe_sent() {
    let env = Env::new();
    let bob = env.user("bob");
    let from = env.address(&env.alice);
    let to = vec![env.address(&bob)];
    let sent = attachment_message(&from, &to[0], 1024 * 1024);
    let proxy = FaultProxy::start(env.postfix.submissions_port()).unwrap();
    // The server's next bytes after most of the upload are its reply to the final dot.
    proxy.drop_reply_after_client_bytes(1_000_000);
    let server = Server {
        port: proxy.port(),
        ..env.submissions()
    };

    let mut reached_final_dot = false;
    let err = smtp::submit(&server, PASSWORD, submission(&from, &to, &sent), || {
        reached_final_dot = true;
        Ok(())
    })
    .await
    .unwrap_err();
    assert!(matches!(err, SmtpError::MaybeSent { .. }), "{err:?}");
    // The outbox had recorded "may have been sent" before the dot went out.
    assert!(reached_final_dot);
    assert!(!err.is_transient() && !err.is_permanent());
    // And indeed it was sent: retrying on its own would have sent it twice.
    env.assert_delivered_once(&bob, &sent).await;
}

#[tokio::test]
async fn a_failing_step_before_the_final_dot_sends_nothing() {
    let env = Env::new();
    let bob = env.user("bob");
    let from = env.address(&env.alice);
    let to = vec![env.address(&bob)];
    let sent = message(&from, &to, "cancelled");
    let err = smtp::submit(
        &env.submissions(),
        PASSWORD,
        submission(&from, &to, &sent),
        || Err("the message left the outbox".to_owned()),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err,
        SmtpError::Cancelled {
            reason: "the message left the outbox".into()
        }
    );
    assert!(err.is_transient());

    // Postfix had the whole body but never the dot: only the next message arrives.
    let next = message(&from, &to, "next");
    smtp::submit(
        &env.submissions(),
        PASSWORD,
        submission(&from, &to, &next),
        || Ok(()),
    )
    .await
    .unwrap();
    env.assert_delivered_once(&bob, &next).await;
}

// ---- Scripted fake servers, for what a real server won't do ----

/// What the fake server saw, for the script to answer.
#[derive(Debug)]
enum Event<'a> {
    Connected,
    /// A command line, without its CRLF.
    Line(&'a str),
    /// The message data after DATA, up to and including the final ".\r\n" (the
    /// transcript has it).
    Data,
}

/// What the fake server does next.
enum Act {
    /// Write these bytes (one write, so a client reads them together).
    Reply(String),
    /// Write the reply, wait for the client's next bytes, then close (mid-upload).
    ReplyThenClose(String),
    /// Close without a word.
    Close,
    /// Say nothing, keep the connection open until the client gives up.
    Silence,
}

fn reply(text: &str) -> Act {
    Act::Reply(text.to_owned())
}

/// A server that accepts one connection and follows `script`; the handle yields every
/// byte the client sent.
async fn fake(
    mut script: impl FnMut(Event<'_>) -> Act + Send + 'static,
) -> (u16, JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let mut io = BufReader::new(socket);
        let mut seen = Vec::new();
        let mut act = script(Event::Connected);
        loop {
            let in_data = match act {
                Act::Reply(text) => {
                    io.get_mut().write_all(text.as_bytes()).await.unwrap();
                    text.starts_with("354")
                }
                Act::ReplyThenClose(text) => {
                    io.get_mut().write_all(text.as_bytes()).await.unwrap();
                    let mut some = [0u8; 1024];
                    let n = io.read(&mut some).await.unwrap_or(0);
                    seen.extend_from_slice(&some[..n]);
                    return seen;
                }
                Act::Close => return seen,
                Act::Silence => {
                    let _ = io.read_to_end(&mut seen).await;
                    return seen;
                }
            };
            let mut line = Vec::new();
            if io.read_until(b'\n', &mut line).await.unwrap_or(0) == 0 {
                return seen;
            }
            seen.extend_from_slice(&line);
            act = if in_data {
                while line != b".\r\n" {
                    line.clear();
                    if io.read_until(b'\n', &mut line).await.unwrap_or(0) == 0 {
                        return seen;
                    }
                    seen.extend_from_slice(&line);
                }
                script(Event::Data)
            } else {
                let text = String::from_utf8_lossy(&line);
                script(Event::Line(text.trim_end_matches("\r\n")))
            };
        }
    });
    (port, handle)
}

/// A well-behaved server offering `caps` (lines of "250-..." after the name).
fn standard(caps: &'static str) -> impl FnMut(Event<'_>) -> Act + Send + 'static {
    move |event| match event {
        Event::Connected => reply("220 fake.test ESMTP\r\n"),
        Event::Line(l) if l.starts_with("EHLO ") => {
            Act::Reply(format!("250-fake.test\r\n{caps}250 HELP\r\n"))
        }
        Event::Line("DATA") => reply("354 End data with <CR><LF>.<CR><LF>\r\n"),
        Event::Line("QUIT") => reply("221 2.0.0 Bye\r\n"),
        Event::Line(_) => reply("250 2.1.0 Ok\r\n"),
        Event::Data => reply("250 2.0.0 Ok: queued as FAKE1\r\n"),
    }
}

/// A server on 127.0.0.1:`port` the user consented to use without TLS, no login.
fn plain(port: u16) -> Server {
    Server {
        host: "127.0.0.1".into(),
        port,
        security: Security::Plaintext,
        plaintext_acknowledged: true,
        ..Server::default()
    }
}

fn quick() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(5),
        command: Duration::from_secs(5),
        data_block: Duration::from_secs(5),
        final_reply: Duration::from_millis(500),
    }
}

/// Everything the client sent, as text.
async fn transcript(handle: JoinHandle<Vec<u8>>) -> String {
    String::from_utf8_lossy(&handle.await.unwrap()).into_owned()
}

const DOTS: &[u8] = "Subject: dots\r\n\r\n.hidden\r\n..two\r\n.\r\nGrüße\r\nend".as_bytes();

#[tokio::test]
async fn leading_dots_are_stuffed_and_the_envelope_carries_the_offered_parameters() {
    let (port, handle) = fake(standard(
        "250-SIZE 100000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n",
    ))
    .await;
    let to = vec!["bob@fake.test".to_owned(), "carol@fake.test".to_owned()];
    let msg = Submission {
        smtputf8: true,
        ..submission("alice@fake.test", &to, DOTS)
    };
    let accepted = smtp::submit_with(&plain(port), "", msg, || Ok(()), &quick())
        .await
        .unwrap();
    assert_eq!(accepted.reply, "2.0.0 Ok: queued as FAKE1");
    let size = DOTS.len() + 2;
    assert_eq!(
        transcript(handle).await,
        format!(
            "EHLO [127.0.0.1]\r\n\
             MAIL FROM:<alice@fake.test> SMTPUTF8 BODY=8BITMIME SIZE={size}\r\n\
             RCPT TO:<bob@fake.test>\r\nRCPT TO:<carol@fake.test>\r\nDATA\r\n\
             Subject: dots\r\n\r\n..hidden\r\n...two\r\n..\r\nGrüße\r\nend\r\n.\r\n\
             QUIT\r\n"
        )
    );
}

#[tokio::test]
async fn a_cancelled_submission_never_writes_the_final_dot() {
    let (port, handle) = fake(standard("250-8BITMIME\r\n")).await;
    let to = vec!["bob@fake.test".to_owned()];
    let err = smtp::submit_with(
        &plain(port),
        "",
        submission("alice@fake.test", &to, DOTS),
        || Err("stop".into()),
        &quick(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err,
        SmtpError::Cancelled {
            reason: "stop".into()
        }
    );
    // The whole body went out, then the connection was closed: no dot, no QUIT.
    assert!(
        transcript(handle)
            .await
            .ends_with("DATA\r\nSubject: dots\r\n\r\n..hidden\r\n...two\r\n..\r\nGrüße\r\nend\r\n")
    );
}

#[tokio::test]
async fn smtputf8_or_8bit_content_the_server_cannot_take_fails_before_mail_from() {
    let to = vec!["bob@fake.test".to_owned()];
    let (port, handle) = fake(standard("250-8BITMIME\r\n")).await;
    let msg = Submission {
        smtputf8: true,
        ..submission("alice@fake.test", &to, DOTS)
    };
    let err = smtp::submit_with(&plain(port), "", msg, || Ok(()), &quick())
        .await
        .unwrap_err();
    assert_eq!(err, SmtpError::SmtpUtf8Unsupported);
    assert!(err.is_permanent());
    assert_eq!(transcript(handle).await, "EHLO [127.0.0.1]\r\nQUIT\r\n");

    let (port, handle) = fake(standard("")).await;
    let err = smtp::submit_with(
        &plain(port),
        "",
        submission("alice@fake.test", &to, DOTS),
        || Ok(()),
        &quick(),
    )
    .await
    .unwrap_err();
    assert_eq!(err, SmtpError::EightBitUnsupported);
    assert_eq!(transcript(handle).await, "EHLO [127.0.0.1]\r\nQUIT\r\n");
}

#[tokio::test]
async fn starttls_reply_with_injected_bytes_is_refused_and_nothing_follows() {
    let mut standard = standard("250-STARTTLS\r\n");
    let (port, handle) = fake(move |event| match event {
        // The go-ahead and a forged reply in one segment: a MITM's injection.
        Event::Line("STARTTLS") => reply("220 2.0.0 Ready to start TLS\r\n250 forged\r\n"),
        other => standard(other),
    })
    .await;
    let server = Server {
        security: Security::StartTls,
        plaintext_acknowledged: false,
        login: "alice".into(),
        ..plain(port)
    };
    let to = vec!["bob@fake.test".to_owned()];
    let err = smtp::submit(
        &server,
        PASSWORD,
        submission("alice@fake.test", &to, b"x"),
        || Ok(()),
    )
    .await
    .unwrap_err();
    assert_eq!(err, SmtpError::StarttlsInjection);
    // Not even a TLS ClientHello, let alone the login, went out after STARTTLS.
    assert_eq!(transcript(handle).await, "EHLO [127.0.0.1]\r\nSTARTTLS\r\n");
}

#[tokio::test]
async fn starttls_refused_is_an_error_never_a_downgrade() {
    let mut standard = standard("");
    let (port, handle) = fake(move |event| match event {
        Event::Line("STARTTLS") => reply("502 5.5.1 Unrecognized command\r\n"),
        other => standard(other),
    })
    .await;
    let server = Server {
        security: Security::StartTls,
        plaintext_acknowledged: false,
        login: "alice".into(),
        ..plain(port)
    };
    let err = smtp::check(&server, PASSWORD).await.unwrap_err();
    assert!(
        matches!(&err, SmtpError::NoStarttls { reply } if reply.contains("502")),
        "{err:?}"
    );
    assert_eq!(transcript(handle).await, "EHLO [127.0.0.1]\r\nSTARTTLS\r\n");
}

#[tokio::test]
async fn server_closing_after_the_final_dot_without_a_reply_is_maybe_sent() {
    let mut standard = standard("250-8BITMIME\r\n");
    let (port, handle) = fake(move |event| match event {
        Event::Data => Act::Close,
        other => standard(other),
    })
    .await;
    let to = vec!["bob@fake.test".to_owned()];
    let err = smtp::submit_with(
        &plain(port),
        "",
        submission("alice@fake.test", &to, DOTS),
        || Ok(()),
        &quick(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SmtpError::MaybeSent { .. }), "{err:?}");
    assert!(transcript(handle).await.ends_with("\r\nend\r\n.\r\n"));
}

#[tokio::test]
async fn silent_server_after_the_final_dot_times_out_as_maybe_sent() {
    let mut standard = standard("250-8BITMIME\r\n");
    let (port, handle) = fake(move |event| match event {
        Event::Data => Act::Silence,
        other => standard(other),
    })
    .await;
    let to = vec!["bob@fake.test".to_owned()];
    let started = std::time::Instant::now();
    let err = smtp::submit_with(
        &plain(port),
        "",
        submission("alice@fake.test", &to, DOTS),
        || Ok(()),
        &quick(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, SmtpError::MaybeSent { detail } if detail.contains("no answer")),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    // No QUIT on a connection whose state is unknown.
    assert!(transcript(handle).await.ends_with("\r\nend\r\n.\r\n"));
}

#[tokio::test]
async fn server_closing_in_the_middle_of_the_upload_is_dropped() {
    let mut standard = standard("");
    let (port, handle) = fake(move |event| match event {
        Event::Line("DATA") => Act::ReplyThenClose("354 go ahead\r\n".into()),
        other => standard(other),
    })
    .await;
    let to = vec!["bob@fake.test".to_owned()];
    // Far larger than what the socket buffers can hold.
    let big = attachment_message("alice@fake.test", &to[0], 24 * 1024 * 1024);
    let err = smtp::submit_with(
        &plain(port),
        "",
        submission("alice@fake.test", &to, &big),
        || Ok(()),
        &quick(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            SmtpError::Dropped {
                stage: Stage::Message,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    handle.await.unwrap();
}

#[tokio::test]
async fn login_falls_back_to_auth_login() {
    let mut standard = standard("250-AUTH LOGIN CRAM-MD5\r\n");
    let mut step = 0;
    let (port, handle) = fake(move |event| match event {
        Event::Line("AUTH LOGIN") => {
            step = 1;
            reply("334 VXNlcm5hbWU6\r\n")
        }
        Event::Line(_) if step == 1 => {
            step = 2;
            reply("334 UGFzc3dvcmQ6\r\n")
        }
        Event::Line(_) if step == 2 => {
            step = 3;
            reply("235 2.7.0 Authentication successful\r\n")
        }
        other => standard(other),
    })
    .await;
    let server = Server {
        login: "alice".into(),
        ..plain(port)
    };
    smtp::check_with(&server, "pw", &quick()).await.unwrap();
    assert_eq!(
        transcript(handle).await,
        "EHLO [127.0.0.1]\r\nAUTH LOGIN\r\nYWxpY2U=\r\ncHc=\r\nQUIT\r\n"
    );
}

#[tokio::test]
async fn a_greeting_refusal_and_garbage_are_reported_as_such() {
    let (port, _handle) = fake(|event| match event {
        Event::Connected => reply("554 5.7.1 no service for you\r\n"),
        _ => Act::Close,
    })
    .await;
    let err = smtp::check_with(&plain(port), "", &quick())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SmtpError::Rejected {
            stage: Stage::Greeting,
            code: 554,
            reply: "5.7.1 no service for you".into()
        }
    );

    let (port, _handle) = fake(|event| match event {
        Event::Connected => reply("HTTP/1.1 400 Bad Request\r\n"),
        _ => Act::Close,
    })
    .await;
    let err = smtp::check_with(&plain(port), "", &quick())
        .await
        .unwrap_err();
    assert!(matches!(err, SmtpError::Protocol { .. }), "{err:?}");
}

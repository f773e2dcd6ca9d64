//! POP3: logging in safely against a real Dovecot, the commands a download-and-delete
//! account needs, and hostile servers.
#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine as _;
use common::{Env, PASSWORD};
use std::time::Duration;
use tern_core::account::{Security, Server};
use tern_core::pop3::{self, MAX_LINE, Pop3Error, Pop3Session};
use tern_core::tls::TlsError;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A message whose body has lines that POP3 must dot-stuff: a lone ".", and lines that
/// start with one or two dots.
const DOTS: &[u8] = b"From: Bob <bob@example.org>\r\n\
To: Alice <alice@example.org>\r\n\
Subject: dots\r\n\
Message-ID: <dots@example.org>\r\n\
\r\n\
A line with a dot alone follows\r\n\
.\r\n\
..two dots\r\n\
.one dot\r\n\
. \r\n\
end\r\n";

/// The user's POP3 server over implicit TLS, trusting the test certificate by pin.
fn pop3s(env: &Env) -> Server {
    Server {
        port: env.dovecot.pop3s_port(),
        ..env.server()
    }
}

/// Five corpus messages and [`DOTS`], appended to the user's INBOX.
fn with_messages(env: &Env) -> Vec<Vec<u8>> {
    let mut messages = common::messages(0..5);
    messages.push(DOTS.to_vec());
    env.append("INBOX", &messages);
    messages
}

/// How many messages Dovecot itself counts in INBOX.
fn server_count(env: &Env) -> u32 {
    let out = env.doveadm(&["mailbox", "status"], &["messages", "INBOX"]);
    // Dovecot 2.3 prints "INBOX messages=6".
    out.split_whitespace()
        .find_map(|field| field.strip_prefix("messages="))
        .unwrap_or_else(|| panic!("unexpected doveadm output {out:?}"))
        .parse()
        .unwrap()
}

async fn login(env: &Env) -> Pop3Session {
    pop3::connect(&pop3s(env), PASSWORD).await.unwrap()
}

#[tokio::test]
async fn implicit_tls_lists_and_retrieves_exactly_what_was_appended() {
    let env = Env::new();
    let messages = with_messages(&env);
    let mut session = login(&env).await;
    assert!(session.has("UIDL") && session.has("TOP"), "{session:?}");

    let total: u64 = messages.iter().map(|m| m.len() as u64).sum();
    assert_eq!(session.stat().await.unwrap(), (6, total));
    let sizes: Vec<(u32, u64)> = (1..).zip(messages.iter().map(|m| m.len() as u64)).collect();
    assert_eq!(session.list().await.unwrap(), sizes);

    let uids = session.uidl().await.unwrap();
    assert_eq!(
        uids.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        (1..=6).collect::<Vec<_>>()
    );
    let mut distinct: Vec<&String> = uids.iter().map(|(_, uid)| uid).collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 6, "{uids:?}");

    for (n, message) in (1..).zip(&messages) {
        let got = session.retr(n).await.unwrap();
        assert!(
            got == *message,
            "message {n} differs:\n{}\n---\n{}",
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(message)
        );
    }

    let header_end = messages[0]
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap();
    let top = session.top(1, 0).await.unwrap();
    assert_eq!(top, messages[0][..header_end + 4]);
    let top = session.top(6, 2).await.unwrap();
    assert!(top.ends_with(b"A line with a dot alone follows\r\n.\r\n"));

    session.noop().await.unwrap();
    session.quit().await.unwrap();
    assert_eq!(server_count(&env), 6, "reading must not delete");
}

#[tokio::test]
async fn starttls_required_upgrades_and_logs_in() {
    let env = Env::new();
    with_messages(&env);
    let server = Server {
        port: env.dovecot.pop3_port(),
        security: Security::StartTls,
        ..env.server()
    };
    let mut session = pop3::connect(&server, PASSWORD).await.unwrap();
    assert_eq!(session.stat().await.unwrap().0, 6);
    assert!(
        !session.has("STLS"),
        "capabilities are from after TLS: {session:?}"
    );
    session.quit().await.unwrap();
}

#[tokio::test]
async fn wrong_password_is_an_authentication_error() {
    let env = Env::new();
    match pop3::connect(&pop3s(&env), "not the password").await {
        Err(Pop3Error::AuthFailed(text)) => assert!(!text.is_empty()),
        other => panic!("expected AuthFailed, got {other:?}"),
    }
}

#[tokio::test]
async fn untrusted_certificate_is_refused_with_its_fingerprint() {
    let env = Env::new();
    let server = Server {
        pinned_cert_sha256: None,
        ..pop3s(&env)
    };
    match pop3::connect(&server, PASSWORD).await {
        Err(Pop3Error::Tls(TlsError::Untrusted { fingerprint, .. })) => {
            assert_eq!(fingerprint, env.dovecot.cert_sha256_hex());
        }
        other => panic!("expected an untrusted certificate, got {other:?}"),
    }
}

#[tokio::test]
async fn dele_removes_a_message_only_when_quit_commits() {
    let env = Env::new();
    with_messages(&env);
    let mut session = login(&env).await;
    let before = session.uidl().await.unwrap();
    session.dele(1).await.unwrap();
    session.rset().await.unwrap();
    session.dele(2).await.unwrap();
    assert!(matches!(session.retr(2).await, Err(Pop3Error::Rejected(_))));
    session.quit().await.unwrap();
    assert_eq!(server_count(&env), 5);

    let mut session = login(&env).await;
    let after: Vec<String> = session
        .uidl()
        .await
        .unwrap()
        .into_iter()
        .map(|(_, uid)| uid)
        .collect();
    let expected: Vec<String> = before
        .into_iter()
        .filter(|(n, _)| *n != 2)
        .map(|(_, uid)| uid)
        .collect();
    assert_eq!(
        after, expected,
        "RSET undid the first DELE, QUIT did the second"
    );
}

#[tokio::test]
async fn a_connection_dropped_before_quit_keeps_deleted_messages() {
    let env = Env::new();
    with_messages(&env);
    let mut session = login(&env).await;
    session.dele(1).await.unwrap();
    session.dele(2).await.unwrap();
    drop(session);
    // Give Dovecot time to notice the disconnect and finish the session its own way.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server_count(&env), 6);
    let mut session = login(&env).await;
    assert_eq!(session.stat().await.unwrap().0, 6);
}

#[tokio::test]
async fn unknown_host_closed_port_and_bad_input_are_told_apart() {
    let server = Server {
        host: "no-such-host.invalid".into(),
        port: 995,
        login: "x".into(),
        ..Server::default()
    };
    assert!(matches!(
        pop3::connect(&server, "x").await,
        Err(Pop3Error::HostNotFound(_))
    ));
    let server = Server {
        host: "127.0.0.1".into(),
        port: tern_testenv::free_port(),
        ..server
    };
    assert!(matches!(
        pop3::connect(&server, "x").await,
        Err(Pop3Error::Unreachable(_))
    ));
    assert!(matches!(
        pop3::connect(&server, "x\r\nDELE 1").await,
        Err(Pop3Error::InvalidString)
    ));
    let plaintext = Server {
        security: Security::Plaintext,
        ..server
    };
    assert!(matches!(
        pop3::connect(&plaintext, "x").await,
        Err(Pop3Error::PlaintextNotAllowed)
    ));
}

/// A reply ending in this makes the fake server close the connection after it.
const CLOSE: &str = "<close>";
/// A reply ending in this makes the fake server go silent (but keep the connection).
const HANG: &str = "<hang>";

/// A scripted server: sends `greeting`, then answers each command line with the reply
/// of the first `script` entry whose key starts it, or -ERR. Returns the port and the
/// command lines it received.
async fn fake_server(
    greeting: impl Into<String>,
    script: &[(&'static str, String)],
) -> (u16, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let greeting = greeting.into();
    let script = script.to_vec();
    let handle = tokio::spawn(async move {
        let mut received = Vec::new();
        let (socket, _) = listener.accept().await.unwrap();
        let (read, mut write) = socket.into_split();
        // The client may hang up on a hostile greeting before reading it all.
        if write.write_all(greeting.as_bytes()).await.is_err() {
            return received;
        }
        let mut lines = BufReader::new(read).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let reply = script
                .iter()
                .find(|(key, _)| line.starts_with(key))
                .map_or("-ERR unknown command\r\n", |(_, reply)| reply.as_str());
            received.push(line);
            let text = reply.trim_end_matches(CLOSE).trim_end_matches(HANG);
            if write.write_all(text.as_bytes()).await.is_err() || reply.ends_with(CLOSE) {
                break;
            }
            if reply.ends_with(HANG) {
                tokio::time::sleep(Duration::from_secs(10)).await;
                break;
            }
        }
        received
    });
    (port, handle)
}

fn fake(port: u16, security: Security) -> Server {
    Server {
        host: "127.0.0.1".into(),
        port,
        security,
        login: "alice".into(),
        // Only used where the security is Plaintext: the fakes have no TLS.
        plaintext_acknowledged: true,
        ..Server::default()
    }
}

/// A plaintext server that takes USER/PASS and then answers `more`.
async fn logged_in_fake(more: &[(&'static str, String)]) -> (Pop3Session, JoinHandle<Vec<String>>) {
    let mut script = vec![
        ("CAPA", "+OK\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n".to_owned()),
        ("USER", "+OK\r\n".to_owned()),
        ("PASS", "+OK logged in\r\n".to_owned()),
    ];
    script.extend_from_slice(more);
    let (port, handle) = fake_server("+OK ready\r\n", &script).await;
    let session = pop3::connect(&fake(port, Security::Plaintext), PASSWORD)
        .await
        .unwrap();
    (session, handle)
}

#[tokio::test]
async fn bytes_injected_after_the_stls_go_ahead_drop_the_connection() {
    let (port, _) = fake_server(
        "+OK ready\r\n",
        &[
            ("CAPA", "+OK\r\nSTLS\r\nUSER\r\n.\r\n".into()),
            ("STLS", "+OK Begin TLS\r\n+OK injected\r\n".into()),
        ],
    )
    .await;
    assert!(matches!(
        pop3::connect(&fake(port, Security::StartTls), PASSWORD).await,
        Err(Pop3Error::StartTlsInjection)
    ));
}

#[tokio::test]
async fn a_server_without_stls_is_not_used_in_plaintext() {
    let (port, handle) =
        fake_server("+OK ready\r\n", &[("CAPA", "+OK\r\nUSER\r\n.\r\n".into())]).await;
    assert!(matches!(
        pop3::connect(&fake(port, Security::StartTls), PASSWORD).await,
        Err(Pop3Error::TlsUnavailable)
    ));
    assert_eq!(handle.await.unwrap(), ["CAPA"], "no credentials were sent");

    // A server without CAPA gets an STLS try; its -ERR means no TLS.
    let (port, handle) = fake_server("+OK ready\r\n", &[]).await;
    assert!(matches!(
        pop3::connect(&fake(port, Security::StartTls), PASSWORD).await,
        Err(Pop3Error::TlsUnavailable)
    ));
    assert_eq!(handle.await.unwrap(), ["CAPA", "STLS"]);
}

#[tokio::test]
async fn an_err_greeting_is_a_refusal() {
    let (port, _) = fake_server("-ERR [SYS/TEMP] too busy\r\n", &[]).await;
    match pop3::connect(&fake(port, Security::Plaintext), PASSWORD).await {
        Err(Pop3Error::Refused(text)) => assert_eq!(text, "[SYS/TEMP] too busy"),
        other => panic!("expected Refused, got {other:?}"),
    }
}

#[tokio::test]
async fn sasl_plain_is_used_when_offered() {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("\0alice\0{PASSWORD}"));
    let (port, handle) = fake_server(
        "+OK ready\r\n",
        &[
            ("CAPA", "+OK\r\nSASL LOGIN PLAIN\r\nUSER\r\n.\r\n".into()),
            ("AUTH", "+OK logged in\r\n".into()),
            ("QUIT", format!("+OK bye\r\n{CLOSE}")),
        ],
    )
    .await;
    let session = pop3::connect(&fake(port, Security::Plaintext), PASSWORD)
        .await
        .unwrap();
    session.quit().await.unwrap();
    assert_eq!(
        handle.await.unwrap(),
        [
            "CAPA".to_owned(),
            format!("AUTH PLAIN {token}"),
            "CAPA".into(),
            "QUIT".into()
        ]
    );

    let (port, _) = fake_server(
        "+OK ready\r\n",
        &[
            ("CAPA", "+OK\r\nSASL PLAIN\r\n.\r\n".into()),
            ("AUTH", "-ERR [AUTH] Authentication failed.\r\n".into()),
        ],
    )
    .await;
    match pop3::connect(&fake(port, Security::Plaintext), PASSWORD).await {
        Err(Pop3Error::AuthFailed(text)) => assert_eq!(text, "[AUTH] Authentication failed."),
        other => panic!("expected AuthFailed, got {other:?}"),
    }
}

#[tokio::test]
async fn a_connection_closed_mid_retr_is_closed_not_a_short_message() {
    let (mut session, _) = logged_in_fake(&[(
        "RETR",
        format!("+OK 200 octets\r\nFrom: a@example.org\r\nSubject: cut sh{CLOSE}"),
    )])
    .await;
    assert!(matches!(session.retr(1).await, Err(Pop3Error::Closed)));
    assert!(
        matches!(session.noop().await, Err(Pop3Error::Closed)),
        "a cut-short session is not reused"
    );
}

#[tokio::test]
async fn a_retr_that_stalls_times_out() {
    let (mut session, _) = logged_in_fake(&[(
        "RETR",
        format!("+OK 200 octets\r\nFrom: a@example.org\r\n{HANG}"),
    )])
    .await;
    session.set_read_timeout(Duration::from_millis(200));
    assert!(matches!(session.retr(1).await, Err(Pop3Error::Timeout)));
}

#[tokio::test]
async fn a_uidl_with_a_control_character_or_space_is_a_protocol_error() {
    for bad in ["1 abc\u{1}def", "1 abc def", "1 ", "x abc"] {
        let (mut session, _) =
            logged_in_fake(&[("UIDL", format!("+OK\r\n2 fine\r\n{bad}\r\n.\r\n"))]).await;
        assert!(
            matches!(session.uidl().await, Err(Pop3Error::Protocol(_))),
            "{bad:?}"
        );
    }
}

#[tokio::test]
async fn lines_over_the_cap_are_refused() {
    let long = "a".repeat(MAX_LINE + 16);
    let (port, _) = fake_server(format!("+OK {long}\r\n"), &[]).await;
    assert!(matches!(
        pop3::connect(&fake(port, Security::Plaintext), PASSWORD).await,
        Err(Pop3Error::ResponseTooLarge)
    ));

    let (mut session, _) = logged_in_fake(&[("UIDL", format!("+OK\r\n1 {long}"))]).await;
    assert!(matches!(
        session.uidl().await,
        Err(Pop3Error::ResponseTooLarge)
    ));
}

#[tokio::test]
async fn dot_stuffing_and_the_terminator_are_undone() {
    let (mut session, _) = logged_in_fake(&[(
        "RETR",
        "+OK\r\nSubject: x\r\n\r\n..\r\n...dots\r\n.\r\n".to_owned(),
    )])
    .await;
    assert_eq!(
        session.retr(1).await.unwrap(),
        b"Subject: x\r\n\r\n.\r\n..dots\r\n"
    );
}

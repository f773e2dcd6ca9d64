//! Connecting to IMAP safely: TLS verification and pins, STARTTLS, login errors, and
//! hostile servers.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Env, PASSWORD};
use tern_core::account::{Security, Server};
use tern_core::imap::{self, ImapError};
use tern_core::tls::TlsError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[tokio::test]
async fn implicit_tls_with_pinned_certificate_logs_in() {
    let env = Env::new();
    let mut session = imap::connect(&env.server(), PASSWORD).await.unwrap();
    assert!(session.has("IDLE"), "{:?}", session.capabilities());
    assert!(
        session.qresync(),
        "Dovecot offers QRESYNC and we enable it: {:?}",
        session.capabilities()
    );
    let folders = session.list().await.unwrap();
    assert!(folders.iter().any(|f| f.name == "INBOX"));
    session.logout().await.unwrap();
}

#[tokio::test]
async fn starttls_required_upgrades_and_logs_in() {
    let env = Env::new();
    let server = Server {
        port: env.dovecot.imap_port(),
        security: Security::StartTls,
        ..env.server()
    };
    let mut session = imap::connect(&server, PASSWORD).await.unwrap();
    session.noop().await.unwrap();
}

#[tokio::test]
async fn untrusted_certificate_is_refused_with_its_fingerprint() {
    let env = Env::new();
    let server = Server {
        pinned_cert_sha256: None,
        ..env.server()
    };
    match imap::connect(&server, PASSWORD).await {
        Err(ImapError::Tls(TlsError::Untrusted { fingerprint, .. })) => {
            assert_eq!(fingerprint, env.dovecot.cert_sha256_hex());
        }
        other => panic!("expected an untrusted certificate, got {:?}", other.err()),
    }
}

#[tokio::test]
async fn a_changed_pinned_certificate_is_refused() {
    let env = Env::new();
    let server = Server {
        pinned_cert_sha256: Some("00".repeat(32)),
        ..env.server()
    };
    match imap::connect(&server, PASSWORD).await {
        Err(ImapError::Tls(TlsError::PinMismatch { presented, .. })) => {
            assert_eq!(presented, env.dovecot.cert_sha256_hex());
        }
        other => panic!("expected a pin mismatch, got {:?}", other.err()),
    }
}

#[tokio::test]
async fn wrong_password_is_an_authentication_error() {
    let env = Env::new();
    match imap::connect(&env.server(), "not the password").await {
        Err(ImapError::AuthFailed(_)) => {}
        other => panic!("expected AuthFailed, got {:?}", other.err()),
    }
}

#[tokio::test]
async fn unknown_host_and_closed_port_are_told_apart() {
    let server = Server {
        host: "no-such-host.invalid".into(),
        port: 993,
        login: "x".into(),
        ..Server::default()
    };
    assert!(matches!(
        imap::connect(&server, "x").await,
        Err(ImapError::HostNotFound(_))
    ));
    let closed = tern_testenv::free_port();
    let server = Server {
        host: "127.0.0.1".into(),
        port: closed,
        ..server
    };
    assert!(matches!(
        imap::connect(&server, "x").await,
        Err(ImapError::Unreachable(_))
    ));
}

#[tokio::test]
async fn plaintext_needs_explicit_consent() {
    let server = Server {
        host: "127.0.0.1".into(),
        port: 1,
        security: Security::Plaintext,
        ..Server::default()
    };
    assert!(matches!(
        imap::connect(&server, "x").await,
        Err(ImapError::PlaintextNotAllowed)
    ));
}

/// A scripted server: sends `greeting`, then answers the first command with `reply`
/// (one write), then holds the connection open.
async fn fake_server(greeting: &'static str, reply: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        socket.write_all(greeting.as_bytes()).await.unwrap();
        let mut buf = [0u8; 1024];
        let n = socket.read(&mut buf).await.unwrap_or(0);
        let tag = String::from_utf8_lossy(&buf[..n])
            .split(' ')
            .next()
            .unwrap_or("t1")
            .to_owned();
        socket
            .write_all(reply.replace("TAG", &tag).as_bytes())
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    });
    port
}

fn fake(port: u16, security: Security) -> Server {
    Server {
        host: "127.0.0.1".into(),
        port,
        security,
        login: "alice".into(),
        ..Server::default()
    }
}

#[tokio::test]
async fn bytes_injected_after_the_starttls_go_ahead_drop_the_connection() {
    let port = fake_server(
        "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n",
        "TAG OK Begin TLS negotiation now\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n",
    )
    .await;
    assert!(matches!(
        imap::connect(&fake(port, Security::StartTls), PASSWORD).await,
        Err(ImapError::StartTlsInjection)
    ));
}

#[tokio::test]
async fn preauth_before_tls_is_refused() {
    let port = fake_server("* PREAUTH [CAPABILITY IMAP4rev1] logged in\r\n", "").await;
    assert!(matches!(
        imap::connect(&fake(port, Security::StartTls), PASSWORD).await,
        Err(ImapError::PreauthRefused)
    ));
}

#[tokio::test]
async fn a_server_without_starttls_is_not_used_in_plaintext() {
    let port = fake_server("* OK ready\r\n", "TAG BAD unknown command\r\n").await;
    assert!(matches!(
        imap::connect(&fake(port, Security::StartTls), PASSWORD).await,
        Err(ImapError::TlsUnavailable)
    ));
}

#[tokio::test]
async fn a_huge_literal_is_refused_before_it_is_buffered() {
    // Over plaintext (consented) to reach the response parser with a hostile literal.
    let port = fake_server(
        "* OK ready\r\n",
        "* 1 FETCH (UID 1 BODY[] {999999999}\r\nxx",
    )
    .await;
    let server = Server {
        plaintext_acknowledged: true,
        ..fake(port, Security::Plaintext)
    };
    assert!(matches!(
        imap::connect(&server, PASSWORD).await,
        Err(ImapError::ResponseTooLarge)
    ));
}

#[tokio::test]
async fn a_connection_dropped_mid_response_is_an_error_not_a_hang() {
    let port = fake_server("* OK ready\r\n", "* CAPABILITY IMAP4rev1 AUTH=PL").await;
    let listener_drops = async {
        let server = Server {
            plaintext_acknowledged: true,
            ..fake(port, Security::Plaintext)
        };
        imap::connect(&server, PASSWORD).await
    };
    // The fake server keeps the socket 5 s and then drops it: we must see Closed.
    assert!(matches!(listener_drops.await, Err(ImapError::Closed)));
}

#[tokio::test]
async fn an_unparseable_response_with_a_literal_cannot_smuggle_a_tagged_reply() {
    // If the literal were not skipped with its line, "TAG NO smuggled" inside it would
    // be taken as the server's answer to CAPABILITY.
    let port = fake_server(
        "* OK ready\r\n",
        "* 1 XYZZY {16}\r\nTAG NO smuggled\r\n\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nTAG OK done\r\n",
    )
    .await;
    let server = Server {
        plaintext_acknowledged: true,
        ..fake(port, Security::Plaintext)
    };
    match imap::connect(&server, PASSWORD).await {
        // CAPABILITY went through; the fake server never answers the login.
        Err(ImapError::Closed | ImapError::Timeout | ImapError::Io(_)) => {}
        other => panic!(
            "expected the login to wait for the real reply, got {:?}",
            other.err()
        ),
    }
}

/// A scripted server: sends `greeting`, then answers each command line with the next
/// reply (`TAG` replaced by the command's tag).
async fn scripted_server(greeting: &'static str, replies: Vec<&'static str>) -> u16 {
    use tokio::io::AsyncBufReadExt;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let (read, mut write) = socket.into_split();
        let mut lines = tokio::io::BufReader::new(read).lines();
        write.write_all(greeting.as_bytes()).await.unwrap();
        for reply in replies {
            let Ok(Some(line)) = lines.next_line().await else {
                return;
            };
            let tag = line.split(' ').next().unwrap_or("*").to_owned();
            write
                .write_all(reply.replace("TAG", &tag).as_bytes())
                .await
                .unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    });
    port
}

#[tokio::test]
async fn an_unreadable_folder_list_is_never_taken_as_complete() {
    // The extended LIST has a line imap-proto cannot read; the plain LIST then gives
    // the whole list, so no folder is mistaken for deleted.
    let port = scripted_server(
        "* OK ready\r\n",
        vec![
            "* CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR\r\nTAG OK done\r\n",
            "TAG OK [CAPABILITY IMAP4rev1 LIST-EXTENDED SPECIAL-USE] logged in\r\n",
            "* LIST () \"/\" INBOX\r\n* LIST (\\Sent) \"/\" Sent (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\nTAG OK done\r\n",
            "* LIST () \"/\" INBOX\r\n* LIST (\\Sent) \"/\" Sent\r\nTAG OK done\r\n",
            "* LSUB () \"/\" Sent\r\nTAG OK done\r\n",
        ],
    )
    .await;
    let server = Server {
        plaintext_acknowledged: true,
        ..fake(port, Security::Plaintext)
    };
    let mut session = imap::connect(&server, PASSWORD).await.unwrap();
    let folders = session.list().await.unwrap();
    let names: Vec<_> = folders
        .iter()
        .map(|f| (f.name.as_str(), f.subscribed))
        .collect();
    assert_eq!(names, vec![("INBOX", false), ("Sent", true)]);
}

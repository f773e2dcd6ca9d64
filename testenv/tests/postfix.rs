//! Proves the isolated Postfix works: submission over implicit TLS and STARTTLS with
//! SASL through Dovecot, delivery over LMTP into the Dovecot INBOX, refusals (AUTH before
//! TLS, wrong password, outside domains), SMTPUTF8, large messages and clean shutdown.
//!
//! The SMTP client here is a few dozen lines over std's TcpStream and rustls, so every
//! reply code is visible.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use tern_testenv::{Dovecot, Postfix};

const PASSWORD: &str = "s3cret pw";
const QUEUE_TIMEOUT: Duration = Duration::from_secs(20);

/// One Dovecot and its Postfix; fields drop in order, so Postfix stops first.
struct Env {
    postfix: Postfix,
    dovecot: Dovecot,
}

impl Env {
    fn start() -> Env {
        let dovecot = Dovecot::start().expect("start dovecot");
        let postfix = Postfix::start(&dovecot).expect("start postfix");
        Env { postfix, dovecot }
    }

    fn logs(&self) -> String {
        format!(
            "postfix log:\n{}\ndovecot log:\n{}",
            self.postfix.log_tail(),
            self.dovecot.log_tail()
        )
    }

    fn wait_for_empty_queue(&self) {
        self.postfix
            .wait_for_empty_queue(QUEUE_TIMEOUT)
            .unwrap_or_else(|e| panic!("{e}\n{}", self.dovecot.log_tail()));
    }

    /// Every message in `user`'s INBOX, as Dovecot stores it.
    fn inbox(&self, user: &str) -> Vec<Vec<u8>> {
        let path = self
            .dovecot
            .doveadm(&["mailbox", "path", "-u", user, "INBOX"])
            .expect("doveadm mailbox path");
        let mut files = Vec::new();
        for sub in ["new", "cur"] {
            let dir = std::path::Path::new(path.trim()).join(sub);
            // Dovecot creates the Maildir at the first delivery or login.
            let entries = match std::fs::read_dir(&dir) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                entries => entries.expect("read maildir"),
            };
            for entry in entries {
                files.push(entry.expect("maildir entry").path());
            }
        }
        // Maildir names start with the delivery time, so this is arrival order.
        files.sort();
        files
            .iter()
            .map(|f| std::fs::read(f).expect("read message file"))
            .collect()
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// An SMTP reply: the code and the text of each line (without "250-").
#[derive(Debug)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn has_line(&self, prefix: &str) -> bool {
        self.lines.iter().any(|l| l.starts_with(prefix))
    }
}

/// A minimal SMTP client: one command, one reply.
struct Smtp {
    stream: Option<Stream>,
    buf: Vec<u8>,
    cert: Vec<u8>,
}

impl Smtp {
    /// Connects to the submissions port (implicit TLS) and reads the greeting.
    fn submissions(postfix: &Postfix) -> Smtp {
        let tcp =
            TcpStream::connect((postfix.host(), postfix.submissions_port())).expect("connect");
        let mut smtp = Smtp::new(tcp, postfix);
        smtp.start_tls();
        smtp.expect_greeting();
        smtp
    }

    /// Connects to the submission port in plain text and reads the greeting.
    fn submission_plain(postfix: &Postfix) -> Smtp {
        let tcp = TcpStream::connect((postfix.host(), postfix.submission_port())).expect("connect");
        let mut smtp = Smtp::new(tcp, postfix);
        smtp.expect_greeting();
        smtp
    }

    /// Connects to the submission port, EHLO, STARTTLS, and EHLO again.
    fn submission_starttls(postfix: &Postfix) -> (Smtp, Reply) {
        let mut smtp = Smtp::submission_plain(postfix);
        let ehlo = smtp.cmd("EHLO client.tern.test");
        assert_eq!(ehlo.code, 250, "{ehlo:?}");
        assert!(ehlo.has_line("STARTTLS"), "{ehlo:?}");
        let reply = smtp.cmd("STARTTLS");
        assert_eq!(reply.code, 220, "{reply:?}");
        smtp.start_tls();
        let ehlo = smtp.cmd("EHLO client.tern.test");
        assert_eq!(ehlo.code, 250, "{ehlo:?}");
        (smtp, ehlo)
    }

    fn new(tcp: TcpStream, postfix: &Postfix) -> Smtp {
        tcp.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
        Smtp {
            stream: Some(Stream::Plain(tcp)),
            buf: Vec::new(),
            cert: postfix.cert_der().to_vec(),
        }
    }

    /// Wraps the connection in TLS, trusting only the test certificate, for "localhost".
    fn start_tls(&mut self) {
        assert!(self.buf.is_empty(), "bytes after the STARTTLS reply");
        let Some(Stream::Plain(tcp)) = self.stream.take() else {
            panic!("TLS already on");
        };
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from(self.cert.clone()))
            .expect("add test cert as root");
        let config =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("protocol versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
        let name = ServerName::try_from("localhost").expect("server name");
        let mut conn = ClientConnection::new(Arc::new(config), name).expect("tls client");
        let mut tcp = tcp;
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp).expect("TLS handshake");
        }
        self.stream = Some(Stream::Tls(Box::new(StreamOwned::new(conn, tcp))));
    }

    fn stream(&mut self) -> &mut Stream {
        self.stream.as_mut().expect("connected")
    }

    fn expect_greeting(&mut self) {
        let greeting = self.read_reply();
        assert_eq!(greeting.code, 220, "{greeting:?}");
    }

    fn read_line(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                self.buf.drain(..end + 2);
                return Some(line);
            }
            let mut chunk = [0u8; 4096];
            let n = match self.stream().read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => n,
                // rustls reports the peer closing without close_notify this way.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return None,
                Err(e) => panic!("read: {e}"),
            };
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn read_reply(&mut self) -> Reply {
        let mut lines = Vec::new();
        loop {
            let line = self.read_line().expect("connection closed before a reply");
            assert!(line.len() >= 3, "short reply line {line:?}");
            let code = line[..3].parse().expect("reply code");
            let last = line.as_bytes().get(3) != Some(&b'-');
            lines.push(line.get(4..).unwrap_or_default().to_string());
            if last {
                return Reply { code, lines };
            }
        }
    }

    fn cmd(&mut self, line: &str) -> Reply {
        let stream = self.stream();
        stream
            .write_all(format!("{line}\r\n").as_bytes())
            .expect("write command");
        stream.flush().expect("flush");
        self.read_reply()
    }

    fn auth_plain(&mut self, user: &str, password: &str) -> Reply {
        let token = B64.encode(format!("\0{user}\0{password}"));
        self.cmd(&format!("AUTH PLAIN {token}"))
    }

    fn auth_login(&mut self, user: &str, password: &str) -> Reply {
        let reply = self.cmd("AUTH LOGIN");
        assert_eq!(reply.code, 334, "{reply:?}");
        let reply = self.cmd(&B64.encode(user));
        assert_eq!(reply.code, 334, "{reply:?}");
        self.cmd(&B64.encode(password))
    }

    /// Sends the message body after a 354, dot-stuffed, and returns the final reply.
    fn data(&mut self, message: &[u8]) -> Reply {
        let reply = self.cmd("DATA");
        assert_eq!(reply.code, 354, "{reply:?}");
        let mut out = Vec::with_capacity(message.len() + 1024);
        for line in message.split_inclusive(|&b| b == b'\n') {
            if line.starts_with(b".") {
                out.push(b'.');
            }
            out.extend_from_slice(line);
        }
        if !out.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        let stream = self.stream();
        stream.write_all(&out).expect("write message");
        stream.flush().expect("flush");
        self.read_reply()
    }

    /// MAIL, one RCPT and DATA, each expected to succeed.
    fn send(&mut self, mail_from: &str, rcpt: &str, message: &[u8]) {
        let reply = self.cmd(&format!("MAIL FROM:{mail_from}"));
        assert_eq!(reply.code, 250, "MAIL: {reply:?}");
        let reply = self.cmd(&format!("RCPT TO:<{rcpt}>"));
        assert_eq!(reply.code, 250, "RCPT: {reply:?}");
        let reply = self.data(message);
        assert_eq!(reply.code, 250, "DATA: {reply:?}");
    }

    fn quit(mut self) {
        let reply = self.cmd("QUIT");
        assert_eq!(reply.code, 221, "{reply:?}");
    }
}

fn message(from: &str, to: &str, subject: &str, body: &str) -> Vec<u8> {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!(
        "From: Alice <{from}>\r\nTo: Bob <{to}>\r\nSubject: {subject}\r\n\
         Message-ID: <{n}.{}@tern.test>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{body}",
        std::process::id()
    )
    .into_bytes()
}

/// A body that exercises dot-stuffing, 8-bit text and a blank line.
const BODY: &str =
    "Hello Bob,\r\n.a line starting with a dot\r\n..two dots\r\n\r\nGrüße, Ålice ✉\r\n";

/// Removes the trace fields Postfix and Dovecot's LMTP put on top (Return-Path,
/// Delivered-To, Received, with continuation lines) and returns the rest.
fn strip_trace(stored: &[u8]) -> &[u8] {
    let mut rest = stored;
    let mut in_trace = false;
    loop {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let line = &rest[..end];
        let lower = String::from_utf8_lossy(line).to_ascii_lowercase();
        let continuation = line.starts_with(b" ") || line.starts_with(b"\t");
        if (continuation && in_trace)
            || lower.starts_with("return-path:")
            || lower.starts_with("delivered-to:")
            || lower.starts_with("received:")
        {
            in_trace = true;
            rest = &rest[end..];
        } else {
            return rest;
        }
    }
}

/// Dovecot stores Maildir files with LF line ends (IMAP serves them with CRLF again).
fn lf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for (i, &b) in bytes.iter().enumerate() {
        if !(b == b'\r' && bytes.get(i + 1) == Some(&b'\n')) {
            out.push(b);
        }
    }
    out
}

fn assert_delivered_unchanged(env: &Env, user: &str, sent: &[u8]) {
    let inbox = env.inbox(user);
    assert_eq!(inbox.len(), 1, "expected one message\n{}", env.logs());
    let stored = &inbox[0];
    let stored_text = String::from_utf8_lossy(stored);
    assert!(
        stored_text.contains("by localhost (Postfix) with "),
        "no Received header from Postfix:\n{stored_text}"
    );
    let body = strip_trace(stored);
    assert!(
        body == lf(sent).as_slice(),
        "message changed in transit:\nsent:\n{}\nstored:\n{stored_text}",
        String::from_utf8_lossy(sent)
    );
}

#[test]
fn submissions_with_auth_plain_delivers_into_inbox_unchanged() {
    let env = Env::start();
    let alice = env.dovecot.add_user("alice", PASSWORD).expect("add alice");
    let bob = env.dovecot.add_user("bob", PASSWORD).expect("add bob");
    let (from, to) = (env.dovecot.address(&alice), env.dovecot.address(&bob));

    let mut smtp = Smtp::submissions(&env.postfix);
    let ehlo = smtp.cmd("EHLO client.tern.test");
    assert_eq!(ehlo.code, 250, "{ehlo:?}");
    for ext in ["AUTH PLAIN LOGIN", "8BITMIME", "SMTPUTF8", "PIPELINING"] {
        assert!(ehlo.has_line(ext), "missing {ext}: {ehlo:?}");
    }
    let size = format!("SIZE {}", Postfix::MESSAGE_SIZE_LIMIT);
    assert!(ehlo.has_line(&size), "missing {size}: {ehlo:?}");
    assert!(
        !ehlo.has_line("STARTTLS"),
        "STARTTLS offered inside TLS: {ehlo:?}"
    );

    let reply = smtp.auth_plain(&alice, PASSWORD);
    assert_eq!(reply.code, 235, "{reply:?}\n{}", env.logs());
    let sent = message(&from, &to, "implicit-tls", BODY);
    smtp.send(&format!("<{from}> BODY=8BITMIME"), &to, &sent);
    smtp.quit();

    env.wait_for_empty_queue();
    assert_delivered_unchanged(&env, &bob, &sent);
    assert!(env.inbox(&alice).is_empty());
}

#[test]
fn submission_with_starttls_and_auth_login_delivers_into_inbox_unchanged() {
    let env = Env::start();
    let alice = env.dovecot.add_user("alice", PASSWORD).expect("add alice");
    let (from, to) = (env.dovecot.address(&alice), env.dovecot.address(&alice));

    let (mut smtp, ehlo) = Smtp::submission_starttls(&env.postfix);
    assert!(ehlo.has_line("AUTH PLAIN LOGIN"), "{ehlo:?}");
    assert!(!ehlo.has_line("STARTTLS"), "{ehlo:?}");
    let reply = smtp.auth_login(&alice, PASSWORD);
    assert_eq!(reply.code, 235, "{reply:?}\n{}", env.logs());
    // To oneself, as a client saving to Sent by BCC would.
    let sent = message(&from, &to, "starttls", BODY);
    smtp.send(&format!("<{from}>"), &to, &sent);
    smtp.quit();

    env.wait_for_empty_queue();
    assert_delivered_unchanged(&env, &alice, &sent);
}

#[test]
fn nothing_but_starttls_before_tls() {
    let env = Env::start();
    let alice = env.dovecot.add_user("alice", PASSWORD).expect("add alice");
    let to = env.dovecot.address(&alice);

    let mut smtp = Smtp::submission_plain(&env.postfix);
    let ehlo = smtp.cmd("EHLO client.tern.test");
    assert_eq!(ehlo.code, 250, "{ehlo:?}");
    assert!(ehlo.has_line("STARTTLS"), "{ehlo:?}");
    assert!(
        !ehlo.lines.iter().any(|l| l.starts_with("AUTH")),
        "AUTH offered before TLS: {ehlo:?}"
    );
    // Neither AUTH nor mail is accepted before TLS (smtpd_tls_security_level = encrypt,
    // smtpd_tls_auth_only = yes); the password never goes out in the clear.
    let reply = smtp.auth_plain(&alice, PASSWORD);
    assert_eq!(reply.code, 530, "{reply:?}");
    assert_eq!(reply.lines[0], "5.7.0 Must issue a STARTTLS command first");
    let reply = smtp.cmd(&format!("MAIL FROM:<{to}>"));
    assert_eq!(reply.code, 530, "{reply:?}");
    assert!(reply.lines[0].contains("STARTTLS"), "{reply:?}");
    smtp.quit();
}

// Dovecot slows down authentication from an IP after a failure (its auth penalty: 2, 4,
// 8, then 15 s per attempt, for 127.0.0.1 too), so each test makes one failed attempt
// only, after the successful one.
#[test]
fn wrong_password_gets_535_and_no_mail_without_auth() {
    let env = Env::start();
    let alice = env.dovecot.add_user("alice", PASSWORD).expect("add alice");
    let to = env.dovecot.address(&alice);

    let mut smtp = Smtp::submissions(&env.postfix);
    assert_eq!(smtp.cmd("EHLO client.tern.test").code, 250);
    assert_eq!(smtp.auth_plain(&alice, PASSWORD).code, 235);
    smtp.quit();

    let mut smtp = Smtp::submissions(&env.postfix);
    assert_eq!(smtp.cmd("EHLO client.tern.test").code, 250);
    let reply = smtp.auth_plain(&alice, "wrong password");
    assert_eq!(reply.code, 535, "{reply:?}");
    assert!(
        reply.lines[0].starts_with("5.7.8 Error: authentication failed"),
        "{reply:?}"
    );
    // Unauthenticated, even mail to a test user is refused at RCPT.
    let reply = smtp.cmd(&format!("MAIL FROM:<{to}>"));
    assert_eq!(reply.code, 250, "{reply:?}");
    let reply = smtp.cmd(&format!("RCPT TO:<{to}>"));
    assert_eq!(reply.code, 554, "{reply:?}");
    assert!(reply.lines[0].contains("Access denied"), "{reply:?}");
    smtp.quit();
}

#[test]
fn unknown_user_gets_535_over_starttls_and_auth_login() {
    let env = Env::start();
    let (mut smtp, _) = Smtp::submission_starttls(&env.postfix);
    let reply = smtp.auth_login("nobody-here", PASSWORD);
    assert_eq!(reply.code, 535, "{reply:?}");
    assert!(reply.lines[0].starts_with("5.7.8"), "{reply:?}");
    smtp.quit();
}

#[test]
fn outside_domains_are_refused_at_rcpt_and_unknown_users_bounce() {
    let env = Env::start();
    let alice = env.dovecot.add_user("alice", PASSWORD).expect("add alice");
    let from = env.dovecot.address(&alice);

    let mut smtp = Smtp::submissions(&env.postfix);
    assert_eq!(smtp.cmd("EHLO client.tern.test").code, 250);
    assert_eq!(smtp.auth_plain(&alice, PASSWORD).code, 235);
    let reply = smtp.cmd(&format!("MAIL FROM:<{from}>"));
    assert_eq!(reply.code, 250, "{reply:?}");
    for outside in [
        "someone@example.com",
        "someone@localhost",
        "someone",
        "someone@sub.tern.test",
    ] {
        let reply = smtp.cmd(&format!("RCPT TO:<{outside}>"));
        assert_eq!(reply.code, 554, "{outside}: {reply:?}");
        let expected = format!("5.7.1 <{outside}>: Relay access denied");
        assert!(reply.lines[0] == expected, "{outside}: {reply:?}");
    }
    // Postfix counts its own address as local, and there is no local delivery.
    let reply = smtp.cmd("RCPT TO:<someone@[127.0.0.1]>");
    assert_eq!(reply.code, 550, "{reply:?}");
    assert!(
        reply.lines[0].contains("no local delivery in tests"),
        "{reply:?}"
    );
    // With no recipient left, DATA is refused and nothing is queued.
    assert_eq!(smtp.cmd("DATA").code, 554);
    assert_eq!(smtp.cmd("RSET").code, 250);

    // A local part Dovecot does not know is accepted, then bounced back to the sender.
    let ghost = "ghost-nobody@tern.test";
    let sent = message(&from, ghost, "to-a-ghost", BODY);
    smtp.send(&format!("<{from}>"), ghost, &sent);
    smtp.quit();

    env.wait_for_empty_queue();
    let inbox = env.inbox(&alice);
    assert_eq!(inbox.len(), 1, "expected a bounce\n{}", env.logs());
    let bounce = String::from_utf8_lossy(&inbox[0]);
    assert!(
        bounce.contains("From: Mail Delivery System <MAILER-DAEMON@localhost>"),
        "{bounce}"
    );
    assert!(
        bounce.contains("Undelivered Mail Returned to Sender"),
        "{bounce}"
    );
    assert!(bounce.contains(ghost), "{bounce}");

    // Postfix has no SMTP client service, and nothing tried to reach a remote host.
    let master_cf =
        std::fs::read_to_string(env.postfix.config_dir().join("master.cf")).expect("master.cf");
    assert!(
        !master_cf
            .lines()
            .any(|l| l.split_whitespace().last() == Some("smtp"))
    );
    let log = std::fs::read_to_string(env.postfix.log_path()).expect("postfix log");
    assert!(
        log.contains(
            "NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 554 5.7.1 <someone@example.com>"
        ),
        "{log}"
    );
    // Only the ghost's delivery attempt (over LMTP) and the bounce's were made.
    let attempts: Vec<&str> = log.lines().filter(|l| l.contains(" status=")).collect();
    assert_eq!(attempts.len(), 2, "{log}");
    assert!(attempts.iter().all(|l| l.contains("/lmtp[")), "{log}");
}

// Dovecot 2.3's LMTP does not offer SMTPUTF8, so mail that needs it cannot be delivered;
// the test Postfix advertises SMTPUTF8 but refuses such mail during the dialogue rather
// than accept it and bounce it (the bounce, carrying the same UTF-8, would be lost too).
#[test]
fn smtputf8_is_advertised_but_utf8_mail_is_refused_during_the_dialogue() {
    let env = Env::start();
    let alice = env.dovecot.add_user("alice", PASSWORD).expect("add alice");
    let bob = env.dovecot.add_user("bob", PASSWORD).expect("add bob");
    let (from, to) = (env.dovecot.address(&alice), env.dovecot.address(&bob));

    let mut smtp = Smtp::submissions(&env.postfix);
    let ehlo = smtp.cmd("EHLO client.tern.test");
    assert!(ehlo.has_line("SMTPUTF8"), "{ehlo:?}");
    assert_eq!(smtp.auth_plain(&alice, PASSWORD).code, 235);

    // ASCII envelope and RFC 2047 headers are delivered, SMTPUTF8 parameter or not.
    let encoded = message(&from, &to, "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=", BODY);
    smtp.send(&format!("<{from}> SMTPUTF8 BODY=8BITMIME"), &to, &encoded);

    // A non-ASCII recipient (or sender) is refused at RCPT.
    let reply = smtp.cmd(&format!("MAIL FROM:<{from}> SMTPUTF8"));
    assert_eq!(reply.code, 250, "{reply:?}");
    let reply = smtp.cmd("RCPT TO:<jürgen@tern.test>");
    assert_eq!(reply.code, 553, "{reply:?}");
    assert!(reply.lines[0].starts_with("5.6.7 "), "{reply:?}");
    assert!(reply.lines[0].contains("non-ASCII address"), "{reply:?}");
    assert_eq!(smtp.cmd("RSET").code, 250);
    let reply = smtp.cmd("MAIL FROM:<älice@tern.test> SMTPUTF8");
    assert_eq!(reply.code, 250, "{reply:?}");
    let reply = smtp.cmd(&format!("RCPT TO:<{to}>"));
    assert_eq!(reply.code, 553, "{reply:?}");
    assert!(reply.lines[0].contains("non-ASCII address"), "{reply:?}");
    assert_eq!(smtp.cmd("RSET").code, 250);
    // Without the SMTPUTF8 parameter, likewise.
    let reply = smtp.cmd("MAIL FROM:<älice@tern.test>");
    assert_eq!(reply.code, 250, "{reply:?}");
    let reply = smtp.cmd(&format!("RCPT TO:<{to}>"));
    assert_eq!(reply.code, 553, "{reply:?}");
    assert!(reply.lines[0].contains("non-ASCII address"), "{reply:?}");
    assert_eq!(smtp.cmd("RSET").code, 250);

    // A raw UTF-8 header is refused at the end of DATA, with or without SMTPUTF8.
    for params in [" SMTPUTF8", ""] {
        let raw = message(&from, &to, "Grüße ✉", BODY);
        let reply = smtp.cmd(&format!("MAIL FROM:<{from}>{params}"));
        assert_eq!(reply.code, 250, "{reply:?}");
        let reply = smtp.cmd(&format!("RCPT TO:<{to}>"));
        assert_eq!(reply.code, 250, "{reply:?}");
        let reply = smtp.data(&raw);
        assert_eq!(reply.code, 550, "{params:?}: {reply:?}");
        assert!(reply.lines[0].starts_with("5.6.7 "), "{reply:?}");
        assert!(reply.lines[0].contains("non-ASCII header"), "{reply:?}");
    }
    smtp.quit();

    env.wait_for_empty_queue();
    assert_delivered_unchanged(&env, &bob, &encoded);
    assert!(env.inbox(&alice).is_empty(), "no bounces expected");
}

#[test]
fn twelve_megabyte_message_is_accepted_and_oversize_refused() {
    let env = Env::start();
    let alice = env.dovecot.add_user("alice", PASSWORD).expect("add alice");
    let from = env.dovecot.address(&alice);

    // About 12 MB of base64-like lines, as a big attachment would be.
    let line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n";
    let body = line.repeat(12 * 1024 * 1024 / line.len());
    let sent = message(&from, &from, "big", &body);
    assert!(sent.len() > 12_000_000);

    let mut smtp = Smtp::submissions(&env.postfix);
    assert_eq!(smtp.cmd("EHLO client.tern.test").code, 250);
    assert_eq!(smtp.auth_plain(&alice, PASSWORD).code, 235);
    // A declared size above the limit is refused up front.
    let too_big = Postfix::MESSAGE_SIZE_LIMIT + 1;
    let reply = smtp.cmd(&format!("MAIL FROM:<{from}> SIZE={too_big}"));
    assert_eq!(reply.code, 552, "{reply:?}");
    let started = Instant::now();
    smtp.send(&format!("<{from}> SIZE={}", sent.len()), &from, &sent);
    smtp.quit();
    env.wait_for_empty_queue();
    eprintln!("12 MB submitted and delivered in {:?}", started.elapsed());

    assert_delivered_unchanged(&env, &alice, &sent);
}

#[test]
fn parallel_instances_and_drop_cleans_up() {
    let a = Env::start();
    let b = Env::start();
    assert_ne!(a.postfix.submission_port(), b.postfix.submission_port());
    assert_eq!(a.postfix.host(), "127.0.0.1");
    assert_eq!(
        a.postfix.cert_sha256_hex(),
        a.dovecot.cert_sha256_hex(),
        "Postfix serves Dovecot's certificate"
    );
    let dir = a.postfix.dir().to_path_buf();
    let ports = [a.postfix.submission_port(), a.postfix.submissions_port()];
    for env in [&a, &b] {
        let mut smtp = Smtp::submissions(&env.postfix);
        assert_eq!(smtp.cmd("EHLO client.tern.test").code, 250);
        smtp.quit();
    }
    drop(a);
    assert!(!dir.exists(), "temp dir left behind");
    for port in ports {
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port {port} still open"
        );
    }
    // The other instance is untouched.
    let mut smtp = Smtp::submissions(&b.postfix);
    assert_eq!(smtp.cmd("EHLO client.tern.test").code, 250);
    smtp.quit();
}

//! SMTP submission (RFC 6409 over RFC 5321): handing one outgoing message to the
//! account's server, and "Test connection".
//!
//! The outbox calls [`submit`] for a message it has already stored durably. The error
//! tells it what to do next: [`SmtpError::is_transient`] means certainly not sent and
//! worth retrying, [`SmtpError::is_permanent`] means the user must change something,
//! and [`SmtpError::MaybeSent`] is neither: the connection was lost after the whole
//! message (final dot included) was written and before the server's reply, the one
//! case SMTP cannot settle. Retrying it could send the message twice, so the outbox
//! asks the user. To survive a crash at that point too, the outbox records "may have
//! been sent" in a step [`submit`] runs between the body and its final dot.
//!
//! Security as for IMAP and POP3 (DESIGN.md section 5): implicit TLS or required
//! STARTTLS, certificates through [`crate::tls`] (pins, `Untrusted` with the
//! fingerprint), plaintext only with the user's recorded consent. After STARTTLS's
//! go-ahead, bytes already received are an injection and end the connection; the
//! capabilities from before TLS are never used. AUTH only ever happens on a secured
//! connection or on a plaintext one the user consented to.
//!
//! lettre 0.11 writes our commands (EHLO, MAIL with SIZE/BODY/SMTPUTF8, RCPT, AUTH
//! PLAIN and LOGIN), checks addresses (`lettre::Address`), and the test suite checks
//! our behaviour against a real Postfix. The connection itself is ours (`connection`,
//! in the style of [`crate::pop3`]), because lettre's `AsyncSmtpConnection`:
//! - waits for a greeting after we hand it a stream we upgraded with our own STARTTLS
//!   (there is none after STARTTLS), and its own `starttls` needs a lettre TLS backend
//!   and keeps whatever its read buffer already held: the injection we must refuse;
//! - stops at the first refused RCPT instead of collecting every refusal;
//! - reports a failed write of the message and a missing reply to the final dot alike,
//!   so "certainly not sent" could not be told from "may have been sent", and writes
//!   the final dot itself, leaving no place for the outbox's step before it;
//! - has no timeout on reads (only on connecting);
//! - stuffs dots only after CRLF (so a bare-LF "." line passes unstuffed) and always
//!   sends "\r\n.\r\n", adding a blank line to a message that ends in CRLF;
//! - and its EHLO parser panics on a whitespace-only capability line.
//!
//! Our data encoding is in `data`: CRLF line ends, doubled leading dots.
//!
//! "Written" means handed to the operating system. A connection lost after that is
//! reported as [`SmtpError::MaybeSent`] even if the last bytes never left the machine:
//! when in doubt, the user decides, rather than risk a duplicate.

mod connection;
mod data;
mod session;

use crate::account::{Security, Server};
use crate::tls::TlsError;
use session::{Envelope, Session};
use std::time::Duration;

/// One message to submit: the envelope and the exact bytes (no Bcc header).
#[derive(Clone, Copy, Debug)]
pub struct Submission<'a> {
    /// The envelope sender (MAIL FROM), a bare address.
    pub from: &'a str,
    /// Every envelope recipient (RCPT TO): To, Cc and Bcc, bare addresses.
    pub recipients: &'a [String],
    /// The RFC 5322 message.
    pub bytes: &'a [u8],
    /// The message needs SMTPUTF8 (RFC 6531): UTF-8 in its header fields or addresses.
    pub smtputf8: bool,
}

/// The server took responsibility for the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The server's reply to the final dot, e.g. "2.0.0 Ok: queued as 4Xyz".
    pub reply: String,
}

/// A recipient the server refused at RCPT TO, with its reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedRecipient {
    pub address: String,
    pub code: u16,
    pub reply: String,
}

impl std::fmt::Display for RefusedRecipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} {}", self.address, self.code, self.reply)
    }
}

/// Where in the conversation something happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Connect,
    Greeting,
    Ehlo,
    StartTls,
    Auth,
    MailFrom,
    RcptTo,
    Data,
    /// Writing the message itself, up to and including the final dot.
    Message,
    /// The server's verdict on the whole message, after the final dot.
    FinalDot,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Connect => "the connection set-up",
            Stage::Greeting => "the greeting",
            Stage::Ehlo => "EHLO",
            Stage::StartTls => "STARTTLS",
            Stage::Auth => "login",
            Stage::MailFrom => "MAIL FROM",
            Stage::RcptTo => "RCPT TO",
            Stage::Data => "DATA",
            Stage::Message => "the upload of the message",
            Stage::FinalDot => "the message",
        })
    }
}

/// What went wrong submitting a message. Each case is one the user or the outbox can
/// act on; server replies are kept word for word.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SmtpError {
    #[error("host not found: {0}")]
    HostNotFound(String),
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("the server sent data ahead of the TLS handshake; connection dropped")]
    StarttlsInjection,
    #[error("the server does not offer STARTTLS, and TLS is required ({reply})")]
    NoStarttls { reply: String },
    #[error("plaintext connections need the user's explicit consent")]
    PlaintextNotAllowed,
    #[error("the server refused the login: {code} {reply}")]
    AuthFailed { code: u16, reply: String },
    #[error("the server offers no login method Tern supports (PLAIN or LOGIN)")]
    NoAuthMechanism,
    #[error("the login name or password contains a line break or NUL")]
    InvalidCredentials,
    #[error("{address:?} cannot be used as an address: {reason}")]
    InvalidAddress { address: String, reason: String },
    #[error("the message has no recipients")]
    NoRecipients,
    #[error(
        "the message needs SMTPUTF8 (non-ASCII addresses or headers), which the server does not offer"
    )]
    SmtpUtf8Unsupported,
    #[error("the message has 8-bit content and the server does not offer 8BITMIME")]
    EightBitUnsupported,
    #[error("the server refused {}", list(.0))]
    RecipientsRefused(Vec<RefusedRecipient>),
    #[error("the server refused {stage}: {code} {reply}")]
    Rejected {
        stage: Stage,
        code: u16,
        reply: String,
    },
    /// The whole message, final dot included, was written, and then no reply came: the
    /// server may or may not have queued it.
    #[error(
        "the connection was lost after the whole message was sent, before the server confirmed it ({detail}); it may have been sent"
    )]
    MaybeSent { detail: String },
    /// The connection was lost (or went silent) before the final dot was written: the
    /// message was certainly not sent.
    #[error("the connection was lost during {stage}: {detail}")]
    Dropped { stage: Stage, detail: String },
    #[error("the server does not speak SMTP as expected: {detail}")]
    Protocol { detail: String },
    #[error("the message is larger than the server accepts ({limit} bytes)")]
    TooBig { limit: u64 },
    /// The caller's `before_final_dot` step failed, so the final dot was never sent and
    /// the server dropped the message.
    #[error("sending was stopped before the end of the message ({reason}); it was not sent")]
    Cancelled { reason: String },
}

fn list(refused: &[RefusedRecipient]) -> String {
    let all: Vec<String> = refused.iter().map(ToString::to_string).collect();
    all.join("; ")
}

impl From<crate::net::TcpError> for SmtpError {
    fn from(e: crate::net::TcpError) -> Self {
        match e {
            crate::net::TcpError::HostNotFound(m) => SmtpError::HostNotFound(m),
            crate::net::TcpError::Unreachable(m) => SmtpError::Unreachable(m),
        }
    }
}

impl SmtpError {
    /// Certainly not sent, and a later attempt may succeed without anyone changing
    /// anything (network, a busy server, a 4xx reply).
    pub fn is_transient(&self) -> bool {
        match self {
            SmtpError::HostNotFound(_)
            | SmtpError::Unreachable(_)
            | SmtpError::Tls(TlsError::Handshake(_))
            | SmtpError::Dropped { .. }
            | SmtpError::Cancelled { .. } => true,
            SmtpError::AuthFailed { code, .. } | SmtpError::Rejected { code, .. } => {
                (400..500).contains(code)
            }
            SmtpError::RecipientsRefused(refused) => {
                refused.iter().all(|r| (400..500).contains(&r.code))
            }
            _ => false,
        }
    }

    /// Certainly not sent, and retrying as is will not help: the user must act (fix an
    /// address, the password, the settings, or shrink the message).
    pub fn is_permanent(&self) -> bool {
        !self.is_transient() && !matches!(self, SmtpError::MaybeSent { .. })
    }
}

/// How long each step may take. The defaults follow RFC 5321 4.5.3.2 where it is
/// reasonable for a desktop client; tests shorten them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Connecting, TLS, greeting, STARTTLS and EHLO together.
    pub connect: Duration,
    /// The reply to each command.
    pub command: Duration,
    /// Each 64 KiB block of the message: a slow upload is fine, a stalled one is not.
    pub data_block: Duration,
    /// The reply to the final dot, while the server checks and queues the message.
    pub final_reply: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(30),
            command: Duration::from_secs(120),
            data_block: Duration::from_secs(180),
            final_reply: Duration::from_secs(600),
        }
    }
}

/// Submits one message: connect, secure, log in, MAIL, every RCPT, DATA, QUIT.
///
/// If any recipient is refused, nothing is sent (RSET) and every refusal comes back in
/// [`SmtpError::RecipientsRefused`]. Addresses and credentials are checked before any
/// network traffic.
///
/// `before_final_dot` runs once the whole message but its final ".\r\n" has been
/// written: the outbox records there, durably, that from now on the message may have
/// been sent. If it fails, the dot is never sent, the connection is dropped (so the
/// server discards the transaction) and [`SmtpError::Cancelled`] comes back.
pub async fn submit(
    server: &Server,
    password: &str,
    msg: Submission<'_>,
    before_final_dot: impl FnOnce() -> Result<(), String>,
) -> Result<Accepted, SmtpError> {
    submit_with(
        server,
        password,
        msg,
        before_final_dot,
        &Timeouts::default(),
    )
    .await
}

/// [`submit`] with explicit timeouts.
pub async fn submit_with(
    server: &Server,
    password: &str,
    msg: Submission<'_>,
    before_final_dot: impl FnOnce() -> Result<(), String>,
    timeouts: &Timeouts,
) -> Result<Accepted, SmtpError> {
    check_settings(server, password)?;
    let envelope = envelope(&msg)?;
    let encoded = data::encode(msg.bytes);
    let mut session = Session::open(server, timeouts).await?;
    let result = async {
        if !server.login.is_empty() {
            session.login(&server.login, password).await?;
        }
        session.send(&envelope, &encoded, before_final_dot).await
    }
    .await;
    session.quit().await;
    result
}

/// "Test connection": connect, secure, log in and QUIT, reporting what failed.
pub async fn check(server: &Server, password: &str) -> Result<(), SmtpError> {
    check_with(server, password, &Timeouts::default()).await
}

/// [`check`] with explicit timeouts.
pub async fn check_with(
    server: &Server,
    password: &str,
    timeouts: &Timeouts,
) -> Result<(), SmtpError> {
    check_settings(server, password)?;
    let mut session = Session::open(server, timeouts).await?;
    let result = if server.login.is_empty() {
        Ok(())
    } else {
        session.login(&server.login, password).await
    };
    session.quit().await;
    result
}

/// What can be refused before any network traffic.
fn check_settings(server: &Server, password: &str) -> Result<(), SmtpError> {
    if server.security == Security::Plaintext && !server.plaintext_acknowledged {
        return Err(SmtpError::PlaintextNotAllowed);
    }
    // PLAIN separates its fields with NUL, and a line break would end the command.
    if [server.login.as_str(), password]
        .iter()
        .any(|s| s.contains(['\r', '\n', '\0']))
    {
        return Err(SmtpError::InvalidCredentials);
    }
    Ok(())
}

/// Checks every address: no CR, LF, NUL or angle bracket (they would end or break out
/// of the command), and valid as lettre's `Address` sees it.
fn envelope(msg: &Submission<'_>) -> Result<Envelope, SmtpError> {
    if msg.recipients.is_empty() {
        return Err(SmtpError::NoRecipients);
    }
    let from = address(msg.from)?;
    let recipients = msg
        .recipients
        .iter()
        .map(|r| address(r))
        .collect::<Result<Vec<_>, _>>()?;
    let smtputf8 =
        msg.smtputf8 || !msg.from.is_ascii() || msg.recipients.iter().any(|r| !r.is_ascii());
    Ok(Envelope {
        from,
        recipients,
        smtputf8,
    })
}

fn address(text: &str) -> Result<lettre::Address, SmtpError> {
    let invalid = |reason: String| SmtpError::InvalidAddress {
        address: text.to_owned(),
        reason,
    };
    if text.contains(['\r', '\n', '\0', '<', '>']) {
        return Err(invalid(
            "it contains a line break, NUL or angle bracket".into(),
        ));
    }
    text.parse()
        .map_err(|e: lettre::address::AddressError| invalid(e.to_string().to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg<'a>(from: &'a str, to: &'a [String]) -> Submission<'a> {
        Submission {
            from,
            recipients: to,
            bytes: b"x",
            smtputf8: false,
        }
    }

    #[test]
    fn hostile_or_broken_addresses_are_refused_before_connecting() {
        let good = vec!["bob@example.org".to_owned()];
        assert!(envelope(&msg("alice@example.org", &good)).is_ok());
        for bad in [
            "alice@example.org\r\nRCPT TO:<x@y>",
            "alice@example.org>",
            "<alice@example.org",
            "al\0ice@example.org",
            "alice",
            "",
        ] {
            let err = envelope(&msg(bad, &good)).err();
            assert!(
                matches!(&err, Some(SmtpError::InvalidAddress { address, .. }) if address == bad),
                "{bad:?}: {err:?}"
            );
            let to = vec!["bob@example.org".to_owned(), bad.to_owned()];
            assert!(matches!(
                envelope(&msg("alice@example.org", &to)),
                Err(SmtpError::InvalidAddress { .. })
            ));
        }
        assert_eq!(
            envelope(&msg("alice@example.org", &[])).err(),
            Some(SmtpError::NoRecipients)
        );
        let utf8 = vec!["jörg@example.org".to_owned()];
        assert!(envelope(&msg("alice@example.org", &utf8)).is_ok_and(|e| e.smtputf8));
    }

    #[test]
    fn credentials_and_plaintext_consent_are_checked_first() {
        let server = Server {
            login: "alice".into(),
            ..Server::default()
        };
        assert!(check_settings(&server, "pw").is_ok());
        assert_eq!(
            check_settings(&server, "pw\r\nQUIT"),
            Err(SmtpError::InvalidCredentials)
        );
        let plain = Server {
            security: Security::Plaintext,
            ..server.clone()
        };
        assert_eq!(
            check_settings(&plain, "pw"),
            Err(SmtpError::PlaintextNotAllowed)
        );
        let consented = Server {
            plaintext_acknowledged: true,
            ..plain
        };
        assert!(check_settings(&consented, "pw").is_ok());
    }

    #[test]
    fn submitting_can_run_on_any_runtime_thread() {
        fn assert_send<T: Send>(_: &T) {}
        let (server, to) = (Server::default(), Vec::new());
        let store = std::sync::Arc::new(std::sync::Mutex::new(0));
        let future = submit(&server, "", msg("a@b.c", &to), move || {
            *store.lock().map_err(|e| e.to_string())? += 1;
            Ok(())
        });
        assert_send(&future);
        assert_send(&check(&server, ""));
    }

    #[test]
    fn maybe_sent_is_neither_transient_nor_permanent() {
        let maybe = SmtpError::MaybeSent { detail: "x".into() };
        assert!(!maybe.is_transient() && !maybe.is_permanent());
        let dropped = SmtpError::Dropped {
            stage: Stage::Message,
            detail: "x".into(),
        };
        assert!(dropped.is_transient() && !dropped.is_permanent());
        let rejected = |code| SmtpError::Rejected {
            stage: Stage::FinalDot,
            code,
            reply: String::new(),
        };
        assert!(rejected(451).is_transient());
        assert!(rejected(554).is_permanent());
        let refused = |codes: &[u16]| {
            SmtpError::RecipientsRefused(
                codes
                    .iter()
                    .map(|&code| RefusedRecipient {
                        address: "a@b.c".into(),
                        code,
                        reply: String::new(),
                    })
                    .collect(),
            )
        };
        assert!(refused(&[450, 451]).is_transient());
        assert!(refused(&[450, 554]).is_permanent());
    }
}

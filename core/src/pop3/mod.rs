//! POP3 (RFC 1939, CAPA from RFC 2449, STLS from RFC 2595, SASL from RFC 5034):
//! connecting safely, logging in, and the commands a download-and-delete account needs.
//!
//! A small client of our own rather than a crate: the STLS injection check needs the read
//! buffer, and every response must be capped in size and time, which the async POP3
//! crates on crates.io don't offer.
//!
//! Deletion is safe to interrupt: DELE only marks a message, and the server removes the
//! marked messages when it receives QUIT. If the connection drops before
//! [`Pop3Session::quit`] succeeds, the server keeps every message. The sync engine relies
//! on this: it stores a message durably before it sends DELE, and counts nothing as
//! deleted until QUIT has answered +OK.

mod connection;
mod session;

pub use connection::{MAX_LINE, MAX_RESPONSE, READ_TIMEOUT};
pub use session::Pop3Session;

use crate::account::{Security, Server};
use crate::tls::TlsError;
use connection::{Connection, Io, Status};
use std::sync::Arc;
use std::time::Duration;

/// What went wrong talking to a POP3 server. Each case is one the user can act on.
#[derive(Debug, thiserror::Error, Clone)]
pub enum Pop3Error {
    #[error("host not found: {0}")]
    HostNotFound(String),
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    #[error("the server did not answer in time")]
    Timeout,
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("the server refused the login: {0}")]
    AuthFailed(String),
    #[error("the server does not offer STLS, and TLS is required")]
    TlsUnavailable,
    #[error("the server sent data ahead of the TLS handshake; connection dropped")]
    StartTlsInjection,
    #[error("plaintext connections need the user's explicit consent")]
    PlaintextNotAllowed,
    /// The greeting was -ERR: the server does not want us now.
    #[error("the server refused the connection: {0}")]
    Refused(String),
    /// A command got -ERR (no such message, not allowed, ...).
    #[error("the server rejected the command: {0}")]
    Rejected(String),
    #[error("the server sent a malformed response: {0}")]
    Protocol(String),
    #[error("the server sent a response larger than allowed")]
    ResponseTooLarge,
    #[error("the connection was closed")]
    Closed,
    #[error("a name or value contains a line break or NUL and cannot be sent")]
    InvalidString,
    #[error("network error: {0}")]
    Io(Arc<std::io::Error>),
}

impl From<crate::net::TcpError> for Pop3Error {
    fn from(e: crate::net::TcpError) -> Self {
        match e {
            crate::net::TcpError::HostNotFound(m) => Pop3Error::HostNotFound(m),
            crate::net::TcpError::Unreachable(m) => Pop3Error::Unreachable(m),
        }
    }
}

impl Pop3Error {
    fn io(e: std::io::Error) -> Self {
        Pop3Error::Io(Arc::new(e))
    }

    /// Errors that a reconnect may cure (as opposed to wrong settings or a refusal).
    pub fn is_transient(&self) -> bool {
        // As for IMAP: a lookup failure or a cut handshake is the network waking up; a
        // login refused with RFC 3206's [IN-USE] or [SYS/TEMP] is the server, for now.
        match self {
            Pop3Error::AuthFailed(reply) => {
                let reply = reply.to_ascii_uppercase();
                reply.contains("[IN-USE]") || reply.contains("[SYS/TEMP]")
            }
            _ => matches!(
                self,
                Pop3Error::Timeout
                    | Pop3Error::Closed
                    | Pop3Error::Io(_)
                    | Pop3Error::HostNotFound(_)
                    | Pop3Error::Unreachable(_)
                    | Pop3Error::Refused(_)
                    | Pop3Error::Tls(TlsError::Handshake(_))
            ),
        }
    }
}

/// How long connecting (TCP, TLS, greeting and STLS) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// Rejects what would end or split a command line.
fn check_arg(s: &str) -> Result<(), Pop3Error> {
    if s.contains(['\r', '\n', '\0']) {
        Err(Pop3Error::InvalidString)
    } else {
        Ok(())
    }
}

/// Connects, secures the connection as the account requires, and logs in.
pub async fn connect(server: &Server, password: &str) -> Result<Pop3Session, Pop3Error> {
    // Checked before any network traffic, so a bad value never leaves the machine.
    check_arg(&server.login)?;
    check_arg(password)?;
    let conn = tokio::time::timeout(CONNECT_TIMEOUT, open(server))
        .await
        .map_err(|_| Pop3Error::Timeout)??;
    let mut session = Pop3Session::new(conn);
    session.refresh_capabilities().await?;
    session.login(&server.login, password).await?;
    // RFC 2449: capabilities may differ once logged in.
    session.refresh_capabilities().await?;
    Ok(session)
}

/// Opens the connection and reads the greeting, ending on a secured stream.
async fn open(server: &Server) -> Result<Connection<Box<dyn Io>>, Pop3Error> {
    let pinned = server.pinned_cert_sha256.as_deref();
    match server.security {
        Security::ImplicitTls => {
            let tls = crate::tls::connect(crate::net::connect(server).await?, &server.host, pinned)
                .await?;
            let mut conn = Connection::new(Box::new(tls) as Box<dyn Io>);
            greeting(&mut conn).await?;
            Ok(conn)
        }
        Security::StartTls => {
            let mut plain = Connection::new(crate::net::connect(server).await?);
            greeting(&mut plain).await?;
            // These capabilities only decide whether to try STLS; an attacker could have
            // written them, so they are thrown away with the plain connection.
            if let Some(caps) = session::capa(&mut plain).await?
                && !session::has_capability(&caps, "STLS")
            {
                return Err(Pop3Error::TlsUnavailable);
            }
            match plain.command("STLS").await {
                Ok(_) => {}
                Err(Pop3Error::Rejected(_)) => return Err(Pop3Error::TlsUnavailable),
                Err(e) => return Err(e),
            }
            if plain.buffered() > 0 {
                return Err(Pop3Error::StartTlsInjection);
            }
            let tls = crate::tls::connect(plain.into_inner(), &server.host, pinned).await?;
            // No second greeting after STLS (RFC 2595 section 4).
            Ok(Connection::new(Box::new(tls) as Box<dyn Io>))
        }
        Security::Plaintext => {
            if !server.plaintext_acknowledged {
                return Err(Pop3Error::PlaintextNotAllowed);
            }
            let mut conn =
                Connection::new(Box::new(crate::net::connect(server).await?) as Box<dyn Io>);
            greeting(&mut conn).await?;
            Ok(conn)
        }
    }
}

/// Reads the greeting: +OK, or -ERR when the server turns us away.
async fn greeting<S: Io>(conn: &mut Connection<S>) -> Result<(), Pop3Error> {
    match conn.read_status().await? {
        Status::Ok(_) => Ok(()),
        Status::Err(text) => Err(Pop3Error::Refused(text)),
        Status::Continue => Err(Pop3Error::Protocol("unexpected greeting".into())),
    }
}

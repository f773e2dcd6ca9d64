//! IMAP: connecting safely, logging in, and the commands the sync engine needs.
//!
//! Written on imap-proto's parser rather than on async-imap's client: we need control of
//! the read buffer (a size cap, the STARTTLS injection check), QRESYNC's ENABLE and
//! VANISHED, and pipelined FETCHes for a fast first sync, none of which async-imap exposes.

mod connection;
pub mod encode;
mod fetch;
mod session;

pub use connection::{Io, MAX_RESPONSE};
pub use fetch::{FetchedFlags, parse_flags};
pub use session::{ListedFolder, Selected, Session};

use crate::account::{Security, Server};
use crate::tls::TlsError;
use connection::Connection;
use imap_proto::{Response, Status};
use std::sync::Arc;
use std::time::Duration;

/// What went wrong talking to an IMAP server. Each case is one the user can act on.
#[derive(Debug, thiserror::Error, Clone)]
pub enum ImapError {
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
    #[error("the server does not offer STARTTLS, and TLS is required")]
    TlsUnavailable,
    #[error("the server sent data ahead of the TLS handshake; connection dropped")]
    StartTlsInjection,
    #[error("the server logged us in before TLS (PREAUTH); refused")]
    PreauthRefused,
    #[error("plaintext connections need the user's explicit consent")]
    PlaintextNotAllowed,
    #[error("the server refused: {0}")]
    No(String),
    #[error("the server rejected the command: {0}")]
    Bad(String),
    #[error("the server closed the session: {0}")]
    Bye(String),
    #[error("the server sent a malformed response: {0}")]
    Protocol(String),
    #[error("the server sent a response larger than {MAX_RESPONSE} bytes")]
    ResponseTooLarge,
    #[error("the connection was closed")]
    Closed,
    #[error("a name or value contains a line break or NUL and cannot be sent")]
    InvalidString,
    #[error("network error: {0}")]
    Io(Arc<std::io::Error>),
}

impl From<crate::net::TcpError> for ImapError {
    fn from(e: crate::net::TcpError) -> Self {
        match e {
            crate::net::TcpError::HostNotFound(m) => ImapError::HostNotFound(m),
            crate::net::TcpError::Unreachable(m) => ImapError::Unreachable(m),
        }
    }
}

impl ImapError {
    fn io(e: std::io::Error) -> Self {
        ImapError::Io(Arc::new(e))
    }

    /// Errors that a reconnect may cure (as opposed to wrong settings or a refusal).
    pub fn is_transient(&self) -> bool {
        // A lookup failure is usually a machine still waking up or off the network; a
        // handshake cut short is the network too. Certificate problems are not.
        matches!(
            self,
            ImapError::Timeout
                | ImapError::Closed
                | ImapError::Io(_)
                | ImapError::HostNotFound(_)
                | ImapError::Unreachable(_)
                | ImapError::Bye(_)
                | ImapError::Tls(TlsError::Handshake(_))
        )
    }
}

/// How long connecting (TCP, TLS and greeting) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// Connects, secures the connection as the account requires, and logs in.
pub async fn connect(server: &Server, password: &str) -> Result<Session, ImapError> {
    let conn = tokio::time::timeout(CONNECT_TIMEOUT, open(server))
        .await
        .map_err(|_| ImapError::Timeout)??;
    let mut session = Session::new(conn);
    session.refresh_capabilities().await?;
    session.login(&server.login, password).await?;
    session.after_login().await?;
    Ok(session)
}

/// Opens the connection and reads the greeting, ending on a secured stream.
async fn open(server: &Server) -> Result<Connection<Box<dyn Io>>, ImapError> {
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
            if greeting(&mut plain).await? {
                return Err(ImapError::PreauthRefused);
            }
            // Capabilities seen before TLS are never used: an attacker could have written them.
            match plain.run("STARTTLS", |_| {}).await {
                Ok(_) => {}
                Err(ImapError::No(_) | ImapError::Bad(_)) => return Err(ImapError::TlsUnavailable),
                Err(e) => return Err(e),
            }
            if plain.buffered() > 0 {
                return Err(ImapError::StartTlsInjection);
            }
            let tls = crate::tls::connect(plain.into_inner(), &server.host, pinned).await?;
            Ok(Connection::new(Box::new(tls) as Box<dyn Io>))
        }
        Security::Plaintext => {
            if !server.plaintext_acknowledged {
                return Err(ImapError::PlaintextNotAllowed);
            }
            let mut conn =
                Connection::new(Box::new(crate::net::connect(server).await?) as Box<dyn Io>);
            greeting(&mut conn).await?;
            Ok(conn)
        }
    }
}

/// Reads the greeting; true if it was PREAUTH.
async fn greeting<S: Io>(conn: &mut Connection<S>) -> Result<bool, ImapError> {
    loop {
        match conn.read_response().await? {
            Some(Response::Data { status, outcome }) => {
                let text = outcome
                    .information
                    .map(|s| s.into_owned())
                    .unwrap_or_default();
                return match status {
                    Status::Ok => Ok(false),
                    Status::PreAuth => Ok(true),
                    Status::Bye => Err(ImapError::Bye(text)),
                    _ => Err(ImapError::Protocol(format!("unexpected greeting: {text}"))),
                };
            }
            Some(_) => return Err(ImapError::Protocol("unexpected greeting".into())),
            None => continue,
        }
    }
}

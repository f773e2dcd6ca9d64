//! Account setup: server settings guessed from an address ([`guess_servers`]), and "Test
//! connection" ([`test_incoming`], [`test_outgoing`]) with an [`Outcome`] the GUI can put
//! in plain words and act on (ask for the password again, offer to trust a certificate).
//!
//! The tests log in with the same `imap::connect`, `pop3::connect` and `smtp::check` the
//! engine uses, so a setting that passes here is one the engine accepts. A short TCP probe
//! runs first because the protocols' connect errors fold "refused", "unreachable" and "no
//! answer" together, and the user needs to know which it was.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;

use crate::account::{Security, Server};
use crate::imap::{self, ImapError};
use crate::pop3::{self, Pop3Error};
use crate::smtp::{self, SmtpError};
use crate::tls::TlsError;

/// How long a whole test (connect, TLS, greeting, login) may take by default.
pub const TEST_LIMIT: Duration = Duration::from_secs(20);

/// How long one address of the host may take to accept the probe.
const PROBE_PER_ADDRESS: Duration = Duration::from_secs(8);

/// What a server is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    Imap,
    Pop3,
    Smtp,
}

impl Protocol {
    /// Whether this protocol reads mail (IMAP, POP3) rather than sending it.
    pub fn is_incoming(self) -> bool {
        !matches!(self, Protocol::Smtp)
    }
}

/// A server setting worth trying for an address, in the order [`guess_servers`] gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub protocol: Protocol,
    pub server: Server,
}

/// The result of "Test connection". Every case but `Ok` is something the user can act on;
/// texts inside are the server's own words or the system's error, shown as detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Connected, secured and logged in.
    Ok,
    /// The server refused the login name or password.
    WrongPassword { reply: String },
    /// The host name does not resolve.
    HostNotFound { host: String },
    /// Nothing listens on that port (refused), or the host is unreachable.
    PortClosed { detail: String },
    /// The server did not answer in time (often: TLS from the start expected, or not).
    Timeout,
    /// The certificate failed verification; trusting exactly this one for the account
    /// means setting [`Server::pinned_cert_sha256`] to `fingerprint`.
    CertificateNotTrusted { fingerprint: String, reason: String },
    /// The account trusts one certificate and the server now shows another.
    CertificateChanged { pinned: String, presented: String },
    /// The server answered but turned us away for a reason other than the password
    /// (busy, too many connections, no login without encryption, ...).
    ServerRefused { reply: String },
    /// Security is "none" and the user has not agreed to send the password unencrypted.
    PlaintextNotAllowed,
    /// STARTTLS was required and the server does not offer it.
    TlsNotOffered,
    /// The TLS handshake failed for another reason than the certificate (often: the port
    /// expects STARTTLS, not TLS from the start).
    TlsFailed { detail: String },
    /// The server offers no login method Tern speaks.
    NoLoginMethod,
    /// Anything else: the server spoke something unexpected, the connection dropped, a
    /// value cannot be sent. The detail says what.
    Failed { detail: String },
}

impl Outcome {
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok)
    }
}

/// A protocol, its host prefix, and its ports in the order to try them.
type Plan = (Protocol, &'static str, [(u16, Security); 2]);

/// The servers to try for `address`, most likely first: IMAP on imap./mail. port 993
/// (TLS) then 143 (STARTTLS); SMTP on smtp./mail. 465 then 587; POP3 on pop3./mail. 995
/// then 110. The login is the whole address. Empty when the address has no domain.
pub fn guess_servers(address: &str) -> Vec<Candidate> {
    let Some(domain) = domain_of(address) else {
        return Vec::new();
    };
    let login = address.trim().to_owned();
    let mut out = Vec::new();
    let plans: [Plan; 3] = [
        (
            Protocol::Imap,
            "imap",
            [(993, Security::ImplicitTls), (143, Security::StartTls)],
        ),
        (
            Protocol::Smtp,
            "smtp",
            [(465, Security::ImplicitTls), (587, Security::StartTls)],
        ),
        (
            Protocol::Pop3,
            "pop3",
            [(995, Security::ImplicitTls), (110, Security::StartTls)],
        ),
    ];
    for (protocol, prefix, ports) in plans {
        for (port, security) in ports {
            for host in [format!("{prefix}.{domain}"), format!("mail.{domain}")] {
                out.push(Candidate {
                    protocol,
                    server: Server {
                        host,
                        port,
                        security,
                        login: login.clone(),
                        pinned_cert_sha256: None,
                        plaintext_acknowledged: false,
                    },
                });
            }
        }
    }
    out
}

/// The lower-cased domain of an address, if it looks like one (`x@y.z`, no spaces).
fn domain_of(address: &str) -> Option<String> {
    let (local, domain) = address.trim().rsplit_once('@')?;
    let domain = domain.trim_end_matches('.').to_lowercase();
    let plausible = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
    plausible.then_some(domain)
}

/// "Test connection" for a server that reads mail (`protocol` IMAP or POP3; SMTP is
/// tested as [`test_outgoing`] would), within [`TEST_LIMIT`].
pub async fn test_incoming(server: &Server, password: &str, protocol: Protocol) -> Outcome {
    test_within(protocol, server, password, TEST_LIMIT).await
}

/// "Test connection" for the submission server, within [`TEST_LIMIT`].
pub async fn test_outgoing(server: &Server, password: &str) -> Outcome {
    test_within(Protocol::Smtp, server, password, TEST_LIMIT).await
}

/// Tests `server` as a `protocol` server: reachable, secured as configured, and the login
/// accepted. Gives up with [`Outcome::Timeout`] after `limit`.
pub async fn test_within(
    protocol: Protocol,
    server: &Server,
    password: &str,
    limit: Duration,
) -> Outcome {
    // Refused before any traffic, as the protocols themselves would.
    if server.security == Security::Plaintext && !server.plaintext_acknowledged {
        return Outcome::PlaintextNotAllowed;
    }
    tokio::time::timeout(limit, async {
        if let Err(outcome) = probe(server).await {
            return outcome;
        }
        match protocol {
            Protocol::Imap => match imap::connect(server, password).await {
                Ok(session) => {
                    let _ = session.logout().await;
                    Outcome::Ok
                }
                Err(e) => from_imap(e),
            },
            Protocol::Pop3 => match pop3::connect(server, password).await {
                Ok(session) => {
                    let _ = session.quit().await;
                    Outcome::Ok
                }
                Err(e) => from_pop3(e),
            },
            Protocol::Smtp => match smtp::check(server, password).await {
                Ok(()) => Outcome::Ok,
                Err(e) => from_smtp(e),
            },
        }
    })
    .await
    .unwrap_or(Outcome::Timeout)
}

/// Resolves the host and opens (and closes) one TCP connection, telling a missing host, a
/// closed port and a silent one apart.
async fn probe(server: &Server) -> Result<(), Outcome> {
    let host = server.host.trim();
    if host.is_empty() {
        return Err(Outcome::HostNotFound {
            host: String::new(),
        });
    }
    let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((host, server.port)).await {
        Ok(addrs) => addrs.collect(),
        Err(_) => Vec::new(),
    };
    if addrs.is_empty() {
        return Err(Outcome::HostNotFound {
            host: host.to_owned(),
        });
    }
    let mut refused = None;
    for addr in addrs {
        match tokio::time::timeout(PROBE_PER_ADDRESS, TcpStream::connect(addr)).await {
            Ok(Ok(_stream)) => return Ok(()),
            Ok(Err(e)) => refused = Some(format!("{addr}: {e}")),
            Err(_) => {}
        }
    }
    // Some address refused or was unreachable: the port is closed there. Only silence
    // everywhere is a timeout.
    Err(match refused {
        Some(detail) => Outcome::PortClosed { detail },
        None => Outcome::Timeout,
    })
}

fn from_tls(e: TlsError) -> Outcome {
    match e {
        TlsError::Untrusted {
            fingerprint,
            reason,
        } => Outcome::CertificateNotTrusted {
            fingerprint,
            reason,
        },
        TlsError::PinMismatch { pinned, presented } => {
            Outcome::CertificateChanged { pinned, presented }
        }
        TlsError::Handshake(detail) => Outcome::TlsFailed { detail },
        TlsError::BadName(host) => Outcome::HostNotFound { host },
    }
}

/// A refused login whose reply is about something else than the credentials: the server
/// is busy, has too many connections, or wants encryption first. Servers say this with
/// response codes (RFC 5530, RFC 3206) or only in words, so both are looked for.
fn refusal_is_not_about_password(reply: &str) -> bool {
    const MARKERS: &[&str] = &[
        "[in-use]",
        "[sys/",
        "[login-delay]",
        "[limit]",
        "[unavailable]",
        "[privacyrequired]",
        "[contactadmin]",
        "plaintext",
        "non-secure",
        "encrypt",
        "too many",
        "maximum number",
        "try again later",
        "temporar",
        "locked",
        "login method",
    ];
    let reply = reply.to_lowercase();
    MARKERS.iter().any(|m| reply.contains(m))
}

fn login_refused(reply: String) -> Outcome {
    if refusal_is_not_about_password(&reply) {
        Outcome::ServerRefused { reply }
    } else {
        Outcome::WrongPassword { reply }
    }
}

fn from_imap(e: ImapError) -> Outcome {
    match e {
        ImapError::HostNotFound(host) => Outcome::HostNotFound { host },
        ImapError::Unreachable(detail) => Outcome::PortClosed { detail },
        ImapError::Timeout => Outcome::Timeout,
        ImapError::Tls(tls) => from_tls(tls),
        ImapError::AuthFailed(reply) => login_refused(reply),
        ImapError::TlsUnavailable => Outcome::TlsNotOffered,
        ImapError::PlaintextNotAllowed => Outcome::PlaintextNotAllowed,
        ImapError::No(reply) | ImapError::Bad(reply) | ImapError::Bye(reply) => {
            Outcome::ServerRefused { reply }
        }
        other => Outcome::Failed {
            detail: other.to_string(),
        },
    }
}

fn from_pop3(e: Pop3Error) -> Outcome {
    match e {
        Pop3Error::HostNotFound(host) => Outcome::HostNotFound { host },
        Pop3Error::Unreachable(detail) => Outcome::PortClosed { detail },
        Pop3Error::Timeout => Outcome::Timeout,
        Pop3Error::Tls(tls) => from_tls(tls),
        Pop3Error::AuthFailed(reply) => login_refused(reply),
        Pop3Error::TlsUnavailable => Outcome::TlsNotOffered,
        Pop3Error::PlaintextNotAllowed => Outcome::PlaintextNotAllowed,
        Pop3Error::Refused(reply) | Pop3Error::Rejected(reply) => Outcome::ServerRefused { reply },
        other => Outcome::Failed {
            detail: other.to_string(),
        },
    }
}

fn from_smtp(e: SmtpError) -> Outcome {
    match e {
        SmtpError::HostNotFound(host) => Outcome::HostNotFound { host },
        SmtpError::Unreachable(detail) => Outcome::PortClosed { detail },
        SmtpError::Tls(tls) => from_tls(tls),
        SmtpError::NoStarttls { .. } => Outcome::TlsNotOffered,
        SmtpError::PlaintextNotAllowed => Outcome::PlaintextNotAllowed,
        // RFC 4954: 535 is bad credentials; 530/534/538 want encryption or a stronger
        // method, 454 and other 4xx are temporary.
        SmtpError::AuthFailed { code, reply } => {
            let reply = format!("{code} {reply}");
            match code {
                535 => Outcome::WrongPassword { reply },
                500..=599 if ![530, 534, 538].contains(&code) => login_refused(reply),
                _ => Outcome::ServerRefused { reply },
            }
        }
        SmtpError::NoAuthMechanism => Outcome::NoLoginMethod,
        SmtpError::Rejected { code, reply, .. } => Outcome::ServerRefused {
            reply: format!("{code} {reply}"),
        },
        other => Outcome::Failed {
            detail: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_taken_only_from_plausible_addresses() {
        assert_eq!(
            domain_of(" Ann@Example.ORG ").as_deref(),
            Some("example.org")
        );
        assert_eq!(
            domain_of("a@b@mail.example.net").as_deref(),
            Some("mail.example.net")
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.org",
            "ann@localhost",
            "ann@ex ample.org",
        ] {
            assert_eq!(domain_of(bad), None, "{bad:?}");
        }
        assert!(guess_servers("ann").is_empty());
    }

    #[test]
    fn refusals_for_other_reasons_than_the_password_are_told_apart() {
        assert_eq!(
            login_refused("[AUTH] Authentication failed.".into()),
            Outcome::WrongPassword {
                reply: "[AUTH] Authentication failed.".into()
            }
        );
        for reply in [
            "[AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.",
            "[IN-USE] Mailbox locked",
            "Maximum number of connections from user+IP exceeded",
            "[UNAVAILABLE] Temporary authentication failure.",
        ] {
            assert!(
                matches!(login_refused(reply.into()), Outcome::ServerRefused { .. }),
                "{reply}"
            );
        }
        let smtp = |code| {
            from_smtp(SmtpError::AuthFailed {
                code,
                reply: "x".into(),
            })
        };
        assert!(matches!(smtp(535), Outcome::WrongPassword { .. }));
        assert!(matches!(smtp(454), Outcome::ServerRefused { .. }));
        assert!(matches!(smtp(534), Outcome::ServerRefused { .. }));
    }
}

//! An SMTP session: a secured connection, the server's capabilities, login, and one
//! mail transaction.

use super::connection::{Connection, Failure, Io, Reply};
use super::data::{Encoded, FINAL_DOT};
use super::{Accepted, RefusedRecipient, SmtpError, Stage, Timeouts};
use crate::account::{Security, Server};
use base64::Engine as _;
use lettre::Address;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::commands::{Auth, Data, Ehlo, Mail, Quit, Rcpt, Rset, Starttls};
use lettre::transport::smtp::extension::{ClientId, MailBodyParameter, MailParameter};
use std::time::Duration;

/// What the server offers after EHLO (only ever from a secured or consented connection).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Capabilities {
    pub auth_plain: bool,
    pub auth_login: bool,
    pub eight_bit_mime: bool,
    pub smtputf8: bool,
    /// `Some` when the server announced SIZE; `Some(0)` or a bare SIZE means no limit.
    pub size: Option<u64>,
}

impl Capabilities {
    /// Reads the EHLO reply's lines after the first (the server's name). Keywords are
    /// case-insensitive (RFC 5321 2.4); unknown ones are ignored.
    pub fn parse(reply: &Reply) -> Capabilities {
        let mut caps = Capabilities::default();
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            let keyword = keyword.to_ascii_uppercase();
            // "AUTH=PLAIN LOGIN" is the pre-standard form some servers still send.
            let (keyword, first) = match keyword.split_once('=') {
                Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                None => (keyword, None),
            };
            match keyword.as_str() {
                "AUTH" => {
                    for mechanism in first.into_iter().chain(words.map(str::to_owned)) {
                        match mechanism.to_ascii_uppercase().as_str() {
                            "PLAIN" => caps.auth_plain = true,
                            "LOGIN" => caps.auth_login = true,
                            _ => {}
                        }
                    }
                }
                "8BITMIME" => caps.eight_bit_mime = true,
                "SMTPUTF8" => caps.smtputf8 = true,
                "SIZE" => {
                    // A size we cannot read is treated as no limit: the server still
                    // refuses a message that is too big, with its own reply.
                    caps.size = Some(words.next().and_then(|n| n.parse().ok()).unwrap_or(0));
                }
                _ => {}
            }
        }
        caps
    }

    /// The announced limit, if there is one.
    pub fn size_limit(&self) -> Option<u64> {
        self.size.filter(|&n| n > 0)
    }
}

/// The checked envelope: sender and recipients as lettre addresses.
pub struct Envelope {
    pub from: Address,
    pub recipients: Vec<Address>,
    /// The message or an address needs SMTPUTF8 (RFC 6531).
    pub smtputf8: bool,
}

pub struct Session {
    conn: Connection<Box<dyn Io>>,
    caps: Capabilities,
    timeouts: Timeouts,
}

/// A failed read or write before the final dot: nothing was sent.
fn lost(stage: Stage) -> impl Fn(Failure) -> SmtpError {
    move |failure| match failure {
        Failure::Malformed(detail) => SmtpError::Protocol {
            detail: format!("{stage}: {detail}"),
        },
        other => SmtpError::Dropped {
            stage,
            detail: other.to_string(),
        },
    }
}

/// A 4xx/5xx reply where a success was due.
fn rejected(stage: Stage, reply: &Reply) -> SmtpError {
    SmtpError::Rejected {
        stage,
        code: reply.code,
        reply: reply.text(),
    }
}

/// Our EHLO: an address literal, not the machine's name, which is nobody's business.
fn ehlo_line() -> String {
    Ehlo::new(ClientId::default()).to_string()
}

impl Session {
    /// Connects and secures the connection as `server.security` requires, ending after
    /// EHLO on the secured stream. Plaintext consent is checked by the caller.
    pub async fn open(server: &Server, timeouts: &Timeouts) -> Result<Session, SmtpError> {
        let connect = timeouts.connect;
        match tokio::time::timeout(connect, Self::open_inner(server, timeouts)).await {
            Ok(result) => result,
            Err(_) => Err(SmtpError::Dropped {
                stage: Stage::Connect,
                detail: Failure::Timeout(connect).to_string(),
            }),
        }
    }

    async fn open_inner(server: &Server, timeouts: &Timeouts) -> Result<Session, SmtpError> {
        let pinned = server.pinned_cert_sha256.as_deref();
        let t = timeouts.command;
        let conn = match server.security {
            Security::ImplicitTls => {
                let tcp = crate::net::connect(server).await?;
                let tls = crate::tls::connect(tcp, &server.host, pinned).await?;
                let mut conn = Connection::new(Box::new(tls) as Box<dyn Io>);
                greeting(&mut conn, t).await?;
                conn
            }
            Security::StartTls => {
                let mut plain = Connection::new(crate::net::connect(server).await?);
                greeting(&mut plain, t).await?;
                // RFC 3207 wants EHLO before STARTTLS. Its capabilities are not used, not
                // even to decide whether to try STARTTLS: an attacker could have written
                // them, and a missing STARTTLS must fail, never downgrade.
                let reply = plain
                    .command(&ehlo_line(), t)
                    .await
                    .map_err(lost(Stage::Ehlo))?;
                if !reply.is_success() {
                    return Err(rejected(Stage::Ehlo, &reply));
                }
                let reply = plain
                    .command(&Starttls.to_string(), t)
                    .await
                    .map_err(lost(Stage::StartTls))?;
                if reply.code != 220 {
                    return Err(SmtpError::NoStarttls {
                        reply: format!("{} {}", reply.code, reply.text()),
                    });
                }
                // Whatever arrived with the go-ahead was sent before TLS and would be read
                // as if it came over TLS: a command injection.
                if plain.buffered() > 0 {
                    return Err(SmtpError::StarttlsInjection);
                }
                let tls = crate::tls::connect(plain.into_inner(), &server.host, pinned).await?;
                // No second greeting after STARTTLS (RFC 3207 4.2): EHLO comes next.
                Connection::new(Box::new(tls) as Box<dyn Io>)
            }
            Security::Plaintext => {
                let tcp = crate::net::connect(server).await?;
                let mut conn = Connection::new(Box::new(tcp) as Box<dyn Io>);
                greeting(&mut conn, t).await?;
                conn
            }
        };
        let mut session = Session {
            conn,
            caps: Capabilities::default(),
            timeouts: timeouts.clone(),
        };
        session.ehlo().await?;
        Ok(session)
    }

    async fn ehlo(&mut self) -> Result<(), SmtpError> {
        let reply = self
            .conn
            .command(&ehlo_line(), self.timeouts.command)
            .await
            .map_err(lost(Stage::Ehlo))?;
        if !reply.is_success() {
            return Err(rejected(Stage::Ehlo, &reply));
        }
        self.caps = Capabilities::parse(&reply);
        Ok(())
    }

    /// AUTH PLAIN if offered, else AUTH LOGIN (RFC 4954). Only ever called on a secured
    /// connection, or a plaintext one the user consented to.
    pub async fn login(&mut self, login: &str, password: &str) -> Result<(), SmtpError> {
        let mechanism = if self.caps.auth_plain {
            Mechanism::Plain
        } else if self.caps.auth_login {
            Mechanism::Login
        } else {
            return Err(SmtpError::NoAuthMechanism);
        };
        let t = self.timeouts.command;
        let credentials = Credentials::new(login.to_owned(), password.to_owned());
        let first =
            Auth::new(mechanism, credentials.clone(), None).map_err(|e| SmtpError::Protocol {
                detail: format!("AUTH: {e}"),
            })?;
        let mut reply = self
            .conn
            .command(&first.to_string(), t)
            .await
            .map_err(lost(Stage::Auth))?;
        // LOGIN asks for the user name, then the password; PLAIN asks for nothing.
        let mut challenges = 0;
        while reply.code == 334 {
            challenges += 1;
            let answer = (mechanism == Mechanism::Login && challenges <= 2)
                .then(|| challenge_answer(&reply, &credentials))
                .flatten();
            let Some(answer) = answer else {
                // "*" cancels the exchange (RFC 4954 4); the server answers 501.
                let _ = self.conn.command("*\r\n", t).await;
                return Err(SmtpError::Protocol {
                    detail: format!("AUTH: unexpected challenge {}", reply.text()),
                });
            };
            reply = self
                .conn
                .command(&answer, t)
                .await
                .map_err(lost(Stage::Auth))?;
        }
        if reply.is_success() {
            Ok(())
        } else {
            Err(SmtpError::AuthFailed {
                code: reply.code,
                reply: reply.text(),
            })
        }
    }

    /// One mail transaction (RFC 5321 3.3): MAIL, every RCPT, DATA, the message, and
    /// the reply to the final dot.
    pub async fn send(
        &mut self,
        envelope: &Envelope,
        data: &Encoded,
        before_final_dot: impl FnOnce() -> Result<(), String>,
    ) -> Result<Accepted, SmtpError> {
        let t = self.timeouts.command;
        let mut parameters = Vec::new();
        if envelope.smtputf8 {
            if !self.caps.smtputf8 {
                return Err(SmtpError::SmtpUtf8Unsupported);
            }
            parameters.push(MailParameter::SmtpUtfEight);
        }
        if data.eight_bit {
            if !self.caps.eight_bit_mime {
                return Err(SmtpError::EightBitUnsupported);
            }
            parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        if let Some(limit) = self.caps.size_limit()
            && data.size > limit
        {
            return Err(SmtpError::TooBig { limit });
        }
        if self.caps.size.is_some() {
            // RFC 1870: declaring the size lets the server refuse before the upload.
            let size = usize::try_from(data.size).unwrap_or(usize::MAX);
            parameters.push(MailParameter::Size(size));
        }
        let mail = Mail::new(Some(envelope.from.clone()), parameters).to_string();
        let reply = self
            .conn
            .command(&mail, t)
            .await
            .map_err(lost(Stage::MailFrom))?;
        if !reply.is_success() {
            return Err(rejected(Stage::MailFrom, &reply));
        }

        // Every recipient is tried, so the user learns of every bad address at once.
        let mut refused = Vec::new();
        for recipient in &envelope.recipients {
            let rcpt = Rcpt::new(recipient.clone(), Vec::new()).to_string();
            let reply = self
                .conn
                .command(&rcpt, t)
                .await
                .map_err(lost(Stage::RcptTo))?;
            if !reply.is_success() {
                refused.push(RefusedRecipient {
                    address: recipient.to_string(),
                    code: reply.code,
                    reply: reply.text(),
                });
            }
        }
        if !refused.is_empty() {
            // No partial send: the transaction is abandoned, nothing was queued.
            let _ = self.conn.command(&Rset.to_string(), t).await;
            return Err(SmtpError::RecipientsRefused(refused));
        }

        let reply = self
            .conn
            .command(&Data.to_string(), t)
            .await
            .map_err(lost(Stage::Data))?;
        match reply.code {
            354 => {}
            400.. => return Err(rejected(Stage::Data, &reply)),
            _ => {
                return Err(SmtpError::Protocol {
                    detail: format!("DATA: unexpected reply {} {}", reply.code, reply.text()),
                });
            }
        }
        let (body, final_dot) = data
            .wire
            .split_at(data.wire.len().saturating_sub(FINAL_DOT.len()));
        self.conn
            .send_data(body, self.timeouts.data_block)
            .await
            .map_err(lost(Stage::Message))?;
        if let Err(reason) = before_final_dot() {
            // Without its final dot the server discards the message; a dead connection
            // is the only way out of DATA.
            self.conn.abandon();
            return Err(SmtpError::Cancelled { reason });
        }
        self.conn
            .send_data(final_dot, self.timeouts.data_block)
            .await
            .map_err(lost(Stage::Message))?;
        // From here on the server may have the whole message: if its reply does not
        // come, nobody can tell whether it was queued.
        match self.conn.read_reply(self.timeouts.final_reply).await {
            Ok(reply) if reply.is_success() => Ok(Accepted {
                reply: reply.text(),
            }),
            Ok(reply) if reply.code >= 400 => Err(rejected(Stage::FinalDot, &reply)),
            Ok(reply) => Err(SmtpError::MaybeSent {
                detail: format!("unexpected reply {} {}", reply.code, reply.text()),
            }),
            Err(failure) => Err(SmtpError::MaybeSent {
                detail: failure.to_string(),
            }),
        }
    }

    /// QUIT, politely and briefly; the outcome no longer matters.
    pub async fn quit(mut self) {
        if !self.conn.is_broken() {
            let t = self.timeouts.command.min(Duration::from_secs(5));
            let _ = self.conn.command(&Quit.to_string(), t).await;
        }
    }
}

/// Reads the greeting: 220, or the server's refusal.
async fn greeting<S: Io>(conn: &mut Connection<S>, timeout: Duration) -> Result<(), SmtpError> {
    let reply = conn
        .read_reply(timeout)
        .await
        .map_err(lost(Stage::Greeting))?;
    if reply.is_success() {
        Ok(())
    } else {
        Err(rejected(Stage::Greeting, &reply))
    }
}

/// The answer to one AUTH LOGIN challenge ("Username:" or "Password:", base64), as a
/// line, through lettre's LOGIN mechanism. `None` if the challenge is not one of those.
fn challenge_answer(reply: &Reply, credentials: &Credentials) -> Option<String> {
    let encoded = reply.lines.first()?.split_whitespace().next()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let challenge = String::from_utf8(decoded).ok()?;
    Auth::new(Mechanism::Login, credentials.clone(), Some(challenge))
        .ok()
        .map(|auth| auth.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(lines: &[&str]) -> Reply {
        Reply {
            code: 250,
            lines: lines.iter().map(|l| (*l).to_owned()).collect(),
        }
    }

    #[test]
    fn ehlo_keywords_are_read_case_insensitively() {
        let caps = Capabilities::parse(&reply(&[
            "mail.example.org hello",
            "PIPELINING",
            "size 1000",
            "Auth=login",
            "AUTH CRAM-MD5 PLAIN",
            "8bitmime",
            "SMTPUTF8",
            "",
            "   ",
        ]));
        assert_eq!(
            caps,
            Capabilities {
                auth_plain: true,
                auth_login: true,
                eight_bit_mime: true,
                smtputf8: true,
                size: Some(1000),
            }
        );
        assert_eq!(caps.size_limit(), Some(1000));
        // The first line is the server's name, never a capability.
        assert_eq!(
            Capabilities::parse(&reply(&["SMTPUTF8"])),
            Capabilities::default()
        );
        let bare = Capabilities::parse(&reply(&["x", "SIZE"]));
        assert_eq!((bare.size, bare.size_limit()), (Some(0), None));
    }

    #[test]
    fn login_challenges_are_answered_in_base64() {
        let credentials = Credentials::new("alice".into(), "pw".into());
        let challenge = |text: &str| Reply {
            code: 334,
            lines: vec![base64::engine::general_purpose::STANDARD.encode(text)],
        };
        assert_eq!(
            challenge_answer(&challenge("Username:"), &credentials).as_deref(),
            Some("YWxpY2U=\r\n")
        );
        assert_eq!(
            challenge_answer(&challenge("Password:"), &credentials).as_deref(),
            Some("cHc=\r\n")
        );
        assert_eq!(challenge_answer(&challenge("Tell me"), &credentials), None);
    }
}

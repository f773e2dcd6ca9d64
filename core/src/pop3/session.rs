//! A logged-in POP3 session and the commands of the TRANSACTION state.

use super::connection::{Connection, Io, MAX_LINE, MAX_RESPONSE, Status, strip_eol};
use super::{Pop3Error, check_arg};
use base64::Engine as _;
use std::time::Duration;

/// RFC 5034: an AUTH line longer than this must send its initial response separately.
const MAX_AUTH_LINE: usize = 255;

/// A logged-in POP3 session on a secured (or consented plaintext) connection.
///
/// Message numbers are the server's 1-based numbers for this session only; UIDL gives
/// the ids that stay stable across sessions. After any error other than
/// [`Pop3Error::Rejected`] the session is unusable: drop it and connect again.
pub struct Pop3Session {
    conn: Connection<Box<dyn Io>>,
    caps: Vec<String>,
}

impl std::fmt::Debug for Pop3Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pop3Session")
            .field("caps", &self.caps)
            .finish_non_exhaustive()
    }
}

impl Pop3Session {
    pub(super) fn new(conn: Connection<Box<dyn Io>>) -> Self {
        Pop3Session {
            conn,
            caps: Vec::new(),
        }
    }

    /// The CAPA lines as the server sent them (e.g. "TOP", "UIDL", "SASL PLAIN LOGIN");
    /// empty if the server does not support CAPA.
    pub fn capabilities(&self) -> &[String] {
        &self.caps
    }

    /// Whether a CAPA line starts with `name` (case-insensitive, e.g. "UIDL", "TOP").
    pub fn has(&self, name: &str) -> bool {
        has_capability(&self.caps, name)
    }

    /// How long a read or write may wait; [`super::READ_TIMEOUT`] unless changed.
    pub fn set_read_timeout(&mut self, timeout: Duration) {
        self.conn.read_timeout = timeout;
    }

    pub(super) async fn refresh_capabilities(&mut self) -> Result<(), Pop3Error> {
        self.caps = capa(&mut self.conn).await?.unwrap_or_default();
        Ok(())
    }

    /// Logs in with SASL PLAIN when offered, else USER/PASS. Any -ERR is `AuthFailed`.
    pub(super) async fn login(&mut self, user: &str, password: &str) -> Result<(), Pop3Error> {
        check_arg(user)?;
        check_arg(password)?;
        let result = if self.sasl_plain() {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
            let line = format!("AUTH PLAIN {token}");
            if line.len() + 2 <= MAX_AUTH_LINE {
                self.conn.command(&line).await
            } else {
                self.conn.send("AUTH PLAIN").await?;
                match self.conn.read_status().await? {
                    Status::Continue => self.conn.command(&token).await,
                    Status::Err(text) => Err(Pop3Error::Rejected(text)),
                    Status::Ok(_) => Err(Pop3Error::Protocol(
                        "AUTH succeeded without credentials".into(),
                    )),
                }
            }
        } else {
            match self.conn.command(&format!("USER {user}")).await {
                Ok(_) => self.conn.command(&format!("PASS {password}")).await,
                Err(e) => Err(e),
            }
        };
        match result {
            Ok(_) => Ok(()),
            Err(Pop3Error::Rejected(text)) => Err(Pop3Error::AuthFailed(text)),
            Err(e) => Err(e),
        }
    }

    fn sasl_plain(&self) -> bool {
        self.caps.iter().any(|line| {
            let mut words = line.split_whitespace();
            words.next().is_some_and(|w| w.eq_ignore_ascii_case("SASL"))
                && words.any(|w| w.eq_ignore_ascii_case("PLAIN"))
        })
    }

    /// STAT: the number of messages and their total size in octets.
    pub async fn stat(&mut self) -> Result<(u32, u64), Pop3Error> {
        let text = self.conn.command("STAT").await?;
        let mut fields = text.split(' ');
        Ok((number(fields.next(), &text)?, number(fields.next(), &text)?))
    }

    /// LIST: every message's number and size in octets.
    pub async fn list(&mut self) -> Result<Vec<(u32, u64)>, Pop3Error> {
        self.conn.command("LIST").await?;
        let mut out = Vec::new();
        self.conn
            .read_multiline(MAX_RESPONSE, MAX_LINE, |line| {
                let line = listing_line(line)?;
                // RFC 1939 lets servers add more after the size; we ignore it.
                let mut fields = line.split(' ');
                out.push((number(fields.next(), line)?, number(fields.next(), line)?));
                Ok(())
            })
            .await?;
        Ok(out)
    }

    /// UIDL: every message's number and unique id (stable across sessions).
    pub async fn uidl(&mut self) -> Result<Vec<(u32, String)>, Pop3Error> {
        self.conn.command("UIDL").await?;
        let mut out = Vec::new();
        self.conn
            .read_multiline(MAX_RESPONSE, MAX_LINE, |line| {
                let line = listing_line(line)?;
                let bad = || Pop3Error::Protocol(format!("bad UIDL line: {}", escape(line)));
                let (msgno, uid) = line.split_once(' ').ok_or_else(bad)?;
                // RFC 1939: 0x21..0x7E only. The uid keys the local copy, so anything else
                // (spaces, control characters) is refused rather than guessed at.
                if uid.is_empty() || !uid.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
                    return Err(bad());
                }
                out.push((number(Some(msgno), line)?, uid.to_owned()));
                Ok(())
            })
            .await?;
        Ok(out)
    }

    /// TOP: the header and the first `lines` lines of the body of message `msgno`.
    pub async fn top(&mut self, msgno: u32, lines: u32) -> Result<Vec<u8>, Pop3Error> {
        self.conn.command(&format!("TOP {msgno} {lines}")).await?;
        self.read_data().await
    }

    /// RETR: message `msgno` as the server stores it, dot-unstuffed, CRLFs kept.
    ///
    /// POP3 cannot end data mid-line, so a message without a final line ending comes
    /// back with one added by the server.
    pub async fn retr(&mut self, msgno: u32) -> Result<Vec<u8>, Pop3Error> {
        self.conn.command(&format!("RETR {msgno}")).await?;
        self.read_data().await
    }

    async fn read_data(&mut self) -> Result<Vec<u8>, Pop3Error> {
        let mut out = Vec::new();
        self.conn
            .read_multiline(MAX_RESPONSE, MAX_RESPONSE, |data| {
                out.extend_from_slice(data);
                Ok(())
            })
            .await?;
        Ok(out)
    }

    /// DELE: marks message `msgno` for deletion. Nothing is removed until [`Self::quit`]
    /// succeeds; a dropped connection or [`Self::rset`] keeps the message on the server.
    pub async fn dele(&mut self, msgno: u32) -> Result<(), Pop3Error> {
        self.conn.command(&format!("DELE {msgno}")).await.map(drop)
    }

    /// RSET: unmarks every message marked by DELE in this session.
    pub async fn rset(&mut self) -> Result<(), Pop3Error> {
        self.conn.command("RSET").await.map(drop)
    }

    /// NOOP: keeps the connection alive.
    pub async fn noop(&mut self) -> Result<(), Pop3Error> {
        self.conn.command("NOOP").await.map(drop)
    }

    /// QUIT: the server removes the messages marked by DELE, then closes. Only an Ok here
    /// means they are gone; on any error assume they may still be on the server.
    pub async fn quit(mut self) -> Result<(), Pop3Error> {
        self.conn.command("QUIT").await.map(drop)
    }
}

/// CAPA (RFC 2449); `None` if the server does not know the command.
pub(super) async fn capa<S: Io>(
    conn: &mut Connection<S>,
) -> Result<Option<Vec<String>>, Pop3Error> {
    match conn.command("CAPA").await {
        Ok(_) => {}
        Err(Pop3Error::Rejected(_)) => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut caps = Vec::new();
    conn.read_multiline(MAX_LINE, MAX_LINE, |line| {
        let line = String::from_utf8_lossy(strip_eol(line));
        let line = line.trim();
        if !line.is_empty() {
            caps.push(line.to_owned());
        }
        Ok(())
    })
    .await?;
    Ok(Some(caps))
}

/// Whether one of the CAPA lines starts with `name`, case-insensitively.
pub(super) fn has_capability(caps: &[String], name: &str) -> bool {
    caps.iter().any(|line| {
        line.split_whitespace()
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case(name))
    })
}

/// A LIST or UIDL line as text, without its line ending.
fn listing_line(line: &[u8]) -> Result<&str, Pop3Error> {
    let line = strip_eol(line);
    std::str::from_utf8(line)
        .map_err(|_| Pop3Error::Protocol(format!("bad listing line: {}", escape(line))))
}

/// A decimal field; digits only (`str::parse` would also take a sign).
fn number<T: std::str::FromStr>(field: Option<&str>, line: &str) -> Result<T, Pop3Error> {
    field
        .filter(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| Pop3Error::Protocol(format!("expected a number: {}", escape(line))))
}

/// Shows a server line in an error without its control characters, and not too long.
fn escape(line: impl AsRef<[u8]>) -> String {
    line.as_ref()
        .iter()
        .take(200)
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect()
}

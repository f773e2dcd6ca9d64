//! One IMAP connection: tagged commands out, parsed responses in.
//!
//! Responses are parsed with imap-proto (the parser async-imap uses). We own the read
//! buffer so that a single response is capped in size, and so that STARTTLS can check
//! for bytes a server (or an attacker) sent ahead of the TLS handshake.

use super::ImapError;
use imap_proto::{Response, Status};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Anything we can speak IMAP over: a TCP stream, or TLS on top of one.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The largest single response we accept (a whole message body fits; a hostile
/// `{999999999}` literal does not).
pub const MAX_RESPONSE: usize = 128 * 1024 * 1024;
/// How long a read may wait before the connection counts as dead.
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The end of a command: its tagged status and response code, owned.
#[derive(Debug)]
pub struct Done {
    pub status: Status,
    pub code: Option<imap_proto::ResponseCode<'static>>,
    pub text: String,
}

pub struct Connection<S> {
    io: S,
    buf: Vec<u8>,
    /// Start of the unparsed bytes in `buf`.
    start: usize,
    /// Don't try to parse again until `buf` holds this many bytes (a literal's length).
    need: usize,
    next_tag: u32,
    /// Untagged lines skipped as unparseable so far.
    skipped: u64,
    pub read_timeout: Duration,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    pub fn new(io: S) -> Self {
        Connection {
            io,
            buf: Vec::with_capacity(64 * 1024),
            start: 0,
            need: 0,
            next_tag: 1,
            skipped: 0,
            read_timeout: READ_TIMEOUT,
        }
    }

    /// How many untagged lines were skipped as unparseable: a command whose result must
    /// be complete (LIST) checks this did not change.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Bytes received but not yet parsed.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    pub fn into_inner(self) -> S {
        self.io
    }

    /// Reads the next complete response. An untagged line we cannot parse is skipped
    /// (returned as `None`) rather than failing the whole session.
    pub async fn read_response(&mut self) -> Result<Option<Response<'static>>, ImapError> {
        loop {
            if self.buf.len() >= self.need && self.start < self.buf.len() {
                let input = &self.buf[self.start..];
                // imap-proto unwraps in a few places (e.g. INTERNALDATE NIL): a hostile or
                // odd response must not take the account down, so a panic is a parse error.
                let parsed =
                    std::panic::catch_unwind(|| Response::parse(input)).unwrap_or_else(|_| {
                        Err(nom::Err::Failure(nom::error::Error::new(
                            input,
                            nom::error::ErrorKind::Verify,
                        )))
                    });
                match parsed {
                    Ok((rest, response)) => {
                        let consumed = input.len() - rest.len();
                        let response = response.into_owned();
                        self.consume(consumed);
                        return Ok(Some(response));
                    }
                    Err(nom::Err::Incomplete(needed)) => {
                        self.need = match needed {
                            nom::Needed::Size(n) => self.buf.len() + n.get(),
                            nom::Needed::Unknown => self.buf.len() + 1,
                        };
                    }
                    Err(_) => {
                        if let Some(end) = find_crlf(input) {
                            let line = String::from_utf8_lossy(&input[..end]).into_owned();
                            if !line.starts_with('*') && !line.starts_with('+') {
                                return Err(ImapError::Protocol(truncate(&line)));
                            }
                            // A line ending in a literal announcement continues after the
                            // literal's bytes: skip those too, never parse them as responses.
                            match skip_len(input) {
                                Some(n) if n <= input.len() => {
                                    tracing::debug!(
                                        "skipping unparsed response: {}",
                                        truncate(&line)
                                    );
                                    self.consume(n);
                                    self.skipped += 1;
                                    return Ok(None);
                                }
                                Some(n) => {
                                    if n > MAX_RESPONSE {
                                        return Err(ImapError::ResponseTooLarge);
                                    }
                                    self.need = self.start + n;
                                }
                                None => self.need = self.buf.len() + 1,
                            }
                        } else {
                            self.need = self.buf.len() + 1;
                        }
                    }
                }
            }
            self.fill().await?;
        }
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.need = 0;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 1024 * 1024 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }

    async fn fill(&mut self) -> Result<(), ImapError> {
        if self.buffered() > MAX_RESPONSE || self.need.saturating_sub(self.start) > MAX_RESPONSE {
            return Err(ImapError::ResponseTooLarge);
        }
        let want = (self.need.saturating_sub(self.buf.len())).clamp(64 * 1024, 8 * 1024 * 1024);
        self.buf.reserve(want);
        let read = tokio::time::timeout(self.read_timeout, self.io.read_buf(&mut self.buf))
            .await
            .map_err(|_| ImapError::Timeout)?
            .map_err(ImapError::io)?;
        if read == 0 {
            return Err(ImapError::Closed);
        }
        Ok(())
    }

    /// Sends raw bytes (a command line, a literal's contents).
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), ImapError> {
        let io = &mut self.io;
        tokio::time::timeout(self.read_timeout, async {
            io.write_all(bytes).await?;
            io.flush().await
        })
        .await
        .map_err(|_| ImapError::Timeout)?
        .map_err(ImapError::io)
    }

    /// Sends `command` with a fresh tag; returns the tag.
    pub async fn send(&mut self, command: &str) -> Result<String, ImapError> {
        let tag = format!("t{}", self.next_tag);
        self.next_tag += 1;
        let line = format!("{tag} {command}\r\n");
        self.write(line.as_bytes()).await?;
        Ok(tag)
    }

    /// Reads until the tagged reply to `tag`, handing every other response to
    /// `untagged`. NO and BAD become errors.
    pub async fn finish(
        &mut self,
        tag: &str,
        mut untagged: impl FnMut(Response<'static>),
    ) -> Result<Done, ImapError> {
        loop {
            let Some(response) = self.read_response().await? else {
                continue;
            };
            match response {
                Response::Done {
                    tag: t,
                    status,
                    outcome,
                } if t.0 == tag => {
                    let text = outcome
                        .information
                        .map(|s| s.into_owned())
                        .unwrap_or_default();
                    return match status {
                        Status::Ok => Ok(Done {
                            status,
                            code: outcome.code,
                            text,
                        }),
                        Status::No => Err(ImapError::No(text)),
                        _ => Err(ImapError::Bad(text)),
                    };
                }
                Response::Data {
                    status: Status::Bye,
                    outcome,
                } => {
                    let text = outcome
                        .information
                        .map(|s| s.into_owned())
                        .unwrap_or_default();
                    return Err(ImapError::Bye(text));
                }
                other => untagged(other),
            }
        }
    }

    /// Sends a command and waits for its tagged reply.
    pub async fn run(
        &mut self,
        command: &str,
        untagged: impl FnMut(Response<'static>),
    ) -> Result<Done, ImapError> {
        let tag = self.send(command).await?;
        self.finish(&tag, untagged).await
    }
}

/// The length of the unparsed response at the start of `input`: its lines up to the first
/// one that does not end in a `{N}` literal announcement, literals included. None while
/// that end has not arrived yet.
fn skip_len(input: &[u8]) -> Option<usize> {
    let mut pos = 0;
    loop {
        let end = pos + find_crlf(&input[pos..])?;
        let line = &input[pos..end];
        let literal = line
            .strip_suffix(b"}")
            .and_then(|l| {
                l.iter()
                    .rposition(|b| *b == b'{')
                    .map(|open| &l[open + 1..])
            })
            .and_then(|digits| std::str::from_utf8(digits).ok())
            .and_then(|d| d.trim_end_matches('+').parse::<usize>().ok());
        match literal {
            Some(n) => pos = end.checked_add(2)?.checked_add(n)?,
            None => return Some(end + 2),
        }
        if pos > input.len() {
            // Ask for the literal's bytes (the caller compares against the buffer).
            return Some(pos);
        }
    }
}

fn find_crlf(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).position(|w| w == b"\r\n")
}

fn truncate(line: &str) -> String {
    line.chars().take(200).collect()
}

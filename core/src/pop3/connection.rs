//! One POP3 connection: command lines out, status lines and dot-terminated data in.
//!
//! We own the read buffer so that every response is capped in size, so that STLS can
//! check for bytes sent ahead of the TLS handshake, and so that a multi-line response is
//! handed on line by line instead of being buffered whole.

use super::Pop3Error;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Anything we can speak POP3 over: a TCP stream, or TLS on top of one.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The largest message (RETR, TOP) we accept: big mail fits, an endless stream does not.
pub const MAX_RESPONSE: usize = 128 * 1024 * 1024;
/// The longest status line or listing line. RFC 1939 allows 512 octets; servers that
/// overrun it exist, a line that never ends does not.
pub const MAX_LINE: usize = 1024 * 1024;
/// How long a read may wait before the connection counts as dead.
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// A status line, its indicator parsed and its text kept.
#[derive(Debug)]
pub enum Status {
    Ok(String),
    Err(String),
    /// "+ ": a SASL continuation (RFC 5034). PLAIN has no challenge, so its text is
    /// not kept.
    Continue,
}

pub struct Connection<S> {
    io: S,
    buf: Vec<u8>,
    /// Start of the unread bytes in `buf`.
    start: usize,
    /// Bytes of `buf` already searched for a line feed, so a long line is scanned once.
    scanned: usize,
    /// Set once a response was cut short: the next bytes would belong to it, not to the
    /// next command, so the connection must not be used again.
    broken: bool,
    pub read_timeout: Duration,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    pub fn new(io: S) -> Self {
        Connection {
            io,
            buf: Vec::with_capacity(64 * 1024),
            start: 0,
            scanned: 0,
            broken: false,
            read_timeout: READ_TIMEOUT,
        }
    }

    /// Bytes received but not yet read.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    pub fn into_inner(self) -> S {
        self.io
    }

    /// Sends one command line. `line` has no CRLF; callers have checked its arguments.
    pub async fn send(&mut self, line: &str) -> Result<(), Pop3Error> {
        if self.broken {
            return Err(Pop3Error::Closed);
        }
        let mut bytes = Vec::with_capacity(line.len() + 2);
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        let io = &mut self.io;
        let result = tokio::time::timeout(self.read_timeout, async {
            io.write_all(&bytes).await?;
            io.flush().await
        })
        .await;
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(self.fail(Pop3Error::io(e))),
            Err(_) => Err(self.fail(Pop3Error::Timeout)),
        }
    }

    /// Sends a command and reads its status line; -ERR becomes `Rejected`.
    pub async fn command(&mut self, line: &str) -> Result<String, Pop3Error> {
        self.send(line).await?;
        match self.read_status().await? {
            Status::Ok(text) => Ok(text),
            Status::Err(text) => Err(Pop3Error::Rejected(text)),
            Status::Continue => {
                Err(self.fail(Pop3Error::Protocol("unexpected continuation".into())))
            }
        }
    }

    /// Reads one status line: "+OK text", "-ERR text" or "+ text".
    pub async fn read_status(&mut self) -> Result<Status, Pop3Error> {
        let line = self.read_line().await?;
        let line = String::from_utf8_lossy(&line);
        let text = |rest: &str| rest.strip_prefix(' ').unwrap_or(rest).to_owned();
        // The indicator must stand alone: "+OKAY" is not "+OK".
        let status = if let Some(rest) = line.strip_prefix("+OK")
            && (rest.is_empty() || rest.starts_with(' '))
        {
            Status::Ok(text(rest))
        } else if let Some(rest) = line.strip_prefix("-ERR")
            && (rest.is_empty() || rest.starts_with(' '))
        {
            Status::Err(text(rest))
        } else if line == "+" || line.starts_with("+ ") {
            Status::Continue
        } else {
            return Err(self.fail(Pop3Error::Protocol(truncate(&line))));
        };
        Ok(status)
    }

    /// Reads one line of at most [`MAX_LINE`] bytes, without its line ending.
    async fn read_line(&mut self) -> Result<Vec<u8>, Pop3Error> {
        loop {
            if let Some(len) = self.next_line(MAX_LINE)? {
                let line = strip_eol(&self.buf[self.start..self.start + len]).to_vec();
                self.consume(len);
                return Ok(line);
            }
            self.fill().await?;
        }
    }

    /// Reads a multi-line response up to its "." line, handing each line (dot-unstuffed,
    /// line ending kept) to `each`. At most `max_total` bytes of data and `max_line`
    /// per line.
    pub async fn read_multiline(
        &mut self,
        max_total: usize,
        max_line: usize,
        mut each: impl FnMut(&[u8]) -> Result<(), Pop3Error>,
    ) -> Result<(), Pop3Error> {
        let mut total = 0usize;
        loop {
            while let Some(len) = self.next_line(max_line)? {
                let (start, end) = (self.start, self.start + len);
                if strip_eol(&self.buf[start..end]) == b"." {
                    self.consume(len);
                    return Ok(());
                }
                // Byte-stuffing (RFC 1939 section 3): a leading dot was doubled.
                let skip = usize::from(self.buf[start] == b'.');
                total += len - skip;
                if total > max_total {
                    return Err(self.fail(Pop3Error::ResponseTooLarge));
                }
                if let Err(e) = each(&self.buf[start + skip..end]) {
                    return Err(self.fail(e));
                }
                self.consume(len);
            }
            // A partial line counts against the total too, or one endless line could
            // grow the buffer up to `max_line` past it. The slack is for the ".\r\n".
            if total + self.buffered() > max_total.saturating_add(3) {
                return Err(self.fail(Pop3Error::ResponseTooLarge));
            }
            self.fill().await?;
        }
    }

    /// Length (line feed included) of the next complete line, if one is buffered.
    fn next_line(&mut self, max_line: usize) -> Result<Option<usize>, Pop3Error> {
        let from = self.scanned.max(self.start);
        match self.buf[from..].iter().position(|&b| b == b'\n') {
            Some(i) => {
                let len = from + i + 1 - self.start;
                if len > max_line.saturating_add(2) {
                    return Err(self.fail(Pop3Error::ResponseTooLarge));
                }
                Ok(Some(len))
            }
            None => {
                self.scanned = self.buf.len();
                if self.buffered() > max_line.saturating_add(2) {
                    return Err(self.fail(Pop3Error::ResponseTooLarge));
                }
                Ok(None)
            }
        }
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            self.scanned = 0;
        } else if self.start > 1024 * 1024 {
            self.buf.drain(..self.start);
            self.scanned = self.scanned.saturating_sub(self.start);
            self.start = 0;
        }
    }

    async fn fill(&mut self) -> Result<(), Pop3Error> {
        self.buf.reserve(64 * 1024);
        let read = tokio::time::timeout(self.read_timeout, self.io.read_buf(&mut self.buf)).await;
        match read {
            Ok(Ok(0)) => Err(self.fail(Pop3Error::Closed)),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(self.fail(Pop3Error::io(e))),
            Err(_) => Err(self.fail(Pop3Error::Timeout)),
        }
    }

    /// Marks the connection unusable and passes the error on.
    fn fail(&mut self, e: Pop3Error) -> Pop3Error {
        self.broken = true;
        e
    }
}

/// The line without its CRLF (or bare LF, which some servers send).
pub fn strip_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn truncate(line: &str) -> String {
    line.chars().take(200).collect()
}

//! One SMTP connection: command lines out, replies in, and the message data out.
//!
//! We own the read buffer so that every reply is capped in size and time, and so that
//! STARTTLS can check for bytes the server (or an attacker) sent ahead of the handshake.
//! Failures are reported as [`Failure`] and turned into a user-facing error by the
//! caller, which knows whether the final dot had already been written.

use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Anything we can speak SMTP over: a TCP stream, or TLS on top of one.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The longest reply line we accept. RFC 5321 allows 512 octets; servers overrun it,
/// but a line that never ends is an attack or a broken server.
pub const MAX_REPLY_LINE: usize = 8 * 1024;
/// The largest reply (all lines of a multi-line EHLO reply together).
pub const MAX_REPLY: usize = 64 * 1024;
/// How much of the message is handed to the network per write; each block has its own
/// timeout, so a slow but moving upload never times out as a whole.
const DATA_BLOCK: usize = 64 * 1024;

/// A server reply: its three-digit code and its text lines (without the code).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    /// 2xx: the command succeeded.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// The text of every line, joined with spaces (as a user should see it).
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }
}

/// Why a read or write did not complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The server closed the connection.
    Closed,
    /// No progress within the timeout.
    Timeout(Duration),
    /// The operating system reported an error.
    Io(String),
    /// The server sent something that is not an SMTP reply, or too much of it.
    Malformed(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Closed => f.write_str("the server closed the connection"),
            Failure::Timeout(t) => write!(f, "no answer within {} s", t.as_secs_f32()),
            Failure::Io(e) => write!(f, "network error: {e}"),
            Failure::Malformed(m) => write!(f, "malformed reply: {m}"),
        }
    }
}

pub struct Connection<S> {
    io: S,
    buf: Vec<u8>,
    /// Start of the unread bytes in `buf`.
    start: usize,
    /// Set once anything failed: the conversation is out of step, nothing more may be sent.
    broken: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    pub fn new(io: S) -> Self {
        Connection {
            io,
            buf: Vec::with_capacity(4096),
            start: 0,
            broken: false,
        }
    }

    /// Bytes received but not yet read.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    pub fn into_inner(self) -> S {
        self.io
    }

    /// Gives the conversation up: nothing more is sent, not even QUIT.
    pub fn abandon(&mut self) {
        self.broken = true;
    }

    /// Whether a failure left the conversation out of step.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Sends one command line; `line` ends in CRLF and its arguments are checked.
    pub async fn send(&mut self, line: &str, timeout: Duration) -> Result<(), Failure> {
        self.write_all(line.as_bytes(), timeout).await?;
        self.flush(timeout).await
    }

    /// Sends a command and reads its reply.
    pub async fn command(&mut self, line: &str, timeout: Duration) -> Result<Reply, Failure> {
        self.send(line, timeout).await?;
        self.read_reply(timeout).await
    }

    /// Writes (part of) the message data, already dot-stuffed, in blocks of
    /// [`DATA_BLOCK`], each with `block_timeout`, then flushes it. Only `Ok` means all of
    /// `data` was handed to the network.
    pub async fn send_data(&mut self, data: &[u8], block_timeout: Duration) -> Result<(), Failure> {
        for block in data.chunks(DATA_BLOCK) {
            self.write_all(block, block_timeout).await?;
        }
        self.flush(block_timeout).await
    }

    async fn write_all(&mut self, bytes: &[u8], timeout: Duration) -> Result<(), Failure> {
        if self.broken {
            return Err(Failure::Closed);
        }
        match tokio::time::timeout(timeout, self.io.write_all(bytes)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(self.fail(io_failure(&e))),
            Err(_) => Err(self.fail(Failure::Timeout(timeout))),
        }
    }

    async fn flush(&mut self, timeout: Duration) -> Result<(), Failure> {
        match tokio::time::timeout(timeout, self.io.flush()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(self.fail(io_failure(&e))),
            Err(_) => Err(self.fail(Failure::Timeout(timeout))),
        }
    }

    /// Reads one reply, all its lines: "250-first", ..., "250 last" (RFC 5321 4.2).
    /// `timeout` is for the whole reply, so a server trickling bytes cannot stall us.
    pub async fn read_reply(&mut self, timeout: Duration) -> Result<Reply, Failure> {
        if self.broken {
            return Err(Failure::Closed);
        }
        match tokio::time::timeout(timeout, self.read_reply_lines()).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => Err(self.fail(e)),
            Err(_) => Err(self.fail(Failure::Timeout(timeout))),
        }
    }

    async fn read_reply_lines(&mut self) -> Result<Reply, Failure> {
        let mut code = None;
        let mut lines = Vec::new();
        let mut total = 0usize;
        loop {
            let line = self.read_line().await?;
            total += line.len();
            if total > MAX_REPLY {
                return Err(Failure::Malformed("reply too long".into()));
            }
            let (this_code, last, text) = parse_line(&line)?;
            if code.is_some_and(|c| c != this_code) {
                return Err(Failure::Malformed(format!(
                    "reply codes differ between lines: {}",
                    escape(&line)
                )));
            }
            code = Some(this_code);
            lines.push(text);
            if last {
                return Ok(Reply {
                    code: this_code,
                    lines,
                });
            }
        }
    }

    /// Reads one line of at most [`MAX_REPLY_LINE`] bytes, without its line ending.
    async fn read_line(&mut self) -> Result<Vec<u8>, Failure> {
        let mut scanned = self.start;
        loop {
            if let Some(i) = self.buf[scanned..].iter().position(|&b| b == b'\n') {
                let end = scanned + i + 1;
                let line = strip_eol(&self.buf[self.start..end]).to_vec();
                self.consume(end);
                return Ok(line);
            }
            scanned = self.buf.len();
            if self.buffered() > MAX_REPLY_LINE {
                return Err(Failure::Malformed("reply line too long".into()));
            }
            self.fill().await?;
        }
    }

    fn consume(&mut self, end: usize) {
        self.start = end;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
    }

    async fn fill(&mut self) -> Result<(), Failure> {
        self.buf.reserve(4096);
        match self.io.read_buf(&mut self.buf).await {
            Ok(0) => Err(Failure::Closed),
            Ok(_) => Ok(()),
            Err(e) => Err(io_failure(&e)),
        }
    }

    /// Marks the connection unusable and passes the failure on.
    fn fail(&mut self, failure: Failure) -> Failure {
        self.broken = true;
        failure
    }
}

fn io_failure(e: &std::io::Error) -> Failure {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => Failure::Closed,
        _ => Failure::Io(e.to_string()),
    }
}

/// Splits a reply line into its code, whether it is the last line, and its text.
fn parse_line(line: &[u8]) -> Result<(u16, bool, String), Failure> {
    let bad = || Failure::Malformed(escape(line));
    let digits = line.get(..3).ok_or_else(bad)?;
    // RFC 5321 4.2: first digit 2-5, second 0-5, third 0-9.
    let valid = matches!(digits, [b'2'..=b'5', b'0'..=b'5', b'0'..=b'9']);
    if !valid {
        return Err(bad());
    }
    let code = digits
        .iter()
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    let (last, text) = match line.get(3) {
        None => (true, &[][..]),
        Some(b' ') => (true, &line[4..]),
        Some(b'-') => (false, &line[4..]),
        Some(_) => return Err(bad()),
    };
    Ok((code, last, String::from_utf8_lossy(text).into_owned()))
}

/// The line without its CRLF (or bare LF, which some servers send).
fn strip_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Shows a server line in an error without its control characters, and not too long.
pub fn escape(line: &[u8]) -> String {
    line.iter()
        .take(200)
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reply_lines_parse_with_and_without_text() {
        assert_eq!(
            parse_line(b"250-PIPELINING").ok(),
            Some((250, false, "PIPELINING".into()))
        );
        assert_eq!(parse_line(b"250 OK").ok(), Some((250, true, "OK".into())));
        assert_eq!(parse_line(b"250").ok(), Some((250, true, String::new())));
        for bad in [&b"25"[..], b"abc ok", b"250x", b"150 ok", b"260 ok", b""] {
            assert!(parse_line(bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn multi_line_reply_is_read_whole_and_mixed_codes_refused() {
        let (client, mut server) = tokio::io::duplex(1024);
        let mut conn = Connection::new(client);
        server
            .write_all(b"250-first\r\n250-second\r\n250 last\r\n220-a\r\n221 b\r\n")
            .await
            .unwrap();
        let t = Duration::from_secs(5);
        let reply = conn.read_reply(t).await;
        assert_eq!(
            reply,
            Ok(Reply {
                code: 250,
                lines: vec!["first".into(), "second".into(), "last".into()]
            })
        );
        assert!(matches!(
            conn.read_reply(t).await,
            Err(Failure::Malformed(_))
        ));
        assert!(conn.is_broken());
    }

    #[tokio::test]
    async fn silence_close_and_endless_lines_are_failures() {
        let t = Duration::from_millis(50);
        let (client, _server) = tokio::io::duplex(64);
        assert_eq!(
            Connection::new(client).read_reply(t).await,
            Err(Failure::Timeout(t))
        );

        let (client, server) = tokio::io::duplex(64);
        drop(server);
        assert_eq!(
            Connection::new(client)
                .read_reply(Duration::from_secs(5))
                .await,
            Err(Failure::Closed)
        );

        let (client, mut server) = tokio::io::duplex(MAX_REPLY_LINE * 4);
        server
            .write_all(&vec![b'2'; MAX_REPLY_LINE + 10])
            .await
            .unwrap();
        assert!(matches!(
            Connection::new(client)
                .read_reply(Duration::from_secs(5))
                .await,
            Err(Failure::Malformed(_))
        ));
    }
}

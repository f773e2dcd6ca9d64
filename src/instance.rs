//! One Tern per profile. A second launch on a profile that a running Tern has open hands
//! over what it was asked for (bring the window forward, or compose to a `mailto:`) through
//! a Unix socket in the profile folder, and exits: the user gets the window they already
//! have instead of an error. Where there are no Unix sockets (Windows), the second launch
//! says the profile is in use, as before.

use iced::Subscription;
use std::path::{Path, PathBuf};

/// The socket's file name in the profile folder.
#[cfg_attr(not(unix), allow(dead_code))]
const SOCKET: &str = "tern.sock";
/// A request is one short line; anything longer is not from Tern.
const MAX_LINE: usize = 8192;

/// What a second launch asks the running Tern to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Bring the main window forward (open it again if it was closed).
    Show,
    /// Open a composer for this `mailto:` URL.
    MailTo(String),
}

impl Request {
    /// The request as one line; None for a URL that could break the line.
    fn to_line(&self) -> Option<String> {
        let line = match self {
            Request::Show => "show".to_owned(),
            Request::MailTo(url) => url.clone(),
        };
        let clean = line.len() < MAX_LINE && !line.contains(['\r', '\n', '\0']);
        clean.then(|| format!("{line}\n"))
    }

    fn parse(line: &str) -> Option<Request> {
        let line = line.strip_suffix('\n')?;
        if line == "show" {
            Some(Request::Show)
        } else if line.get(..7)?.eq_ignore_ascii_case("mailto:") && !line.contains(['\r', '\0']) {
            Some(Request::MailTo(line.to_owned()))
        } else {
            None
        }
    }
}

/// Gives `request` to a Tern running on the profile at `dir`; true when one took it (this
/// process should then exit).
#[cfg(unix)]
pub fn hand_over(dir: &Path, request: &Request) -> bool {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::time::Duration;
    let Some(line) = request.to_line() else {
        return false;
    };
    // Refused or missing: no Tern there (a socket left by one that crashed refuses).
    let Ok(mut stream) = std::os::unix::net::UnixStream::connect(dir.join(SOCKET)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    if stream.write_all(line.as_bytes()).is_err() {
        return false;
    }
    let mut reply = String::new();
    let read = BufReader::new(stream.take(MAX_LINE as u64)).read_line(&mut reply);
    read.is_ok() && reply == "ok\n"
}

#[cfg(not(unix))]
pub fn hand_over(_dir: &Path, _request: &Request) -> bool {
    false
}

/// The requests of later launches on the profile at `dir`, for as long as the app runs.
pub fn requests(dir: PathBuf) -> Subscription<Request> {
    #[cfg(unix)]
    {
        Subscription::run_with(dir, |dir| listen(dir.clone()))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Subscription::none()
    }
}

/// Listens on the profile's socket and yields each well-formed request (answering "ok" to
/// it). Ends at once if the socket cannot be made; the app then works alone, as before.
#[cfg(unix)]
pub fn listen(dir: PathBuf) -> impl iced::futures::Stream<Item = Request> {
    use iced::futures::SinkExt;
    iced::stream::channel(8, async move |mut output| {
        let listener = match bind(&dir) {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!("a second Tern on this profile cannot reach this one: {e}");
                return;
            }
        };
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            if let Some(request) = answer(stream).await
                && output.send(request).await.is_err()
            {
                return;
            }
        }
    })
}

/// Reads one request from a peer, answers it, and gives it back.
#[cfg(unix)]
async fn answer(stream: tokio::net::UnixStream) -> Option<Request> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let mut reader = BufReader::new(stream.take(MAX_LINE as u64));
    let mut line = String::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        reader.read_line(&mut line),
    );
    read.await.ok()?.ok()?;
    let request = Request::parse(&line)?;
    let mut stream = reader.into_inner().into_inner();
    stream.write_all(b"ok\n").await.ok()?;
    Some(request)
}

/// The profile's socket, owner-only. A socket file nobody answers on is left from a Tern
/// that did not stop cleanly: it is replaced.
#[cfg(unix)]
fn bind(dir: &Path) -> std::io::Result<tokio::net::UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(SOCKET);
    let listener = match tokio::net::UnixListener::bind(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            if std::os::unix::net::UnixStream::connect(&path).is_ok() {
                return Err(e);
            }
            std::fs::remove_file(&path)?;
            tokio::net::UnixListener::bind(&path)?
        }
        other => other?,
    };
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_survive_the_line_and_nothing_else_does() {
        for request in [
            Request::Show,
            Request::MailTo("mailto:ada@example.org?subject=Hi%20there".into()),
            Request::MailTo("MAILTO:bob@example.org".into()),
        ] {
            let line = request.to_line().unwrap();
            assert_eq!(Request::parse(&line), Some(request));
        }
        let injected = Request::MailTo("mailto:a@example.org\nshow".into());
        assert_eq!(injected.to_line(), None);
        assert_eq!(Request::parse("file:///etc/passwd\n"), None);
        assert_eq!(Request::parse("show"), None, "a line must be complete");
        assert_eq!(Request::parse("mailto:a@x.org\0\n"), None);
    }
}

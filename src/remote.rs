//! Remote images of HTML mail, fetched only once the user allowed them (the reader
//! decides; nothing here runs before). Every rule about that traffic is here:
//! - http and https only, for the first address and for every redirect (at most
//!   [`MAX_REDIRECTS`], each checked again);
//! - TLS verified by the OS trust store (rustls with the platform verifier);
//! - no cookies, no Referer, no Accept-Encoding, a User-Agent that says nothing about Tern;
//! - [`TIMEOUT`] to resolve, connect and for each read, [`TOTAL_TIMEOUT`] for one image;
//! - at most [`MAX_IMAGE_BYTES`] per image and [`MAX_MESSAGE_BYTES`] / [`MAX_IMAGES`] per
//!   message;
//! - only bytes that decode as an image count (by decoding them; Content-Type is not
//!   believed).
//!
//! What was fetched stays in memory for the session, keyed by URL, so reopening a message
//! asks nobody again. Loopback and private addresses are allowed (a mail may link to an
//! intranet server; the tests serve from loopback).

use iced::futures::channel::mpsc;
use iced::futures::{Stream, StreamExt, stream};
use iced::widget::image;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;
use ureq::http::{StatusCode, Uri, header};

/// Most remote images one message loads; the rest are reported as not loaded.
pub const MAX_IMAGES: usize = 50;
/// Most bytes of one image.
pub const MAX_IMAGE_BYTES: u64 = 5 * 1024 * 1024;
/// Most bytes of all of one message's remote images together.
pub const MAX_MESSAGE_BYTES: u64 = 20 * 1024 * 1024;
/// Most redirects followed for one image.
pub const MAX_REDIRECTS: usize = 5;
/// Longest wait to resolve, to connect, for the response and for each read.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Longest one request may take in all, so a server that trickles bytes ends too.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(60);
/// Images fetched at the same time for one message.
const WORKERS: usize = 4;
/// What every mail program and browser says; nothing that tells Tern or its version.
const USER_AGENT: &str = "Mozilla/5.0";
/// Bytes of images the session cache keeps; the oldest go first.
const CACHE_BYTES: usize = 256 * 1024 * 1024;

/// One image's outcome.
pub type Fetched = Result<image::Handle, FetchError>;

/// Why a remote image did not load.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("not an http or https address: {0}")]
    NotHttp(String),
    #[error("{url}: the server answered {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: a redirect without a usable Location")]
    BadRedirect { url: String },
    #[error("{url}: more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects { url: String },
    #[error("{url}: larger than {MAX_IMAGE_BYTES} bytes")]
    TooLarge { url: String },
    #[error(
        "{url}: the message's remote images passed {MAX_MESSAGE_BYTES} bytes or {MAX_IMAGES} images"
    )]
    MessageLimit { url: String },
    #[error("{url}: not an image")]
    NotImage { url: String },
    #[error("{url}: the connection is not secure: {reason}")]
    Tls { url: String, reason: String },
    #[error("{url}: {reason}")]
    Network { url: String, reason: String },
}

impl FetchError {
    /// True when asking again this session would get the same answer, so the cache
    /// keeps it (a network failure may pass; a 404 or a web page will not).
    fn lasting(&self) -> bool {
        !matches!(
            self,
            FetchError::Network { .. } | FetchError::Tls { .. } | FetchError::MessageLimit { .. }
        )
    }
}

/// The image at `url` if this session already fetched it (or learned that it cannot).
pub fn cached(url: &str) -> Option<Fetched> {
    lock(cache()).entries.get(url).cloned()
}

/// Fetches a message's remote images off the UI thread, each URL once, and yields each
/// outcome as it comes: at once for what the session cache holds, then as downloads end.
/// Nothing starts until the stream is first polled.
pub fn load(urls: Vec<String>) -> impl Stream<Item = (String, Fetched)> + Send + 'static {
    stream::once(async move { start(urls) }).flatten()
}

fn start(urls: Vec<String>) -> mpsc::UnboundedReceiver<(String, Fetched)> {
    let (tx, rx) = mpsc::unbounded();
    let mut seen = HashSet::new();
    let mut queue = VecDeque::new();
    for url in urls {
        if !seen.insert(url.clone()) {
            continue;
        }
        let answer = if seen.len() > MAX_IMAGES {
            Some(Err(FetchError::MessageLimit { url: url.clone() }))
        } else {
            cached(&url)
        };
        match answer {
            // The receiver is still here: it was made above.
            Some(answer) => drop(tx.unbounded_send((url, answer))),
            None => queue.push_back(url),
        }
    }
    let job = Arc::new(Job {
        queue: Mutex::new(queue),
        budget: Mutex::new(MAX_MESSAGE_BYTES),
    });
    let workers = WORKERS.min(lock(&job.queue).len());
    let mut started = 0;
    for _ in 0..workers {
        let (job, tx) = (Arc::clone(&job), tx.clone());
        let spawned = std::thread::Builder::new()
            .name("remote-images".into())
            .spawn(move || job.work(&tx));
        if spawned.is_ok() {
            started += 1;
        }
    }
    if started == 0 {
        // No thread to fetch with: each image says so rather than waiting forever.
        while let Some(url) = job.next() {
            let reason = "no thread to fetch with".to_string();
            let error = FetchError::Network {
                url: url.clone(),
                reason,
            };
            drop(tx.unbounded_send((url, Err(error))));
        }
    }
    rx
}

/// One message's images still to fetch and the bytes they may still take.
struct Job {
    queue: Mutex<VecDeque<String>>,
    budget: Mutex<u64>,
}

impl Job {
    fn next(&self) -> Option<String> {
        lock(&self.queue).pop_front()
    }

    fn work(&self, tx: &mpsc::UnboundedSender<(String, Fetched)>) {
        while let Some(url) = self.next() {
            let result = self.fetch(&url);
            remember(&url, &result);
            if tx.unbounded_send((url, result)).is_err() {
                // Nobody listens any more (the reader moved on): stop asking servers.
                return;
            }
        }
    }

    /// Fetches one image within what is left of the message's allowance.
    fn fetch(&self, url: &str) -> Fetched {
        let left = *lock(&self.budget);
        let over = || FetchError::MessageLimit {
            url: url.to_string(),
        };
        if left == 0 {
            return Err(over());
        }
        let (handle, size) = match fetch(url, left) {
            Err(FetchError::TooLarge { .. }) if left < MAX_IMAGE_BYTES => return Err(over()),
            other => other?,
        };
        let mut budget = lock(&self.budget);
        if size > *budget {
            *budget = 0;
            return Err(over());
        }
        *budget -= size;
        Ok(handle)
    }
}

/// Fetches the image at `url`, at most `allowance` bytes (and never more than
/// [`MAX_IMAGE_BYTES`]); the image and its size in bytes.
pub fn fetch(url: &str, allowance: u64) -> Result<(image::Handle, u64), FetchError> {
    let limit = allowance.min(MAX_IMAGE_BYTES);
    let mut current = http_url(url)?;
    let mut redirects = 0;
    let response = loop {
        let target = current.to_string();
        let response = agent()
            .get(&target)
            .call()
            .map_err(|e| network_error(&target, e))?;
        let status = response.status();
        if !is_redirect(status) {
            break response;
        }
        if redirects == MAX_REDIRECTS {
            return Err(FetchError::TooManyRedirects {
                url: url.to_string(),
            });
        }
        redirects += 1;
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| FetchError::BadRedirect {
                url: target.clone(),
            })?;
        current = resolve(&current, location)?;
    };
    let target = current.to_string();
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::Status {
            url: target,
            status: status.as_u16(),
        });
    }
    let too_large = || FetchError::TooLarge {
        url: target.clone(),
    };
    let mut body = response.into_body();
    if body.content_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let bytes = body
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => too_large(),
            other => network_error(&target, other),
        })?;
    let size = bytes.len() as u64;
    let handle = image::Handle::from_bytes(bytes);
    // Decoded here, off the UI thread, so a web page or a broken file never reaches it.
    iced::advanced::graphics::image::load(&handle)
        .map_err(|_| FetchError::NotImage { url: target })?;
    Ok((handle, size))
}

fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// `url` parsed, if it is an absolute http or https address with a host.
fn http_url(url: &str) -> Result<Uri, FetchError> {
    let not_http = || FetchError::NotHttp(url.to_string());
    let uri: Uri = url.trim().parse().map_err(|_| not_http())?;
    let scheme_ok = uri
        .scheme_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"));
    if !scheme_ok || uri.host().is_none_or(str::is_empty) {
        return Err(not_http());
    }
    Ok(uri)
}

/// A redirect's `Location` made absolute against the address that gave it, and checked
/// as the first address was.
fn resolve(base: &Uri, location: &str) -> Result<Uri, FetchError> {
    let location = location.trim();
    let scheme = base.scheme_str().unwrap_or("https");
    let authority = base.authority().map_or("", |a| a.as_str());
    let absolute = if has_scheme(location) {
        location.to_string()
    } else if location.starts_with("//") {
        format!("{scheme}:{location}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else if location.starts_with('?') {
        format!("{scheme}://{authority}{}{location}", base.path())
    } else {
        let path = base.path();
        let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
        format!("{scheme}://{authority}{dir}{location}")
    };
    http_url(&absolute)
}

/// True when `s` starts with a URL scheme (`name:`).
fn has_scheme(s: &str) -> bool {
    let Some((scheme, _)) = s.split_once(':') else {
        return false;
    };
    scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

fn network_error(url: &str, error: ureq::Error) -> FetchError {
    let url = url.to_string();
    let https = url
        .get(..6)
        .is_some_and(|s| s.eq_ignore_ascii_case("https:"));
    match error {
        ureq::Error::Tls(reason) => FetchError::Tls {
            url,
            reason: reason.to_string(),
        },
        ureq::Error::Rustls(e) => FetchError::Tls {
            url,
            reason: e.to_string(),
        },
        // rustls reports a failed handshake (an untrusted certificate) as invalid data.
        ureq::Error::Io(e) if https && e.kind() == std::io::ErrorKind::InvalidData => {
            FetchError::Tls {
                url,
                reason: e.to_string(),
            }
        }
        other => FetchError::Network {
            url,
            reason: other.to_string(),
        },
    }
}

/// The one HTTP agent of the session: the rules of the module docs, connections reused.
fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            // Redirects are followed here, one by one, so each target is checked.
            .max_redirects(0)
            .user_agent(USER_AGENT)
            .accept("image/*")
            .accept_encoding("")
            .timeout_resolve(Some(TIMEOUT))
            .timeout_connect(Some(TIMEOUT))
            .timeout_recv_response(Some(TIMEOUT))
            .timeout_per_read(Some(TIMEOUT))
            .timeout_global(Some(TOTAL_TIMEOUT))
            .build()
            .new_agent()
    })
}

/// What this session fetched, by URL, oldest first in `order`.
#[derive(Default)]
struct Cache {
    entries: HashMap<String, Fetched>,
    order: VecDeque<(String, usize)>,
    bytes: usize,
}

fn cache() -> &'static Mutex<Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Keeps an outcome for the session, if it would not change on asking again.
fn remember(url: &str, result: &Fetched) {
    let size = match result {
        Ok(image::Handle::Bytes(_, bytes)) => bytes.len(),
        Ok(_) => 0,
        Err(e) if e.lasting() => 0,
        Err(_) => return,
    };
    let mut cache = lock(cache());
    if cache
        .entries
        .insert(url.to_string(), result.clone())
        .is_some()
    {
        return;
    }
    cache.order.push_back((url.to_string(), size));
    cache.bytes += size;
    while cache.bytes > CACHE_BYTES {
        let Some((old, size)) = cache.order.pop_front() else {
            break;
        };
        cache.entries.remove(&old);
        cache.bytes -= size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    #[test]
    fn only_http_and_https_addresses_are_fetched() {
        assert!(http_url("https://example.org/a.png").is_ok());
        assert!(http_url("HTTP://127.0.0.1:8080/a.png").is_ok());
        for bad in [
            "file:///etc/passwd",
            "ftp://example.org/a.png",
            "data:image/png;base64,AAAA",
            "javascript:alert(1)",
            "/relative.png",
            "https:///no-host",
        ] {
            assert_eq!(
                http_url(bad).err(),
                Some(FetchError::NotHttp(bad.into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn redirect_targets_are_resolved_and_checked_again() {
        let base = uri("https://a.example/img/x.png?s=1");
        let r = |l: &str| resolve(&base, l).map(|u| u.to_string());
        assert_eq!(
            r("https://b.example/y.png"),
            Ok("https://b.example/y.png".into())
        );
        assert_eq!(r("//c.example/z.png"), Ok("https://c.example/z.png".into()));
        assert_eq!(r("/root.png"), Ok("https://a.example/root.png".into()));
        assert_eq!(r("sib.png"), Ok("https://a.example/img/sib.png".into()));
        assert_eq!(r("?s=2"), Ok("https://a.example/img/x.png?s=2".into()));
        assert_eq!(
            r("file:///etc/passwd"),
            Err(FetchError::NotHttp("file:///etc/passwd".into()))
        );
    }

    #[test]
    fn only_lasting_answers_are_cached() {
        let url = "https://cache.example/a.png";
        remember(
            url,
            &Err(FetchError::Network {
                url: url.into(),
                reason: "refused".into(),
            }),
        );
        assert_eq!(cached(url), None);
        let not_image = Err(FetchError::NotImage { url: url.into() });
        remember(url, &not_image);
        assert_eq!(cached(url), Some(not_image));
    }
}

//! Remote images in the reader, against a real HTTP server on loopback that records every
//! request: nothing is asked for before the user allows it (or trusts the sender, when the
//! policy lets trust count), never under the "never" policy; what loads is drawn in place
//! and kept for the session; what cannot load (a web page, an oversize file, a redirect
//! loop, a 404, a redirect to a file) becomes a placeholder and a count, and the per-image
//! and per-message limits hold. TLS is checked against a server with a certificate the OS
//! does not trust (Dovecot's self-signed one).
//!
//! The Simulator runs no tasks, so these tests run the app's tasks themselves, as its
//! runtime would, until none is left.
#![allow(clippy::unwrap_used)]

mod common;

use common::harness::Harness;
use iced::futures::StreamExt;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tern::app;
use tern::remote::{self, FetchError};
use tern::screen::mailbox;
use tern::screen::settings::RemoteContent;
use tern::theme::Choice;
use tern_core::store::{FolderRole, Store};

/// One request the server saw.
#[derive(Clone, Debug)]
struct Request {
    path: String,
    /// Header names lower-case, values as sent.
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A small HTTP/1.1 server on loopback: one connection per request (`Connection: close`),
/// the routes of [`respond`], every request recorded.
struct Server {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || serve(stream, &seen));
            }
        });
        Server { port, requests }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    fn count(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }
}

fn serve(stream: TcpStream, seen: &Mutex<Vec<Request>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = h.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    seen.lock().unwrap().push(Request {
        path: path.clone(),
        headers,
    });
    // A client that stops reading (a body over its limit) is not an error here.
    let _ = respond(stream, &path);
}

fn respond(mut stream: TcpStream, path: &str) -> std::io::Result<()> {
    let ok = |stream: &mut TcpStream, kind: &str, body: &[u8]| {
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
             Set-Cookie: visitor=42; Path=/\r\nConnection: close\r\n\r\n",
            body.len()
        )?;
        stream.write_all(body)
    };
    let redirect = |stream: &mut TcpStream, to: &str| {
        write!(
            stream,
            "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
    };
    match path {
        "/logo.bmp" | "/other.bmp" => ok(&mut stream, "image/bmp", &bmp(120, 60)),
        p if p.starts_with("/small/") => ok(&mut stream, "image/bmp", &bmp(4, 4)),
        // 1200 x 1250 x 3 bytes: 4.5 MB, under the per-image limit.
        p if p.starts_with("/big/") => ok(&mut stream, "image/bmp", &bmp(1200, 1250)),
        // Says it is an image; is a web page.
        "/page.png" => ok(
            &mut stream,
            "image/png",
            b"<html><body>You have been tracked</body></html>",
        ),
        // Over 5 MB, announced.
        "/huge.png" => ok(&mut stream, "image/png", &vec![0u8; 6 * 1024 * 1024]),
        // Over 5 MB, not announced: the body runs until the connection closes.
        "/huge-stream.png" => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n\r\n"
            )?;
            let chunk = vec![0u8; 64 * 1024];
            for _ in 0..100 {
                stream.write_all(&chunk)?;
            }
            Ok(())
        }
        "/loop" => redirect(&mut stream, "/loop"),
        "/redirect" => redirect(&mut stream, "/other.bmp"),
        "/to-file" => redirect(&mut stream, "file:///etc/passwd"),
        _ => write!(
            stream,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    }
}

/// An uncompressed 24-bit BMP: an orange field with a teal band, easy to spot in a
/// snapshot.
fn bmp(width: u32, height: u32) -> Vec<u8> {
    let row = (width * 3 + 3) & !3;
    let size = 54 + row * height;
    let mut out = Vec::with_capacity(size as usize);
    out.extend_from_slice(b"BM");
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&54u32.to_le_bytes());
    out.extend_from_slice(&40u32.to_le_bytes());
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&24u16.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(row * height).to_le_bytes());
    out.extend_from_slice(&2835u32.to_le_bytes());
    out.extend_from_slice(&2835u32.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    for y in 0..height {
        for _ in 0..width {
            // Blue, green, red.
            let pixel = if y >= height / 3 && y < height * 2 / 3 {
                [0x99, 0x88, 0x00]
            } else {
                [0x20, 0x80, 0xf0]
            };
            out.extend_from_slice(&pixel);
        }
        out.extend(std::iter::repeat_n(0, (row - width * 3) as usize));
    }
    out
}

/// An HTML mail from `from` whose body holds `html`.
fn html_mail(from: &str, subject: &str, html: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: Alice <alice@example.org>\r\nSubject: {subject}\r\n\
         Date: Sun, 30 Jun 2024 10:00:00 +0000\r\nMessage-ID: <{}@remote.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n",
        subject.replace(' ', "-")
    )
    .into_bytes()
}

const NEWS: &str = "Remote news";
const NEWS_FROM: &str = "news@remote.example";
const BROKEN: &str = "Broken pictures";

/// The app over a profile whose Inbox holds, besides a few corpus messages, a newsletter
/// with one remote image and a mail whose remote images all go wrong but one.
fn harness(server: &Server) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let profile = common::profile(&dir.path().join("profile"), 2, false);
    let news = html_mail(
        &format!("Remote News <{NEWS_FROM}>"),
        NEWS,
        &format!(
            "<h1>This week</h1><p>Our new logo:</p>\
             <p><img src=\"{}\" alt=\"The new logo\" width=\"120\" height=\"60\"></p>\
             <p>See you next week.</p>",
            server.url("/logo.bmp")
        ),
    );
    let broken = html_mail(
        "Mallory <mallory@remote.example>",
        BROKEN,
        &format!(
            "<p>Pictures that go wrong:</p>\
             <img src=\"{}\" alt=\"Sales chart\"><img src=\"{}\"><img src=\"{}\">\
             <img src=\"{}\"><img src=\"{}\" alt=\"Team photo\"><img src=\"{}\">\
             <p>And one that arrives after a redirect:</p><img src=\"{}\">",
            server.url("/page.png"),
            server.url("/huge.png"),
            server.url("/huge-stream.png"),
            server.url("/loop"),
            server.url("/missing.png"),
            server.url("/to-file"),
            server.url("/redirect"),
        ),
    );
    let mut store = Store::open(&profile.store_path()).unwrap();
    let inbox = store
        .folder_by_role(common::ACCOUNT, FolderRole::Inbox)
        .unwrap()
        .unwrap()
        .id;
    common::fill(&mut store, inbox, &[news, broken], 100);
    drop(store);
    Harness::open(profile, dir)
}

/// Sends `message` and runs its task, and the tasks of what that produces, to the end.
fn drive(h: &mut Harness, rt: &tokio::runtime::Runtime, message: app::Message) {
    let mut queue = VecDeque::from([message]);
    let mut steps = 0;
    while let Some(message) = queue.pop_front() {
        steps += 1;
        assert!(steps < 1000, "the app's tasks never end");
        let task = h.update(message);
        queue.extend(common::screens::run(rt, task));
    }
}

/// Clicks what reads `label` in the window, and runs what follows.
fn click(h: &mut Harness, rt: &tokio::runtime::Runtime, label: &str) {
    let messages: Vec<app::Message> = {
        let mut ui = h.ui();
        let _ = ui.click(label).unwrap();
        ui.into_messages().collect()
    };
    for m in messages {
        drive(h, rt, m);
    }
}

/// Opens the message with `subject` from the list, as a click on its row does.
fn open(h: &mut Harness, rt: &tokio::runtime::Runtime, subject: &str) {
    let index = h
        .mailbox()
        .list
        .rows()
        .iter()
        .find(|r| r.message.subject == subject)
        .unwrap()
        .index;
    drive(
        h,
        rt,
        app::Message::Mailbox(mailbox::Message::RowClicked(index)),
    );
    let reader = h.mailbox().reader.as_ref().unwrap();
    assert_eq!(reader.row.subject, subject);
    assert!(matches!(reader.body, mailbox::reader::Body::Ready(_)));
}

fn reader(h: &Harness) -> &mailbox::reader::Reader {
    h.mailbox().reader.as_ref().unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

/// What the requests told the server about the reader: no Referer, no Cookie (though it
/// set one), no Accept-Encoding, and a User-Agent that does not name Tern.
fn assert_requests_say_nothing(server: &Server) {
    for r in server.requests() {
        assert_eq!(r.header("referer"), None, "{r:?}");
        assert_eq!(r.header("cookie"), None, "{r:?}");
        assert_eq!(r.header("accept-encoding"), None, "{r:?}");
        assert_eq!(r.header("user-agent"), Some("Mozilla/5.0"), "{r:?}");
    }
}

#[test]
fn images_load_only_when_the_user_allows_them_and_once_per_session() {
    let server = Server::start();
    let mut h = harness(&server);
    let rt = runtime();
    assert_eq!(
        h.state.settings.remote_content,
        RemoteContent::TrustedSenders
    );

    // Opened: blocked, with both offers; the server hears nothing.
    open(&mut h, &rt, NEWS);
    h.ui()
        .find("1 remote image was blocked to protect your privacy.")
        .unwrap();
    h.ui().find("Load for this message").unwrap();
    h.ui().find("Always for this sender").unwrap();
    // The alt text stands where the image will be.
    h.ui().find("[The new logo]").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    assert_eq!(reader(&h).remote_loaded(), 0);

    // "Load for this message": fetched once, drawn in place.
    click(&mut h, &rt, "Load for this message");
    assert_eq!(server.count("/logo.bmp"), 1);
    assert_eq!(server.requests().len(), 1);
    assert_eq!(reader(&h).remote_loaded(), 1);
    assert_eq!(reader(&h).remote_failed(), 0);
    h.ui()
        .find("Remote images are shown for this message.")
        .unwrap();
    assert!(h.ui().find("[The new logo]").is_err());
    assert!(h.ui().find("Load for this message").is_err());
    h.snapshot("remote-images-loaded-light", Choice::Light);
    h.snapshot("remote-images-loaded-dark", Choice::Dark);
    assert_requests_say_nothing(&server);

    // Another message, then back: still allowed this session, drawn from memory.
    open(&mut h, &rt, BROKEN);
    assert!(
        server.count("/page.png") == 0,
        "nothing asked for the other mail"
    );
    open(&mut h, &rt, NEWS);
    assert_eq!(reader(&h).remote_loaded(), 1);
    assert_eq!(server.count("/logo.bmp"), 1, "no second request");
    h.ui()
        .find("Remote images are shown for this message.")
        .unwrap();
}

#[test]
fn a_trusted_sender_loads_at_once_and_the_never_policy_loads_nothing() {
    let server = Server::start();
    let mut h = harness(&server);
    let rt = runtime();

    // The policy "never": no offer, no request, even for a trusted sender or when asked.
    h.state.settings.remote_content = RemoteContent::Never;
    h.state.settings.remote_images.insert(NEWS_FROM.into());
    open(&mut h, &rt, NEWS);
    h.ui()
        .find("1 remote image was blocked to protect your privacy.")
        .unwrap();
    assert!(h.ui().find("Load for this message").is_err());
    assert!(h.ui().find("Always for this sender").is_err());
    drive(
        &mut h,
        &rt,
        app::Message::Mailbox(mailbox::Message::Reader(
            mailbox::reader::Message::LoadImages,
        )),
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    assert_eq!(reader(&h).remote_loaded(), 0);

    // "Ask": trust does not count, the user is asked.
    h.state.settings.remote_content = RemoteContent::Ask;
    open(&mut h, &rt, BROKEN);
    open(&mut h, &rt, NEWS);
    h.ui().find("Load for this message").unwrap();
    assert!(h.ui().find("Always for this sender").is_err());
    assert!(server.requests().is_empty(), "{:?}", server.requests());

    // "Trusted senders": the trusted sender's mail loads as it opens.
    h.state.settings.remote_content = RemoteContent::TrustedSenders;
    h.state.settings.remote_images.clear();
    open(&mut h, &rt, BROKEN);
    h.state.settings.remote_images.insert(NEWS_FROM.into());
    open(&mut h, &rt, NEWS);
    assert_eq!(server.count("/logo.bmp"), 1);
    assert_eq!(reader(&h).remote_loaded(), 1);
    h.ui()
        .find("Remote images are shown because you trust this sender.")
        .unwrap();
    // Another sender's mail still waits to be asked.
    open(&mut h, &rt, BROKEN);
    h.ui().find("Load for this message").unwrap();
    assert_eq!(server.requests().len(), 1, "{:?}", server.requests());
    assert_requests_say_nothing(&server);
}

#[test]
fn trusting_the_sender_from_the_bar_loads_the_images() {
    let server = Server::start();
    let mut h = harness(&server);
    let rt = runtime();
    open(&mut h, &rt, NEWS);
    assert!(server.requests().is_empty());
    click(&mut h, &rt, "Always for this sender");
    assert!(h.state.settings.remote_images.contains(NEWS_FROM));
    assert_eq!(server.count("/logo.bmp"), 1);
    assert_eq!(reader(&h).remote_loaded(), 1);
    h.ui()
        .find("Remote images are shown because you trust this sender.")
        .unwrap();
}

#[test]
fn images_that_cannot_load_become_placeholders_and_are_counted() {
    let server = Server::start();
    let mut h = harness(&server);
    let rt = runtime();
    open(&mut h, &rt, BROKEN);
    h.ui()
        .find("7 remote images were blocked to protect your privacy.")
        .unwrap();
    assert!(server.requests().is_empty());
    click(&mut h, &rt, "Load for this message");

    let r = reader(&h);
    assert_eq!(r.remote_waiting(), 0);
    assert_eq!(r.remote_loaded(), 1, "the image behind the redirect");
    assert_eq!(r.remote_failed(), 6);
    h.ui()
        .find("Remote images are shown for this message. 6 could not be loaded.")
        .unwrap();
    // Alt texts stand in for the broken ones that have one.
    h.ui().find("Sales chart").unwrap();
    h.ui().find("Team photo").unwrap();
    // A redirect loop is given up after 5 redirects; a redirect to a file is not
    // followed; a redirect to an image is.
    assert_eq!(server.count("/loop"), 6);
    assert_eq!(server.count("/to-file"), 1);
    assert_eq!(server.count("/redirect"), 1);
    assert_eq!(server.count("/other.bmp"), 1);
    h.snapshot("remote-images-broken-light", Choice::Light);
    assert_requests_say_nothing(&server);

    // What cannot load stays known for the session: reopening asks nobody again.
    let before = server.requests().len();
    open(&mut h, &rt, NEWS);
    open(&mut h, &rt, BROKEN);
    assert_eq!(reader(&h).remote_failed(), 6);
    assert_eq!(server.requests().len(), before);
}

/// Fetches `urls` as the reader does and returns each outcome by URL.
fn load_all(urls: Vec<String>) -> Vec<(String, remote::Fetched)> {
    runtime().block_on(remote::load(urls).collect())
}

#[test]
fn one_image_and_one_message_have_limits() {
    let server = Server::start();
    // Over 5 MB, announced or not: refused.
    for path in ["/huge.png", "/huge-stream.png"] {
        let url = server.url(path);
        assert_eq!(
            remote::fetch(&url, remote::MAX_MESSAGE_BYTES).err(),
            Some(FetchError::TooLarge { url }),
        );
    }
    // Five images of 4.5 MB: four fit in a message's 20 MB, the fifth does not.
    let urls: Vec<String> = (0..5).map(|i| server.url(&format!("/big/{i}"))).collect();
    let results = load_all(urls.clone());
    assert_eq!(results.len(), 5);
    let over: Vec<&String> = results
        .iter()
        .filter(|(_, r)| matches!(r, Err(FetchError::MessageLimit { .. })))
        .map(|(u, _)| u)
        .collect();
    assert_eq!(over.len(), 1, "{results:?}");
    assert_eq!(results.iter().filter(|(_, r)| r.is_ok()).count(), 4);
    // At most 50 images per message; a URL twice is fetched once.
    let mut urls: Vec<String> = (0..55)
        .map(|i| server.url(&format!("/small/{i}")))
        .collect();
    urls.push(urls[0].clone());
    let results = load_all(urls);
    assert_eq!(results.len(), 55);
    assert_eq!(results.iter().filter(|(_, r)| r.is_ok()).count(), 50);
    let small = server
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/small/"))
        .count();
    assert_eq!(small, 50);
}

#[test]
fn a_certificate_the_os_does_not_trust_is_refused() {
    let dovecot = tern_testenv::Dovecot::start().unwrap();
    let url = format!(
        "https://{}:{}/logo.png",
        dovecot.host(),
        dovecot.imaps_port()
    );
    match remote::fetch(&url, remote::MAX_MESSAGE_BYTES) {
        Err(FetchError::Tls { reason, .. }) => {
            assert!(reason.contains("certificate"), "{reason}");
        }
        other => panic!("expected a TLS refusal, got {other:?}"),
    }
}

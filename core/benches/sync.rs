//! Sync benchmark: `cargo bench -p tern-core --bench sync -- --messages N`.
//!
//! Starts its own Dovecot, fills INBOX with N realistic messages and prints one
//! `figure: NAME VALUE UNIT` line per measurement. The yardstick is `raw_fetch_s`: one
//! `UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)` by a
//! minimal client on the same server.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tern_core::account::{Security, Server};
use tern_core::store::{FolderRole, SortOrder, Store};
use tern_core::sync;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const PASSWORD: &str = "bench-password";

fn figure(name: &str, value: f64, unit: &str) {
    println!("figure: {name} {value:.3} {unit}");
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

type Io = BufReader<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

/// Sends one tagged command and reads to its tagged reply; returns the bytes received.
async fn command(io: &mut Io, text: String) -> usize {
    let text = text.into_bytes();
    io.get_mut().write_all(&text).await.unwrap();
    let tag = text.split(|b| *b == b' ').next().unwrap().to_vec();
    let mut bytes = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = io.read_until(b'\n', &mut line).await.unwrap();
        assert!(n > 0, "server closed");
        bytes += n;
        // Skip literals by their announced size.
        if let Some(open) = line.iter().rposition(|b| *b == b'{')
            && line.ends_with(b"}\r\n")
        {
            let size: usize = std::str::from_utf8(&line[open + 1..line.len() - 3])
                .unwrap()
                .parse()
                .unwrap();
            let mut skip = vec![0; size];
            io.read_exact(&mut skip).await.unwrap();
            bytes += size;
            continue;
        }
        if line.starts_with(&tag) && line[tag.len()..].starts_with(b" ") {
            assert!(
                line[tag.len() + 1..].starts_with(b"OK"),
                "{}",
                String::from_utf8_lossy(&line)
            );
            return bytes;
        }
    }
}

/// The yardstick: a minimal client, one FETCH, reading until the tagged OK.
async fn raw_fetch(server: &Server) -> (Duration, usize) {
    let tcp = tokio::net::TcpStream::connect((server.host.as_str(), server.port))
        .await
        .unwrap();
    let tls = tern_core::tls::connect(tcp, &server.host, server.pinned_cert_sha256.as_deref())
        .await
        .unwrap();
    let mut io = BufReader::with_capacity(1 << 20, tls);
    let mut line = Vec::new();
    io.read_until(b'\n', &mut line).await.unwrap();
    command(
        &mut io,
        format!("a LOGIN {} \"{PASSWORD}\"\r\n", server.login),
    )
    .await;
    command(&mut io, "b SELECT INBOX\r\n".into()).await;
    let start = Instant::now();
    let bytes = command(
        &mut io,
        "c UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)\r\n".into(),
    )
    .await;
    (start.elapsed(), bytes)
}

fn main() {
    let mut n = 10_000usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--messages" {
            n = args
                .next()
                .and_then(|v| v.parse().ok())
                .expect("--messages N");
        }
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dovecot = tern_testenv::Dovecot::start().unwrap();
    let user = dovecot.add_user("bench", PASSWORD).unwrap();
    let fill = Instant::now();
    // In chunks, so the corpus never sits in this process's memory (peak_rss_mb is ours).
    for start in (0..n).step_by(10_000) {
        let chunk: Vec<Vec<u8>> = (start..(start + 10_000).min(n))
            .map(tern_testenv::corpus::message)
            .collect();
        dovecot.append_messages(&user, "INBOX", &chunk).unwrap();
    }
    eprintln!(
        "filled {n} messages in {:.1} s",
        fill.elapsed().as_secs_f64()
    );
    let server = Server {
        host: dovecot.host().to_owned(),
        port: dovecot.imaps_port(),
        security: Security::ImplicitTls,
        login: user.clone(),
        pinned_cert_sha256: Some(dovecot.cert_sha256_hex()),
        plaintext_acknowledged: false,
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite3");
    runtime.block_on(async {
        // Warm Dovecot's caches with both fetch shapes so neither side pays the cold cost.
        raw_fetch(&server).await;
        {
            let warm = tempfile::tempdir().unwrap();
            let store = Arc::new(Mutex::new(
                Store::open(&warm.path().join("s.sqlite3")).unwrap(),
            ));
            let mut session = tern_core::imap::connect(&server, PASSWORD).await.unwrap();
            let f = sync::sync_folder_list(&mut session, &store, "warm")
                .await
                .unwrap();
            let inbox = f
                .into_iter()
                .find(|f| f.role == Some(FolderRole::Inbox))
                .unwrap();
            sync::sync_folder(&mut session, &store, &inbox, |_| {})
                .await
                .unwrap();
        }
        let (raw, bytes) = raw_fetch(&server).await;
        eprintln!("raw fetch: {bytes} bytes");
        figure("raw_fetch_s", raw.as_secs_f64(), "s");

        let store = Arc::new(Mutex::new(Store::open(&path).unwrap()));
        let mut session = tern_core::imap::connect(&server, PASSWORD).await.unwrap();
        let folders = sync::sync_folder_list(&mut session, &store, "bench")
            .await
            .unwrap();
        let inbox = folders
            .into_iter()
            .find(|f| f.role == Some(FolderRole::Inbox))
            .unwrap();

        // A reader on its own connection notes when the first screen is in the store.
        let first_screen = Arc::new(Mutex::new(None::<Duration>));
        let start = Instant::now();
        let watcher = {
            let (path, first_screen, id) = (path.clone(), first_screen.clone(), inbox.id);
            std::thread::spawn(move || {
                let reader = Store::open(&path).unwrap();
                loop {
                    if reader
                        .page(id, 0, 50, SortOrder::DateDesc)
                        .map(|p| p.len())
                        .unwrap_or(0)
                        >= 50.min(n)
                    {
                        *first_screen.lock().unwrap() = Some(start.elapsed());
                        return;
                    }
                    if start.elapsed() > Duration::from_secs(600) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        };
        let report = sync::sync_folder(&mut session, &store, &inbox, |_| {})
            .await
            .unwrap();
        let first_sync = start.elapsed();
        watcher.join().unwrap();
        assert_eq!(report.new as usize, n);
        figure("first_sync_s", first_sync.as_secs_f64(), "s");
        figure(
            "first_sync_vs_raw",
            first_sync.as_secs_f64() / raw.as_secs_f64(),
            "x",
        );
        if let Some(t) = *first_screen.lock().unwrap() {
            figure("first_screen_s", t.as_secs_f64(), "s");
        }
        // The engine indexes what the first sync stored unindexed right after it.
        let t = Instant::now();
        let indexed = sync::index_pending(&store).await.unwrap();
        assert_eq!(indexed, n);
        figure("index_pending_s", t.elapsed().as_secs_f64(), "s");

        let inbox = store.lock().unwrap().folder(inbox.id).unwrap().unwrap();
        let mut resync = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let report = sync::sync_folder(&mut session, &store, &inbox, |_| {})
                .await
                .unwrap();
            resync.push(t.elapsed().as_secs_f64());
            assert_eq!(report, sync::FolderReport::default());
        }
        figure("resync_nochange_s", median(resync), "s");

        let s = store.lock().unwrap();
        let queries = [
            "report",
            "from:juergen7",
            "subject:\"quarterly figures\"",
            "is:unread has:attachment",
            "grüße before:2024-06-01",
            "after:2024-01-10 meeting",
            "zzzznotfound",
            "to:alice invoice",
        ];
        let mut times = Vec::new();
        for _ in 0..5 {
            for q in queries {
                let t = Instant::now();
                let _ = s.search(q, None, Some(inbox.id), 200).unwrap();
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        figure("search_ms_median", median(times), "ms");
        let mut times = Vec::new();
        let total = n as u32;
        for i in 0..60u32 {
            let offset = (i * 7919 * 13) % total.max(1);
            let offset = match i % 3 {
                0 => 0,
                1 => total.saturating_sub(50),
                _ => offset,
            };
            let t = Instant::now();
            let rows = s.page(inbox.id, offset, 50, SortOrder::DateDesc).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            assert!(!rows.is_empty());
        }
        figure("page_query_ms_median", median(times), "ms");
    });
    figure("peak_rss_mb", peak_rss_mb(), "MB");
}

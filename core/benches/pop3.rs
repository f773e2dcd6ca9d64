//! POP3 download benchmark: `cargo bench -p tern-core --bench pop3 -- --messages N`.
//!
//! Starts its own Dovecot, fills INBOX with N realistic messages (default 2000) and prints
//! one `figure: NAME VALUE UNIT` line per measurement. The yardstick is `pop3_raw_s`: a
//! minimal loop on the same server (log in, UIDL, RETR each message discarding the bytes,
//! QUIT); `pop3_download_s` is `sync_pop3` doing the same into a fresh store (parse, thread,
//! index, store the bytes).
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tern_core::account::{Account, Incoming, Pop3Options, Security, Server};
use tern_core::store::Store;
use tern_core::sync::pop3::sync_pop3;

const PASSWORD: &str = "bench-password";

fn figure(name: &str, value: f64, unit: &str) {
    println!("figure: {name} {value:.3} {unit}");
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The yardstick: log in, UIDL, RETR every message (bytes discarded), QUIT.
async fn raw_download(server: &Server) -> (Duration, u64) {
    let start = Instant::now();
    let mut session = tern_core::pop3::connect(server, PASSWORD).await.unwrap();
    let mut bytes = 0;
    for (n, _) in session.uidl().await.unwrap() {
        bytes += session.retr(n).await.unwrap().len() as u64;
    }
    session.quit().await.unwrap();
    (start.elapsed(), bytes)
}

fn main() {
    let mut n = 2000usize;
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
    for start in (0..n).step_by(10_000) {
        let chunk: Vec<Vec<u8>> = (start..(start + 10_000).min(n))
            .map(tern_testenv::corpus::message)
            .collect();
        dovecot.append_messages(&user, "INBOX", &chunk).unwrap();
    }
    let server = Server {
        host: dovecot.host().to_owned(),
        port: dovecot.pop3s_port(),
        security: Security::ImplicitTls,
        login: user.clone(),
        pinned_cert_sha256: Some(dovecot.cert_sha256_hex()),
        plaintext_acknowledged: false,
    };
    let account = Account {
        id: "bench".into(),
        incoming: Incoming::Pop3(server.clone()),
        pop3: Pop3Options::default(),
        ..Account::default()
    };
    let dir = tempfile::tempdir().unwrap();
    runtime.block_on(async {
        // Warm Dovecot's caches so neither side pays the cold cost.
        let (_, bytes) = raw_download(&server).await;
        eprintln!("{n} messages, {bytes} bytes");
        let (raw, _) = raw_download(&server).await;
        figure("pop3_raw_s", raw.as_secs_f64(), "s");

        let store = Arc::new(Mutex::new(
            Store::open(&dir.path().join("store.sqlite3")).unwrap(),
        ));
        let start = Instant::now();
        let report = sync_pop3(&store, &account, PASSWORD, |_, _| {})
            .await
            .unwrap();
        let download = start.elapsed();
        assert_eq!(report.downloaded, n);
        figure("pop3_download_s", download.as_secs_f64(), "s");
        figure(
            "pop3_download_vs_raw",
            download.as_secs_f64() / raw.as_secs_f64(),
            "x",
        );

        let start = Instant::now();
        let report = sync_pop3(&store, &account, PASSWORD, |_, _| {})
            .await
            .unwrap();
        assert_eq!((report.downloaded, report.skipped_known), (0, n));
        figure("pop3_resync_nochange_s", start.elapsed().as_secs_f64(), "s");

        let s = store.lock().unwrap();
        let start = Instant::now();
        let hits = s.search("Köln", Some("bench"), None, 200).unwrap();
        assert!(!hits.is_empty());
        figure(
            "pop3_search_ms",
            start.elapsed().as_secs_f64() * 1000.0,
            "ms",
        );
    });
    figure("peak_rss_mb", peak_rss_mb(), "MB");
}

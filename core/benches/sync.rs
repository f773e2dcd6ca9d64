//! Sync benchmark: `cargo bench -p tern-core --bench sync -- --messages N [--runs R]`.
//!
//! Starts its own Dovecot, fills INBOX with N realistic messages and prints one
//! `figure: NAME VALUE UNIT` line per measurement. The yardstick is `raw_fetch_s`: one
//! `UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)` by a
//! minimal client on the same server. With `--runs R` (default 1) the raw fetch and the
//! first sync alternate R times and their figures are medians: on a shared machine a single
//! run varies by a third.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tern_core::account::{Security, Server};
use tern_core::store::{Folder, FolderRole, SortOrder, Store};
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

/// CPU seconds (user + system) from a /proc `stat` file; zero if unreadable.
fn stat_cpu_s(path: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(path) else {
        return 0.0;
    };
    // After the ")" that closes the command name, utime and stime are the 12th and 13th
    // fields, in ticks of 1/100 s.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    (field(11) + field(12)) as f64 / 100.0
}

/// CPU seconds of Dovecot's IMAP processes (`imap`, and `imap-login`, which does the TLS):
/// the bench's own Dovecot runs below this process. Linux only; zero elsewhere.
fn server_cpu_s() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    let mut parent = std::collections::HashMap::new();
    let mut imap = Vec::new();
    for entry in dir.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let comm = head.split_once('(').map_or("", |(_, c)| c);
        let ppid = rest
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok());
        parent.insert(pid, ppid.unwrap_or(0));
        if comm == "imap" || comm == "imap-login" {
            imap.push(pid);
        }
    }
    let me = std::process::id();
    let ours = |mut pid: u32| {
        for _ in 0..16 {
            match parent.get(&pid) {
                Some(&p) if p == me => return true,
                Some(&p) if p > 1 => pid = p,
                _ => return false,
            }
        }
        false
    };
    imap.into_iter()
        .filter(|&pid| ours(pid))
        .map(|pid| stat_cpu_s(&format!("/proc/{pid}/stat")))
        .sum()
}

/// CPU time of the client (Dovecot is other processes), split into this (the main) thread,
/// which runs the sync's IMAP side, and the others, which run its store writes. On a busy
/// machine these say more than wall time. Linux only; zero elsewhere.
#[derive(Clone, Copy)]
struct ClientCpu {
    fetch: f64,
    total: f64,
}

fn client_cpu() -> ClientCpu {
    ClientCpu {
        fetch: stat_cpu_s("/proc/thread-self/stat"),
        total: stat_cpu_s("/proc/self/stat"),
    }
}

/// Profiling the first sync alone: with `TERN_BENCH_PERF_CTL=FIFO`, writes perf's `enable`
/// and `disable` commands there around it (`perf record -D -1 --control fifo:FIFO`).
fn perf_control(command: &str) {
    if let Some(path) = std::env::var_os("TERN_BENCH_PERF_CTL") {
        use std::io::Write;
        let mut fifo = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        writeln!(fifo, "{command}").unwrap();
    }
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

/// The yardstick: a minimal client, one FETCH, reading until the tagged OK. Returns its
/// time, the bytes received and Dovecot's CPU time for it.
async fn raw_fetch(server: &Server) -> (Duration, usize, f64) {
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
    let server_start = server_cpu_s();
    let bytes = command(
        &mut io,
        "c UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)\r\n".into(),
    )
    .await;
    let elapsed = start.elapsed();
    (elapsed, bytes, server_cpu_s() - server_start)
}

/// One measured first sync.
struct FirstSync {
    wall: f64,
    /// Client CPU: the sync's IMAP side (this thread) and its store writes (the others; the
    /// watcher's few page reads count here too).
    fetch_cpu: f64,
    store_cpu: f64,
    /// Dovecot's, for the same.
    server_cpu: f64,
    /// Bytes the store wrote, in MiB.
    wal_mb: f64,
    /// Until the first 50 rows were in the store, as a reader on its own connection saw.
    first_screen: f64,
}

/// A first sync of INBOX into a new store at `path`; returns its figures and what the later
/// figures use.
async fn first_sync(
    server: &Server,
    path: &std::path::Path,
    n: usize,
) -> (
    FirstSync,
    sync::SharedStore,
    tern_core::imap::Session,
    Folder,
) {
    let store = Arc::new(Mutex::new(Store::open(path).unwrap()));
    let mut session = tern_core::imap::connect(server, PASSWORD).await.unwrap();
    let folders = sync::sync_folder_list(&mut session, &store, "bench")
        .await
        .unwrap();
    let inbox = folders
        .into_iter()
        .find(|f| f.role == Some(FolderRole::Inbox))
        .unwrap();

    let first_screen = Arc::new(Mutex::new(None::<Duration>));
    let start = Instant::now();
    let cpu_start = client_cpu();
    let server_start = server_cpu_s();
    perf_control("enable");
    let watcher = {
        let (path, first_screen, id) = (path.to_owned(), first_screen.clone(), inbox.id);
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
    let wall = start.elapsed().as_secs_f64();
    let cpu_end = client_cpu();
    let server_cpu = server_cpu_s() - server_start;
    perf_control("disable");
    watcher.join().unwrap();
    assert_eq!(report.new as usize, n);
    let fetch_cpu = cpu_end.fetch - cpu_start.fetch;
    // Nothing is checkpointed during a first sync: the WAL holds every page it wrote.
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal_mb = std::fs::metadata(&wal).map_or(0.0, |m| m.len() as f64 / (1 << 20) as f64);
    let first_screen = first_screen
        .lock()
        .unwrap()
        .map_or(f64::NAN, |t| t.as_secs_f64());
    let measured = FirstSync {
        wall,
        fetch_cpu,
        store_cpu: cpu_end.total - cpu_start.total - fetch_cpu,
        server_cpu,
        wal_mb,
        first_screen,
    };
    (measured, store, session, inbox)
}

fn main() {
    let mut n = 10_000usize;
    let mut runs = 1usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--messages" {
            n = args
                .next()
                .and_then(|v| v.parse().ok())
                .expect("--messages N");
        } else if arg == "--runs" {
            runs = args
                .next()
                .and_then(|v| v.parse().ok())
                .filter(|r| *r > 0)
                .expect("--runs N");
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
        // Raw fetch and first sync alternate `runs` times; each figure is the median, and
        // the ratio the median of each pair's, so a burst of load elsewhere moves it less.
        let mut raws = Vec::new();
        let mut raw_server_cpu = Vec::new();
        let mut syncs: Vec<FirstSync> = Vec::new();
        let mut last = None;
        for run in 0..runs {
            let (raw, bytes, server_cpu) = raw_fetch(&server).await;
            raw_server_cpu.push(server_cpu);
            if run == 0 {
                eprintln!("raw fetch: {bytes} bytes");
            }
            raws.push(raw.as_secs_f64());
            let path = dir.path().join(format!("store{run}.sqlite3"));
            let (measured, store, session, inbox) = first_sync(&server, &path, n).await;
            syncs.push(measured);
            last = Some((store, session, inbox));
        }
        let (store, mut session, inbox) = last.unwrap();
        let of = |f: fn(&FirstSync) -> f64| median(syncs.iter().map(f).collect());
        figure("raw_fetch_s", median(raws.clone()), "s");
        figure("raw_fetch_server_cpu_s", median(raw_server_cpu), "s");
        figure("first_sync_s", of(|r| r.wall), "s");
        figure(
            "first_sync_vs_raw",
            median(
                syncs
                    .iter()
                    .zip(&raws)
                    .map(|(s, raw)| s.wall / raw)
                    .collect(),
            ),
            "x",
        );
        figure("first_sync_fetch_cpu_s", of(|r| r.fetch_cpu), "s");
        figure("first_sync_store_cpu_s", of(|r| r.store_cpu), "s");
        figure("first_sync_server_cpu_s", of(|r| r.server_cpu), "s");
        figure("first_sync_wal_mb", of(|r| r.wal_mb), "MB");
        figure("first_screen_s", of(|r| r.first_screen), "s");
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

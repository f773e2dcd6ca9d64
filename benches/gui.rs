//! GUI figures on a profile whose Inbox holds 100,000 messages:
//!
//! - `startup_to_list_ms`: the real binary started under Xvfb (CPU renderer) until it
//!   reports that its first message list has been drawn; median of 5 starts.
//! - `gui_rss_mb`: that process's resident memory with the folder open.
//! - `view_build_ms_p95`: building the mailbox view (view, layout, draw calls) after each
//!   scroll step through the whole folder, in process.
//! - `scroll_read_ms_p95`: reading the rows that came into view at each of those steps.
//! - `open_message_ms_median`: select a typical HTML mail until its reader is built.
//!
//! Run: `cargo bench --bench gui` (prints `figure: NAME VALUE UNIT` lines).
//! `cargo bench --bench gui -- --keep DIR` leaves the 100k profile in DIR;
//! `-- --demo DIR` writes the small profile the GUI tests use, to look at by hand.
#![allow(clippy::unwrap_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use iced::advanced::renderer::Headless;
use iced::{Font, Pixels, Size, mouse};
use iced_test::runtime::user_interface::{self, UserInterface};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tern::app::{self, State};
use tern::engine::Handle;
use tern::screen::mailbox::format::Dates;
use tern::screen::mailbox::{self, Verb};
use tern::settings::Settings as GuiSettings;
use tern_core::account::Config;
use tern_core::engine::Engine;
use tern_core::profile::Profile;
use tern_core::store::{Address, Flags, FolderRole, NewMessage, Store};

const SIZE: Size = Size::new(1280.0, 800.0);

/// Kills the child when dropped.
struct Guard(Child);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// splitmix64, for data that is the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const NAMES: &[&str] = &[
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Edsger Dijkstra",
    "Barbara Liskov",
    "Donald Knuth",
    "Frances Allen",
    "Ken Thompson",
    "Margaret Hamilton",
    "Niklaus Wirth",
    "Radia Perlman",
    "Tim Berners-Lee",
    "Jürgen Müller",
    "Zoë Ångström",
    "李小龙",
];
const WORDS: &[&str] = &[
    "quarterly",
    "report",
    "meeting",
    "invoice",
    "draft",
    "review",
    "release",
    "budget",
    "travel",
    "lunch",
    "contract",
    "update",
    "question",
    "schedule",
    "proposal",
    "notes",
];

/// A newsletter-like HTML mail of about 12 KB: the "typical HTML mail" of the figure.
fn html_mail(i: usize, from: &str, date: i64) -> Vec<u8> {
    let mut html = String::from(
        "<html><head><style>body{font-family:sans-serif}</style></head><body>\
         <table width=\"100%\"><tr><td><h1>Weekly digest</h1>",
    );
    for p in 0..14 {
        html.push_str(&format!(
            "<h3>Story {p}</h3><p>This week the <b>team</b> shipped <i>item {p}</i> of \
             issue {i}. Read <a href=\"https://news.example.com/s/{i}/{p}?utm=mail\">the \
             whole story</a> or <a href=\"https://news.example.com/s/{p}\">\
             news.example.com/s/{p}</a>. Lorem ipsum dolor sit amet, consectetur adipiscing \
             elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.</p>"
        ));
        if p % 4 == 0 {
            html.push_str("<ul><li>First point</li><li>Second point</li><li>Third</li></ul>");
        }
        if p % 5 == 0 {
            html.push_str("<blockquote><p>A quote from a reader, kept short.</p></blockquote>");
        }
    }
    html.push_str(
        "<img src=\"https://news.example.com/open.gif\"></td></tr></table></body></html>",
    );
    let date = chrono::DateTime::from_timestamp(date, 0)
        .unwrap()
        .to_rfc2822();
    format!(
        "From: {from} <news{i}@news.example.com>\r\nTo: Bench <bench@example.org>\r\n\
         Subject: Weekly digest {i}\r\nDate: {date}\r\nMessage-ID: <digest{i}@news.example.com>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nWeekly digest {i}, in plain text.\r\n\
         --b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--b--\r\n"
    )
    .into_bytes()
}

/// A profile with a `count`-message Inbox; the newest `with_bodies` are HTML digests
/// with their bodies stored.
fn big_profile(dir: &Path, count: usize, with_bodies: usize) -> Profile {
    let profile = Profile::open(Some(dir.to_path_buf())).unwrap();
    Config {
        accounts: vec![common::account(
            common::ACCOUNT,
            "Bench",
            "bench@example.org",
        )],
        ..Config::default()
    }
    .save(&profile.config_path())
    .unwrap();
    let mut store = Store::open(&profile.store_path()).unwrap();
    store
        .sync_folder_list(common::ACCOUNT, &common::folder_list())
        .unwrap();
    let inbox = store
        .folder_by_role(common::ACCOUNT, FolderRole::Inbox)
        .unwrap()
        .unwrap()
        .id;
    let mut rng = Rng(7);
    let start = common::NOW - count as i64 * 1500;
    let mut digests = Vec::new();
    for chunk in (0..count).collect::<Vec<_>>().chunks(10_000) {
        let rows: Vec<NewMessage> = chunk
            .iter()
            .map(|&i| {
                let date = start + i as i64 * 1500;
                let name = NAMES[rng.below(NAMES.len())];
                let uid = i as u32 + 1;
                if i + with_bodies >= count {
                    let raw = html_mail(i, name, date);
                    let mut m = tern_core::mime::summarize(&raw, date).message;
                    m.uid = uid;
                    digests.push((uid, raw));
                    return m;
                }
                let subject = (0..3 + rng.below(4))
                    .map(|_| WORDS[rng.below(WORDS.len())])
                    .collect::<Vec<_>>()
                    .join(" ");
                NewMessage {
                    uid,
                    flags: if rng.below(10) < 7 {
                        Flags::SEEN
                    } else {
                        Flags::empty()
                    },
                    keywords: Vec::new(),
                    modseq: u64::from(uid),
                    internal_date: date,
                    size: 1500 + rng.below(80_000) as u32,
                    date: Some(date),
                    subject,
                    from: vec![Address {
                        name: Some(name.into()),
                        email: format!(
                            "{}@example.com",
                            name.split(' ').next().unwrap().to_lowercase()
                        ),
                    }],
                    to: vec![Address {
                        name: None,
                        email: "bench@example.org".into(),
                    }],
                    cc: Vec::new(),
                    bcc: Vec::new(),
                    reply_to: Vec::new(),
                    message_id: Some(format!("m{uid}@bench.example")),
                    in_reply_to: None,
                    references: Vec::new(),
                    has_attachment: rng.below(10) == 0,
                }
            })
            .collect();
        store.insert_messages_unindexed(inbox, &rows).unwrap();
    }
    store.index_pending(1).unwrap();
    let bodies: Vec<(i64, Vec<u8>)> = digests
        .into_iter()
        .map(|(uid, raw)| (store.message_by_uid(inbox, uid).unwrap().unwrap().id, raw))
        .collect();
    let refs: Vec<(i64, &[u8], &str)> = bodies
        .iter()
        .map(|(id, raw)| (*id, raw.as_slice(), ""))
        .collect();
    store.put_bodies(&refs).unwrap();
    profile
}

fn percentile(times: &mut [Duration], p: f64) -> f64 {
    times.sort();
    let i = ((times.len() as f64 - 1.0) * p).round() as usize;
    times[i].as_secs_f64() * 1000.0
}

fn free_display() -> u32 {
    (90..200)
        .find(|n| {
            !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
        })
        .unwrap()
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Starts the binary on `profile` and times it to its first drawn list; its RSS then.
fn start_once(display: &str, profile: &Path) -> (f64, f64) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("--profile")
        .arg(profile)
        .env("DISPLAY", display)
        .env("ICED_BACKEND", "tiny-skia")
        .env(app::REPORT_FIRST_LIST_ENV, "1")
        .env_remove("WAYLAND_DISPLAY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let pid = child.id();
    let _guard = Guard(child);
    let mut lines = BufReader::new(stdout).lines();
    let painted = loop {
        match lines.next() {
            Some(Ok(line)) if line.contains("list painted") => break started.elapsed(),
            Some(_) => {}
            None => panic!("the app exited before drawing its list"),
        }
    };
    // Let it settle (engine tasks, the first frames) before reading its memory.
    std::thread::sleep(Duration::from_secs(2));
    (painted.as_secs_f64() * 1000.0, rss_mb(pid))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(PathBuf::from)
    };
    if let Some(dir) = arg("--demo") {
        common::profile(&dir, 200, true);
        println!("demo profile written to {}", dir.display());
        return;
    }
    let count: usize = std::env::var("TERN_BENCH_COUNT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let tmp = tempfile::tempdir().unwrap();
    let dir = arg("--keep").unwrap_or_else(|| tmp.path().join("profile"));
    let t = Instant::now();
    let profile = big_profile(&dir, count, 300);
    println!(
        "# profile with {count} messages built in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    if args.iter().any(|a| a == "--keep") {
        println!("profile kept in {}", dir.display());
        return;
    }

    // The real binary, started cold five times.
    let display = format!(":{}", free_display());
    let _xvfb = Guard(
        Command::new("Xvfb")
            .args([
                display.as_str(),
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(700));
    let mut starts = Vec::new();
    let mut rss = 0.0f64;
    for _ in 0..5 {
        let (ms, mb) = start_once(&display, profile.dir());
        starts.push(Duration::from_secs_f64(ms / 1000.0));
        rss = rss.max(mb);
    }
    let startup = percentile(&mut starts, 0.5);

    // In process: the same profile, on an engine of our own.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    let (engine, _events) = Engine::open(&profile).unwrap();
    let mut state = State::with_engine(
        &profile,
        Handle::new(engine),
        GuiSettings::default(),
        Dates::local(),
    );
    let theme = state.theme();
    let mut renderer = iced_test::futures::futures::executor::block_on(
        <iced::Renderer as Headless>::new(Font::DEFAULT, Pixels(16.0), Some("tiny-skia")),
    )
    .unwrap();
    let mut cache = user_interface::Cache::default();
    let mut frame = |state: &State, cache: &mut user_interface::Cache| {
        let t = Instant::now();
        let mut ui = UserInterface::build(state.view(), SIZE, std::mem::take(cache), &mut renderer);
        ui.draw(
            &mut renderer,
            &theme,
            &iced::advanced::renderer::Style {
                text_color: theme.palette().text,
            },
            mouse::Cursor::Unavailable,
        );
        *cache = ui.into_cache();
        t.elapsed()
    };
    let _ = frame(&state, &mut cache);

    // Scroll through the whole folder: small steps (a wheel) and long jumps (the bar).
    let total = state.mailbox().unwrap().list.total();
    let height = 640.0;
    let row = mailbox::list::ROW_HEIGHT;
    let mut offsets: Vec<f32> = (0..200).map(|i| i as f32 * 45.0).collect();
    offsets.extend((0..300).map(|i| (i as f32 / 300.0) * total as f32 * row));
    offsets.extend((0..100).map(|i| (total as f32 - 20.0) * row - i as f32 * 45.0));
    let (mut reads, mut builds) = (Vec::new(), Vec::new());
    for y in offsets {
        let t = Instant::now();
        if let app::Screen::Mailbox(m) = &mut state.screen {
            let _ = m.scroll_list(y, height);
        }
        reads.push(t.elapsed());
        builds.push(frame(&state, &mut cache));
    }

    // Open the newest HTML digests one after another (j), each until its reader is built.
    if let app::Screen::Mailbox(m) = &mut state.screen {
        let _ = m.scroll_list(0.0, height);
    }
    let mut opens = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        let _ = state.update(app::Message::Mailbox(mailbox::Message::Verb(Verb::Next)));
        let _ = frame(&state, &mut cache);
        opens.push(t.elapsed());
    }
    let reader = state.mailbox().unwrap().reader.as_ref().unwrap();
    assert!(
        reader.text().contains("Weekly digest"),
        "the opened mail is a digest"
    );

    println!("figure: startup_to_list_ms {startup:.0} ms");
    println!("figure: gui_rss_mb {rss:.0} MB");
    println!(
        "figure: view_build_ms_p95 {:.2} ms",
        percentile(&mut builds, 0.95)
    );
    println!(
        "figure: scroll_read_ms_p95 {:.2} ms",
        percentile(&mut reads, 0.95)
    );
    println!(
        "figure: open_message_ms_median {:.2} ms",
        percentile(&mut opens, 0.5)
    );
}

//! Store figures for a 100,000-message folder: insert, paging, counts, search.
//! Run: `cargo bench -p tern-core --bench store` (prints; asserts nothing).
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use tern_core::store::{Address, Flags, FolderInfo, FolderRole, NewMessage, SortOrder, Store};

const ACCOUNT: &str = "bench@example.org";
const RUNS: usize = 31;

/// splitmix64: deterministic data without a dependency.
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
    /// Skewed towards 0: a few senders and words are far more common than the rest.
    fn skewed(&mut self, n: usize) -> usize {
        let r = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        ((r * r * r) * n as f64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ber", "dan", "gel", "hor", "jin", "kel",
    "lum", "mar", "nor", "pel", "quin", "ros", "sten", "tor", "ul", "ven", "wik", "yar", "zo",
];
const COMMON: &[&str] = &[
    "meeting", "report", "invoice", "project", "update", "review", "budget", "schedule", "release",
    "question", "proposal", "contract", "lunch", "travel", "deadline", "draft",
];
const FIRST: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "zoe",
];
const LAST: &[&str] = &[
    "smith", "jones", "garcia", "miller", "davis", "martin", "lopez", "wilson", "moore", "taylor",
    "thomas", "white", "harris", "clark", "lewis", "walker", "young", "king", "wright", "scott",
    "green", "baker", "adams", "nelson", "hill", "campbell", "mitchell", "roberts", "carter",
    "phillips", "evans", "turner", "torres", "parker", "collins", "edwards", "stewart", "morris",
    "murphy", "cook",
];

fn vocabulary(rng: &mut Rng) -> Vec<String> {
    let mut words: Vec<String> = COMMON.iter().map(|s| s.to_string()).collect();
    while words.len() < 4000 {
        let n = 2 + rng.below(2);
        let w: String = (0..n)
            .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
            .collect();
        words.push(w);
    }
    words
}

fn people() -> Vec<Address> {
    let mut out = Vec::new();
    for (i, l) in LAST.iter().enumerate() {
        for f in FIRST {
            let cap = |s: &str| s[..1].to_uppercase() + &s[1..];
            out.push(Address {
                name: Some(format!("{} {}", cap(f), cap(l))),
                email: format!("{f}.{l}@domain{}.example", i % 7),
            });
        }
    }
    out
}

fn phrase(rng: &mut Rng, words: &[String], min: usize, spread: usize) -> String {
    let n = min + rng.below(spread);
    (0..n)
        .map(|_| words[rng.skewed(words.len())].as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Oldest first; ~30% replies to one of the previous few thousand messages.
fn generate(rng: &mut Rng, words: &[String], people: &[Address], count: usize) -> Vec<NewMessage> {
    let me = Address {
        name: Some("Bench User".into()),
        email: ACCOUNT.into(),
    };
    let mut out: Vec<NewMessage> = Vec::with_capacity(count);
    let mut date = 1_600_000_000i64;
    for i in 0..count {
        date += rng.below(1800) as i64;
        let uid = i as u32 + 1;
        let from = people[rng.skewed(people.len())].clone();
        let mut m = NewMessage {
            uid,
            flags: if rng.chance(85) {
                Flags::SEEN
            } else {
                Flags::empty()
            },
            keywords: Vec::new(),
            modseq: uid as u64,
            internal_date: date + 5,
            size: 2000 + rng.below(60_000) as u32,
            date: Some(date),
            subject: phrase(rng, words, 3, 5),
            from: vec![from],
            to: vec![me.clone()],
            cc: if rng.chance(20) {
                vec![people[rng.below(people.len())].clone()]
            } else {
                Vec::new()
            },
            bcc: Vec::new(),
            reply_to: Vec::new(),
            message_id: Some(format!("{uid}.{}@mail.example", rng.next())),
            in_reply_to: None,
            references: Vec::new(),
            has_attachment: rng.chance(10),
        };
        if rng.chance(5) {
            m.flags.insert(Flags::FLAGGED);
        }
        if i > 0 && rng.chance(30) {
            let parent = &out[i - 1 - rng.below(i.min(3000))];
            let mut refs = parent.references.clone();
            refs.extend(parent.message_id.clone());
            if refs.len() > 10 {
                refs.drain(..refs.len() - 10);
            }
            m.subject = format!("Re: {}", parent.subject.trim_start_matches("Re: "));
            m.in_reply_to = parent.message_id.clone();
            m.references = refs;
        }
        out.push(m);
    }
    out
}

/// Process CPU time (user + system), from /proc on Linux; zero elsewhere. The machine this
/// runs on may be busy, so CPU time says more about the store than wall time.
fn cpu() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the ")" that closes the command name; utime and stime are 14th and 15th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    // `rest` starts at field 3 (state): utime is field 14, stime 15. Ticks are 1/100 s.
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_millis((field(11) + field(12)) * 10)
}

fn median(mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[RUNS / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    // TERN_BENCH_COUNT=20000 for a quicker run while tuning; TERN_BENCH_BATCH for insert batches.
    let count: usize = std::env::var("TERN_BENCH_COUNT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let bodies_count = count / 10;
    let batch: usize = std::env::var("TERN_BENCH_BATCH")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite");
    let mut store = Store::open(&path).unwrap();
    let folders: Vec<FolderInfo> = [
        ("INBOX", Some(FolderRole::Inbox)),
        ("Archive", Some(FolderRole::Archive)),
        ("Sent", Some(FolderRole::Sent)),
        ("Trash", Some(FolderRole::Trash)),
    ]
    .into_iter()
    .map(|(name, role)| FolderInfo {
        name: name.into(),
        delimiter: Some('/'),
        role,
        subscribed: true,
        selectable: true,
    })
    .collect();
    store.sync_folder_list(ACCOUNT, &folders).unwrap();
    let inbox = store.folder_by_name(ACCOUNT, "INBOX").unwrap().unwrap().id;
    store
        .set_sync_state(inbox, 1, count as u32 + 1, Some(count as u64))
        .unwrap();

    let mut rng = Rng(42);
    let words = vocabulary(&mut rng);
    let people = people();
    let msgs = generate(&mut rng, &words, &people, count);

    // Newest batch first, as a first sync shows newest first: children before parents.
    // TERN_BENCH_ONLY_INSERT: just the unindexed insert below (for profiling it).
    let only_unindexed = std::env::var_os("TERN_BENCH_ONLY_INSERT").is_some();
    let (t, c) = (Instant::now(), cpu());
    for chunk in msgs.rchunks(batch).filter(|_| !only_unindexed) {
        store.insert_messages(inbox, chunk).unwrap();
    }
    let (insert, insert_cpu) = (t.elapsed(), cpu() - c);
    println!(
        "insert {count} messages in batches of {batch}: {:.2} s ({:.1} µs/message); CPU {:.2} s",
        insert.as_secs_f64(),
        insert.as_secs_f64() * 1e6 / count as f64,
        insert_cpu.as_secs_f64()
    );

    // The first sync's path: rows unindexed, then the index written in chunks.
    {
        let dir = tempfile::tempdir().unwrap();
        let mut other = Store::open(&dir.path().join("unindexed.sqlite")).unwrap();
        other.sync_folder_list(ACCOUNT, &folders).unwrap();
        let f = other.folder_by_name(ACCOUNT, "INBOX").unwrap().unwrap().id;
        let (t, c) = (Instant::now(), cpu());
        for chunk in msgs.rchunks(batch) {
            other.insert_messages_unindexed(f, chunk).unwrap();
        }
        let (insert, insert_cpu) = (t.elapsed(), cpu() - c);
        let wal = std::fs::metadata(dir.path().join("unindexed.sqlite-wal")).map_or(0, |m| m.len());
        println!("WAL after the unindexed insert: {} MB", wal >> 20);
        let t = Instant::now();
        while other.index_pending(5000).unwrap() > 0 {}
        println!(
            "insert_messages_unindexed {count} in batches of {batch}: {:.2} s ({:.1} µs/message); \
             CPU {:.2} s; index_pending: {:.2} s",
            insert.as_secs_f64(),
            insert.as_secs_f64() * 1e6 / count as f64,
            insert_cpu.as_secs_f64(),
            t.elapsed().as_secs_f64()
        );
        if only_unindexed {
            return;
        }
    }

    // Bodies of the newest 10%: the first 500 one by one, the rest in batches of 50.
    let newest = store
        .page(inbox, 0, bodies_count as u32, SortOrder::DateDesc)
        .unwrap();
    let texts: Vec<String> = newest
        .iter()
        .map(|_| phrase(&mut rng, &words, 150, 150))
        .collect();
    let single = 500.min(newest.len());
    let t = Instant::now();
    for (row, text) in newest.iter().zip(&texts).take(single) {
        store.put_body(row.id, text.as_bytes(), text).unwrap();
    }
    let one = t.elapsed();
    let t = Instant::now();
    let rest: Vec<(i64, &[u8], &str)> = newest
        .iter()
        .zip(&texts)
        .skip(single)
        .map(|(r, t)| (r.id, t.as_bytes(), t.as_str()))
        .collect();
    for chunk in rest.chunks(50) {
        store.put_bodies(chunk).unwrap();
    }
    let batched = t.elapsed();
    println!(
        "put_body x{single} (~1.5 kB text, a transaction each): {:.0} µs each; \
         put_bodies x{} in batches of 50: {:.0} µs each",
        one.as_secs_f64() * 1e6 / single as f64,
        rest.len(),
        batched.as_secs_f64() * 1e6 / rest.len().max(1) as f64
    );

    let changes: Vec<(u32, Flags, Vec<String>, u64)> = msgs
        .iter()
        .map(|m| (m.uid, m.flags | Flags::ANSWERED, Vec::new(), m.modseq + 1))
        .collect();
    let t = Instant::now();
    for chunk in changes.chunks(1000) {
        store.update_flags(inbox, chunk).unwrap();
    }
    println!(
        "update_flags for all {count} (batches of 1000): {:.2} s",
        t.elapsed().as_secs_f64()
    );

    let drop_uids: Vec<u32> = (1..=count as u32).step_by(10).collect();
    let t = Instant::now();
    store.remove_uids(inbox, &drop_uids).unwrap();
    println!(
        "remove_uids of {} spread uids: {:.2} s",
        drop_uids.len(),
        t.elapsed().as_secs_f64()
    );
    let kept: Vec<NewMessage> = msgs.iter().filter(|m| m.uid % 10 == 1).cloned().collect();
    store.insert_messages(inbox, &kept).unwrap();

    let threads: std::collections::HashSet<i64> = (0..count as u32 / 1000)
        .flat_map(|p| {
            store
                .page(inbox, p * 1000, 1000, SortOrder::DateDesc)
                .unwrap()
        })
        .map(|r| r.thread)
        .collect();
    println!("threads: {} for {count} messages", threads.len());

    println!("\npage(limit 50), median of {RUNS}:");
    for order in [
        SortOrder::DateDesc,
        SortOrder::DateAsc,
        SortOrder::SenderAsc,
    ] {
        let line: Vec<String> = [0u32, count as u32 / 2, count as u32 - 50]
            .into_iter()
            .map(|offset| {
                let d = median(|| {
                    assert_eq!(store.page(inbox, offset, 50, order).unwrap().len(), 50);
                });
                format!("offset {offset}: {}", ms(d))
            })
            .collect();
        println!("  {order:?}: {}", line.join(", "));
    }
    // The medians above are served by marks. Right after a write: the first deep page walks
    // the offset, the second also builds the marks, later ones use them.
    for order in [SortOrder::DateDesc, SortOrder::SenderAsc] {
        store
            .update_flags(inbox, &[(2, Flags::SEEN, Vec::new(), 1)])
            .unwrap();
        let calls: Vec<String> = (0..3)
            .map(|_| {
                let t = Instant::now();
                store.page(inbox, count as u32 / 2, 50, order).unwrap();
                ms(t.elapsed())
            })
            .collect();
        println!(
            "  {order:?} offset {} after a write, calls 1-3: {}",
            count / 2,
            calls.join(", ")
        );
    }
    let anchor = store
        .page(inbox, count as u32 / 2 - 1, 1, SortOrder::DateDesc)
        .unwrap()[0]
        .id;
    let d = median(|| {
        store
            .page_after(inbox, Some(anchor), 50, SortOrder::DateDesc)
            .unwrap();
    });
    println!("  page_after(middle row, 50, DateDesc): {}", ms(d));

    let d = median(|| {
        store.unread_counts(ACCOUNT).unwrap();
    });
    println!("\nunread_counts: {}", ms(d));

    let first = FIRST[1];
    let common = COMMON[0];
    let rare = &words[3000];
    let queries = [
        common.to_string(),
        rare.to_string(),
        "meet".to_string(),
        format!("from:{first}"),
        format!("from:{first} {common} is:unread"),
        format!("from:{first} after:2021-06-01 has:attachment"),
        format!("\"{} {}\"", words[1], words[2]),
        "is:unread".to_string(),
        "is:flagged before:2021-01-01".to_string(),
        "\"*()-:^ report".to_string(),
    ];
    println!("\nsearch(limit 100), median of {RUNS}:");
    for q in &queries {
        let n = store.search(q, Some(ACCOUNT), None, 100).unwrap().len();
        let all = median(|| {
            store.search(q, Some(ACCOUNT), None, 100).unwrap();
        });
        let folder = median(|| {
            store.search(q, None, Some(inbox), 100).unwrap();
        });
        println!(
            "  {q:<45} {n:>3} hits  account: {:>9}  folder: {:>9}",
            ms(all),
            ms(folder)
        );
    }

    outbox_restart(&mut store, &path);

    let t = Instant::now();
    store.reset_folder(inbox, 2).unwrap();
    println!(
        "\nreset_folder (drops all {count}): {:.2} s",
        t.elapsed().as_secs_f64()
    );

    drop(store);
    let size: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    println!("\ndatabase files: {:.1} MB", size as f64 / 1e6);
}

/// `outbox_restart_ms`: a restart's outbox work on this 100k store with 20 queued messages
/// (one of 10 MB): open the store, settle interrupted sends, list the outbox.
fn outbox_restart(store: &mut Store, path: &std::path::Path) {
    use tern_core::store::{Envelope, NewOutgoing};
    let big = vec![b'x'; 10 * 1024 * 1024];
    let small = vec![b'y'; 20 * 1024];
    let envelope = Envelope {
        from: "me@example.org".into(),
        to: vec!["you@example.org".into()],
        smtputf8: false,
    };
    for i in 0..20 {
        let message_id = format!("{i}@bench.example.org");
        store
            .outbox_add(&NewOutgoing {
                account: ACCOUNT,
                message_id: &message_id,
                subject: "queued",
                raw: if i == 0 { &big } else { &small },
                bcc_header: None,
                envelope: &envelope,
            })
            .unwrap();
    }
    let times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            let mut reopened = Store::open(path).unwrap();
            reopened.outbox_resume().unwrap();
            let n = reopened.outbox(None).unwrap().len();
            assert_eq!(n, 20);
            t.elapsed()
        })
        .collect();
    let mut sorted = times;
    sorted.sort();
    println!(
        "figure: outbox_restart_ms {:.2} ms",
        sorted[sorted.len() / 2].as_secs_f64() * 1000.0
    );
}

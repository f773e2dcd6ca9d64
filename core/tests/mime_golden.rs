//! Golden tests for the MIME view model: every `tests/data/mime/X.eml` is parsed and the
//! result, as pretty JSON, must equal `X.json`. A mismatch writes `X.json.failed` beside
//! it. `TERN_BLESS=1` rewrites the expectations; read every changed one by eye.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use tern_core::mime::{INDEX_TEXT_LIMIT, Parsed, attachment_bytes, body_text_for_index, parse};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mime")
}

/// A message with a 200 KB subject and 5,000 Received lines, made here rather than
/// committed.
fn huge_headers() -> Vec<u8> {
    let mut raw = Vec::new();
    for i in 0..5_000 {
        raw.extend_from_slice(
            format!(
                "Received: from relay{i}.example.net (relay{i}.example.net [192.0.2.{}])\r\n\tby mx.example.org with ESMTP id R{i}; Mon, 3 Jun 2024 10:00:00 +0000\r\n",
                i % 250
            )
            .as_bytes(),
        );
    }
    raw.extend_from_slice(b"From: Loop <loop@example.net>\r\nTo: sink@example.org\r\nSubject: ");
    // Folded before every fourth word, as a sender would.
    for i in 0..200_000 / 18 {
        if i > 0 && i % 4 == 0 {
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b" very long subject");
    }
    raw.extend_from_slice(
        b"\r\nDate: Mon, 3 Jun 2024 10:00:00 +0000\r\nMessage-ID: <huge@example.net>\r\n\r\nSmall body.\r\n",
    );
    raw
}

/// Every case: the committed `.eml` files, sorted, then the generated ones.
fn cases() -> Vec<(String, Vec<u8>)> {
    let mut cases: Vec<(String, Vec<u8>)> = fs::read_dir(data_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&p).unwrap())
        })
        .collect();
    cases.sort();
    cases.push(("huge-headers".into(), huge_headers()));
    cases
}

/// A short diff: the lines between the common head and the common tail.
fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let head = e.iter().zip(&a).take_while(|(x, y)| x == y).count();
    let tail = e[head..]
        .iter()
        .rev()
        .zip(a[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let mut out = format!("@@ line {} @@\n", head + 1);
    for line in e[head..e.len() - tail].iter().take(40) {
        out.push_str(&format!("-{line}\n"));
    }
    for line in a[head..a.len() - tail].iter().take(40) {
        out.push_str(&format!("+{line}\n"));
    }
    out
}

/// What must hold for every view, whatever the expectation says.
fn check_invariants(name: &str, raw: &[u8], parsed: &Parsed) {
    assert!(body_text_for_index(raw).len() <= INDEX_TEXT_LIMIT, "{name}");
    let Parsed::View(view) = parsed else {
        return;
    };
    for a in &view.attachments {
        let bytes =
            attachment_bytes(raw, a.index).unwrap_or_else(|| panic!("{name}: part {}", a.index));
        assert_eq!(
            bytes.len() as u64,
            a.size,
            "{name}: size of part {}",
            a.index
        );
    }
    if let Some(html) = &view.html {
        let mut rest = html.html.clone();
        for link in &html.links {
            rest = rest.replace(&format!("href=\"{}\"", link.replace('&', "&amp;")), "");
        }
        let lower = rest.to_ascii_lowercase();
        for bad in [
            "http:",
            "https:",
            "<script",
            "onerror",
            "onload",
            "javascript:",
            "url(",
        ] {
            assert!(
                !lower.contains(bad),
                "{name}: {bad:?} left in the HTML: {}",
                html.html
            );
        }
    }
}

#[test]
fn golden() {
    let bless = std::env::var("TERN_BLESS").is_ok_and(|v| v == "1");
    let dir = data_dir();
    let cases = cases();
    assert!(cases.len() >= 14, "the corpus has shrunk");
    let mut failures = Vec::new();
    for (name, raw) in &cases {
        let parsed = parse(raw);
        check_invariants(name, raw, &parsed);
        let json = serde_json::to_string_pretty(&parsed).unwrap() + "\n";
        let back: Parsed = serde_json::from_str(&json).unwrap();
        assert_eq!(back, parsed, "{name}: JSON does not round-trip");

        let expected_path = dir.join(format!("{name}.json"));
        let failed_path = dir.join(format!("{name}.json.failed"));
        if bless {
            fs::write(&expected_path, &json).unwrap();
            let _ = fs::remove_file(&failed_path);
            continue;
        }
        match fs::read_to_string(&expected_path) {
            Ok(expected) if expected == json => {
                let _ = fs::remove_file(&failed_path);
            }
            Ok(expected) => {
                fs::write(&failed_path, &json).unwrap();
                failures.push(format!("{name}.json differs:\n{}", diff(&expected, &json)));
            }
            Err(e) => {
                fs::write(&failed_path, &json).unwrap();
                failures.push(format!("{name}.json: {e}"));
            }
        }
    }
    // An expectation whose message is gone would silently stop being checked.
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            if !cases.iter().any(|(name, _)| *name == stem) {
                failures.push(format!("{stem}.json has no {stem}.eml"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden file(s) differ (actual output in *.json.failed; TERN_BLESS=1 to accept):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A small deterministic generator (Knuth's MMIX LCG), so failures reproduce.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Every entry point on one input; returning at all is the test.
fn exercise(raw: &[u8]) {
    if let Parsed::View(view) = parse(raw) {
        for a in view.attachments.iter().take(4) {
            let _ = attachment_bytes(raw, a.index);
        }
    }
    let _ = attachment_bytes(raw, 1);
    let _ = body_text_for_index(raw);
}

#[test]
fn truncated_corpus_never_panics() {
    for (_, raw) in cases() {
        // Up to 400 evenly spread prefixes of each small file (every one of the short
        // files), a handful of the huge generated one.
        let samples = if raw.len() > 64 * 1024 { 16 } else { 400 };
        let step = (raw.len() / samples).max(1);
        for len in (0..=raw.len()).step_by(step) {
            exercise(&raw[..len]);
        }
    }
}

#[test]
fn mutated_and_random_bytes_never_panic() {
    let mut rng = Lcg(0x7e57_7e57);
    let corpus: Vec<Vec<u8>> = cases()
        .into_iter()
        .map(|(_, raw)| raw)
        .filter(|r| !r.is_empty() && r.len() < 100_000)
        .collect();
    // Corpus files with bytes flipped, dropped and duplicated: close to real mail, so
    // the parser goes deep.
    const SPECIAL: &[u8] = b"\r\n-=?:;<>\"\\ \t\x00\xff";
    for round in 0..1_500 {
        let mut raw = corpus[round % corpus.len()].clone();
        for _ in 0..1 + rng.below(8) {
            let at = rng.below(raw.len());
            match rng.below(4) {
                0 => raw[at] = rng.next() as u8,
                1 => raw[at] = SPECIAL[rng.below(SPECIAL.len())],
                2 => {
                    raw.remove(at);
                }
                _ => {
                    let end = (at + rng.below(64)).min(raw.len());
                    let chunk = raw[at..end].to_vec();
                    raw.splice(at..at, chunk);
                }
            }
            if raw.is_empty() {
                break;
            }
        }
        exercise(&raw);
    }
    // Plain noise, some of it shaped like headers.
    for _ in 0..500 {
        let len = rng.below(4_096);
        let mut raw: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if rng.below(2) == 0 {
            raw.splice(
                0..0,
                b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n"
                    .iter()
                    .copied(),
            );
        }
        exercise(&raw);
    }
}

#[test]
fn deep_nesting_never_panics() {
    let mut raw = b"Subject: deep\r\n".to_vec();
    for i in 0..2_000 {
        raw.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n")
                .as_bytes(),
        );
    }
    raw.extend_from_slice(b"Content-Type: text/plain\r\n\r\nbottom\r\n");
    exercise(&raw);

    let mut nested = b"Subject: inner\r\n\r\nbottom\r\n".to_vec();
    for _ in 0..200 {
        let mut outer = b"Subject: wrap\r\nContent-Type: message/rfc822\r\n\r\n".to_vec();
        outer.extend_from_slice(&nested);
        nested = outer;
    }
    exercise(&nested);

    let html = format!(
        "Subject: deep html\r\nContent-Type: text/html\r\n\r\n{}x",
        "<div><b><i>".repeat(30_000)
    );
    exercise(html.as_bytes());
}

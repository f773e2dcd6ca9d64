//! Send benchmark: `cargo bench -p tern-core --bench send`.
//!
//! Starts its own Dovecot and Postfix, builds a message with a 10 MB random attachment
//! (base64, 76-column lines) and submits it over implicit TLS. Prints one
//! `figure: NAME VALUE UNIT` line: `send_10mb_s`, from the submit call to Accepted,
//! median of 3 (each a fresh connection, TLS and AUTH included).
#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use std::time::{Duration, Instant};
use tern_core::account::{Security, Server};
use tern_core::smtp::{self, Submission};

const PASSWORD: &str = "bench-password";
const RUNS: usize = 3;

fn figure(name: &str, value: f64, unit: &str) {
    println!("figure: {name} {value:.3} {unit}");
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// A text part and a `bytes`-byte attachment of xorshift noise (incompressible, like a
/// photo), built by hand: the compose builder is not what is measured here.
fn message(from: &str, to: &str, bytes: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let data: Vec<u8> = (0..bytes)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&data);
    let mut out = format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: 10 MB\r\nMessage-ID: <bench.{}@tern.test>\r\n\
         Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nThe file.\r\n\
         --b1\r\nContent-Type: application/octet-stream\r\n\
         Content-Disposition: attachment; filename=\"data.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n",
        std::process::id()
    )
    .into_bytes();
    for line in encoded.as_bytes().chunks(76) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--b1--\r\n");
    out
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dovecot = tern_testenv::Dovecot::start().unwrap();
    let postfix = tern_testenv::Postfix::start(&dovecot).unwrap();
    let alice = dovecot.add_user("alice", PASSWORD).unwrap();
    let bob = dovecot.add_user("bob", PASSWORD).unwrap();
    let (from, to) = (dovecot.address(&alice), dovecot.address(&bob));
    let raw = message(&from, &to, 10 * 1024 * 1024);
    eprintln!("message: {} bytes", raw.len());
    let server = Server {
        host: postfix.host().to_owned(),
        port: postfix.submissions_port(),
        security: Security::ImplicitTls,
        login: alice,
        pinned_cert_sha256: Some(postfix.cert_sha256_hex()),
        plaintext_acknowledged: false,
    };
    let recipients = vec![to];
    let submission = Submission {
        from: &from,
        recipients: &recipients,
        bytes: &raw,
        smtputf8: false,
    };
    let mut times = Vec::new();
    runtime.block_on(async {
        for _ in 0..RUNS {
            let start = Instant::now();
            let accepted = smtp::submit(&server, PASSWORD, submission, || Ok(()))
                .await
                .unwrap();
            times.push(start.elapsed().as_secs_f64());
            eprintln!(
                "accepted in {:.3} s: {}",
                start.elapsed().as_secs_f64(),
                accepted.reply
            );
            // Delivery runs in the background; let it finish so runs don't overlap.
            postfix
                .wait_for_empty_queue(Duration::from_secs(120))
                .unwrap();
        }
    });
    figure("send_10mb_s", median(times), "s");
    drop(postfix);
}

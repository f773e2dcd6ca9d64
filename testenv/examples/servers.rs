//! Starts the test Dovecot and Postfix on loopback with one user and a filled Inbox, and
//! keeps them up until killed: for trying the app by hand against real servers.
//!
//! `cargo run -p tern-testenv --example servers -- [MESSAGES]`

use std::io::Write;
use tern_testenv::{Dovecot, Postfix, corpus};

fn main() -> std::io::Result<()> {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let dovecot = Dovecot::start()?;
    let postfix = Postfix::start(&dovecot)?;
    let user = dovecot.add_user("demo", "demo-password")?;
    let messages: Vec<Vec<u8>> = (0..count).map(corpus::message).collect();
    dovecot.append_messages(&user, "INBOX", &messages)?;
    let mut out = std::io::stdout();
    writeln!(out, "user {user}")?;
    writeln!(out, "address {}", dovecot.address(&user))?;
    writeln!(out, "password demo-password")?;
    writeln!(out, "host {}", dovecot.host())?;
    writeln!(out, "imaps {}", dovecot.imaps_port())?;
    writeln!(out, "imap {}", dovecot.imap_port())?;
    writeln!(out, "pop3s {}", dovecot.pop3s_port())?;
    writeln!(out, "submissions {}", postfix.submissions_port())?;
    writeln!(out, "submission {}", postfix.submission_port())?;
    writeln!(out, "imap-cert {}", dovecot.cert_sha256_hex())?;
    writeln!(out, "smtp-cert {}", postfix.cert_sha256_hex())?;
    out.flush()?;
    loop {
        std::thread::park();
    }
}

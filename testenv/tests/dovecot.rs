//! Proves the isolated Dovecot works: TLS with the generated cert, logins, capabilities,
//! special-use folders, fast appends, parallel instances and clean shutdown.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tern_testenv::Dovecot;

/// Sends `script` over implicit TLS with `openssl s_client`, verifying the server
/// certificate against the instance's own PEM, and returns everything the server said.
fn tls_dialog(dovecot: &Dovecot, port: u16, starttls: Option<&str>, script: &str) -> String {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-quiet", "-ign_eof", "-verify_return_error"])
        .args(["-verify_hostname", "localhost", "-CAfile"])
        .arg(dovecot.cert_pem_path())
        .arg("-connect")
        .arg(format!("{}:{port}", dovecot.host()));
    if let Some(proto) = starttls {
        cmd.args(["-starttls", proto]);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn openssl s_client");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("write to s_client");
    let out = child.wait_with_output().expect("s_client output");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "s_client failed: {}\nstderr: {}\nstdout: {stdout}\nlog:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        dovecot.log_tail()
    );
    stdout
}

fn message(i: usize) -> Vec<u8> {
    format!(
        "From: Alice <alice@tern.test>\r\nTo: Bob <bob@tern.test>\r\nSubject: Test {i}\r\n\
         Message-ID: <{i}@tern.test>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nBody {i}\r\n"
    )
    .into_bytes()
}

fn message_count(dovecot: &Dovecot, user: &str, mailbox: &str) -> usize {
    let out = dovecot
        .doveadm(&["mailbox", "status", "-u", user, "messages", mailbox])
        .expect("doveadm mailbox status");
    // Prints "MAILBOX messages=N".
    out.split_whitespace()
        .find_map(|w| w.strip_prefix("messages="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected status output {out:?}"))
}

#[test]
fn imaps_login_capabilities_special_use_and_append() {
    let dovecot = Dovecot::start().expect("start dovecot");
    let user = dovecot.add_user("alice", "secret pw").expect("add user");
    let messages: Vec<Vec<u8>> = (1..=3).map(message).collect();
    dovecot
        .append_messages(&user, "INBOX", &messages)
        .expect("append");
    assert_eq!(message_count(&dovecot, &user, "INBOX"), 3);

    let script = format!(
        "a LOGIN {user} \"secret pw\"\r\nb CAPABILITY\r\nc LIST \"\" \"*\" RETURN (SPECIAL-USE SUBSCRIBED)\r\n\
         d SELECT INBOX\r\ne UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\nf LOGOUT\r\n"
    );
    let out = tls_dialog(&dovecot, dovecot.imaps_port(), None, &script);
    assert!(out.contains("a OK"), "login failed: {out}");
    let caps = out
        .lines()
        .find(|l| l.starts_with("* CAPABILITY"))
        .expect("CAPABILITY line");
    for cap in [
        "CONDSTORE",
        "QRESYNC",
        "SPECIAL-USE",
        "IDLE",
        "UIDPLUS",
        "MOVE",
    ] {
        assert!(caps.split(' ').any(|c| c == cap), "{cap} missing in {caps}");
    }
    for (name, flag) in [
        ("Drafts", "\\Drafts"),
        ("Sent", "\\Sent"),
        ("Trash", "\\Trash"),
        ("Junk", "\\Junk"),
        ("Archive", "\\Archive"),
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with("* LIST") && l.trim_end().ends_with(&format!(" {name}")))
            .unwrap_or_else(|| panic!("{name} not listed: {out}"));
        assert!(line.contains(flag), "{name} lacks {flag}: {line}");
        assert!(
            line.contains("\\Subscribed"),
            "{name} not subscribed: {line}"
        );
    }
    assert!(out.contains("* 3 EXISTS"), "{out}");
    // UIDs follow the order of the slice given to append_messages.
    for i in 1..=3 {
        let pos = out
            .find(&format!("* {i} FETCH (UID {i} "))
            .unwrap_or_else(|| panic!("no FETCH for {i}: {out}"));
        assert!(out[pos..].contains(&format!("Subject: Test {i}")), "{out}");
    }
    assert!(out.contains("f OK"), "{out}");
}

#[test]
fn plain_ports_require_starttls_and_it_works() {
    let dovecot = Dovecot::start().expect("start dovecot");
    let user = dovecot.add_user("bob", "pw").expect("add user");

    // Before TLS: STARTTLS offered, LOGIN refused, as for a client on the network.
    let mut imap = TcpStream::connect((dovecot.host(), dovecot.imap_port())).expect("connect imap");
    imap.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut reader = BufReader::new(imap.try_clone().expect("clone"));
    let mut greeting = String::new();
    reader.read_line(&mut greeting).expect("greeting");
    assert!(greeting.starts_with("* OK"), "{greeting}");
    assert!(
        greeting.contains("STARTTLS") && greeting.contains("LOGINDISABLED"),
        "{greeting}"
    );
    imap.write_all(format!("a LOGIN {user} pw\r\nb LOGOUT\r\n").as_bytes())
        .expect("write");
    let mut rest = String::new();
    reader.read_to_string(&mut rest).expect("read");
    assert!(rest.contains("a NO"), "plaintext LOGIN accepted: {rest}");

    let mut pop3 = TcpStream::connect((dovecot.host(), dovecot.pop3_port())).expect("connect pop3");
    pop3.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    pop3.write_all(format!("CAPA\r\nUSER {user}\r\nQUIT\r\n").as_bytes())
        .expect("write");
    let mut capa = String::new();
    pop3.read_to_string(&mut capa).expect("read");
    assert!(capa.lines().any(|l| l == "STLS"), "{capa}");
    assert!(capa.contains("-ERR"), "plaintext USER accepted: {capa}");

    // After STARTTLS the certificate verifies for "localhost" and the login works.
    let out = tls_dialog(
        &dovecot,
        dovecot.imap_port(),
        Some("imap"),
        &format!("a LOGIN {user} pw\r\nb LOGOUT\r\n"),
    );
    assert!(out.contains("a OK"), "{out}");
    let out = tls_dialog(
        &dovecot,
        dovecot.pop3_port(),
        Some("pop3"),
        &format!("USER {user}\r\nPASS pw\r\nQUIT\r\n"),
    );
    assert!(out.contains("+OK Logged in"), "{out}");
}

#[test]
fn pop3s_sees_appended_messages_and_wrong_password_fails() {
    let dovecot = Dovecot::start().expect("start dovecot");
    let user = dovecot.add_user("carol", "right").expect("add user");
    let messages: Vec<Vec<u8>> = (0..5).map(message).collect();
    dovecot
        .append_messages(&user, "INBOX", &messages)
        .expect("append");
    let out = tls_dialog(
        &dovecot,
        dovecot.pop3s_port(),
        None,
        &format!("USER {user}\r\nPASS right\r\nSTAT\r\nQUIT\r\n"),
    );
    let size: usize = messages.iter().map(Vec::len).sum();
    assert!(out.contains(&format!("+OK 5 {size}")), "{out}");

    let out = tls_dialog(
        &dovecot,
        dovecot.pop3s_port(),
        None,
        &format!("USER {user}\r\nPASS wrong\r\nQUIT\r\n"),
    );
    assert!(out.contains("-ERR"), "{out}");
}

#[test]
fn append_to_new_mailbox_keeps_order_and_sizes() {
    let dovecot = Dovecot::start().expect("start dovecot");
    let user = dovecot.add_user("dave", "pw").expect("add user");
    // Bare LF line endings: IMAP sizes count them as CRLF.
    let lf: Vec<Vec<u8>> = (0..1000)
        .map(|i| format!("Subject: m{i}\n\nline\n").into_bytes())
        .collect();
    dovecot
        .append_messages(&user, "Lists/Rust", &lf)
        .expect("append to new mailbox");
    dovecot
        .append_messages(&user, "Lists/Rust", &lf[..10])
        .expect("second append");
    assert_eq!(message_count(&dovecot, &user, "Lists/Rust"), 1010);

    let out = dovecot
        .doveadm(&[
            "fetch",
            "-u",
            &user,
            "uid size.virtual hdr.subject",
            "mailbox",
            "Lists/Rust",
            "uid",
            "1:3,1000:1002",
        ])
        .expect("fetch");
    let subjects: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("hdr.subject: "))
        .collect();
    assert_eq!(subjects, ["m0", "m1", "m2", "m999", "m0", "m1"], "{out}");
    let expected = format!("size.virtual: {}", lf[0].len() + 3);
    assert!(out.contains(&expected), "want {expected}: {out}");
}

#[test]
fn users_are_unique_and_isolated() {
    let dovecot = Dovecot::start().expect("start dovecot");
    let a = dovecot.add_user("Same Name!", "pw").expect("add");
    let b = dovecot.add_user("Same Name!", "pw").expect("add");
    assert_ne!(a, b);
    assert!(a.starts_with("samename-"), "{a}");
    dovecot
        .append_messages(&a, "INBOX", &[message(1)])
        .expect("append");
    assert_eq!(message_count(&dovecot, &a, "INBOX"), 1);
    assert_eq!(message_count(&dovecot, &b, "INBOX"), 0);
    assert!(dovecot.add_user("x", "bad:pw").is_err());

    dovecot
        .set_uidvalidity(&a, "INBOX", 4242)
        .expect("set uidvalidity");
    let status = dovecot
        .doveadm(&[
            "mailbox",
            "status",
            "-u",
            &a,
            "uidvalidity messages",
            "INBOX",
        ])
        .expect("status");
    assert!(
        status.contains("uidvalidity=4242") && status.contains("messages=1"),
        "{status}"
    );
    assert_eq!(dovecot.address(&a), format!("{a}@tern.test"));
}

#[test]
fn parallel_instances_and_clean_shutdown() {
    let one = Dovecot::start().expect("start first");
    let two = Dovecot::start().expect("start second");
    let ports_one = [
        one.imap_port(),
        one.imaps_port(),
        one.pop3_port(),
        one.pop3s_port(),
    ];
    let ports_two = [
        two.imap_port(),
        two.imaps_port(),
        two.pop3_port(),
        two.pop3s_port(),
    ];
    assert!(ports_one.iter().all(|p| !ports_two.contains(p)));
    assert_ne!(one.cert_sha256_hex(), two.cert_sha256_hex());
    assert!(one.lmtp_socket().exists(), "no lmtp socket");
    assert!(one.auth_socket().exists(), "no auth socket");

    // The fingerprint matches what openssl computes from the PEM.
    let fp = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(one.cert_pem_path())
        .output()
        .expect("openssl x509");
    let fp = String::from_utf8_lossy(&fp.stdout)
        .replace(':', "")
        .to_ascii_lowercase();
    assert!(
        fp.trim().ends_with(&one.cert_sha256_hex()),
        "{fp} vs {}",
        one.cert_sha256_hex()
    );
    assert_eq!(one.cert_sha256_hex().len(), 64);
    assert!(one.cert_der().len() > 100);

    let dir = one.dir().to_path_buf();
    let pid: u32 = std::fs::read_to_string(dir.join("run/master.pid"))
        .expect("master.pid")
        .trim()
        .parse()
        .expect("pid");
    let (imap, imaps) = (one.imap_port(), one.imaps_port());
    drop(one);
    assert!(!dir.exists(), "temp dir left behind");
    assert!(
        TcpStream::connect(("127.0.0.1", imaps)).is_err(),
        "port {imaps} still open"
    );
    assert!(
        TcpStream::connect(("127.0.0.1", imap)).is_err(),
        "port {imap} still open"
    );
    // Gone, or a zombie waiting for init to reap it (SIGKILLed processes take a moment).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .next();
        if matches!(state, None | Some("Z")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "dovecot {pid} still running: {stat}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // The other instance is unaffected.
    assert!(TcpStream::connect((two.host(), two.imaps_port())).is_ok());
}

#[test]
fn lmtp_delivers_to_any_domain_and_auth_socket_speaks_sasl() {
    use std::os::unix::net::UnixStream;
    let dovecot = Dovecot::start().expect("start dovecot");
    let user = dovecot.add_user("erin", "pw").expect("add user");

    let lmtp = UnixStream::connect(dovecot.lmtp_socket()).expect("connect lmtp");
    lmtp.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut reader = BufReader::new(lmtp.try_clone().expect("clone"));
    let mut writer = lmtp;
    // Reads one (possibly multi-line) reply and returns its last line.
    let mut reply = || {
        let mut line = String::new();
        loop {
            line.clear();
            reader.read_line(&mut line).expect("lmtp reply");
            if line.as_bytes().get(3) != Some(&b'-') {
                return line.clone();
            }
        }
    };
    assert!(reply().starts_with("220"));
    // Upper case and another domain: LMTP lowercases and drops the domain.
    let rcpt = format!("{}@Example.TEST", user.to_uppercase());
    for (cmd, code) in [
        ("LHLO tern.test".to_string(), "250"),
        ("MAIL FROM:<alice@tern.test>".to_string(), "250"),
        (format!("RCPT TO:<{rcpt}>"), "250"),
        ("DATA".to_string(), "354"),
        ("Subject: via lmtp\r\n\r\nhello\r\n.".to_string(), "250"),
        ("QUIT".to_string(), "221"),
    ] {
        writer
            .write_all(format!("{cmd}\r\n").as_bytes())
            .expect("write");
        let line = reply();
        assert!(
            line.starts_with(code),
            "{cmd} -> {line}{}",
            dovecot.log_tail()
        );
    }
    assert_eq!(message_count(&dovecot, &user, "INBOX"), 1);

    // Postfix's SASL client starts like this; the server answers with its mechanisms.
    let mut auth = UnixStream::connect(dovecot.auth_socket()).expect("connect auth");
    auth.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    auth.write_all(b"VERSION\t1\t2\nCPID\t4242\n")
        .expect("write");
    let mut handshake = String::new();
    for line in BufReader::new(auth).lines() {
        let line = line.expect("auth line");
        let done = line == "DONE";
        handshake.push_str(&line);
        handshake.push('\n');
        if done {
            break;
        }
    }
    assert!(handshake.contains("MECH\tPLAIN"), "{handshake}");
}

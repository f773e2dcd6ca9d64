//! A private Postfix 3.x for one test: SMTP submission into a [`Dovecot`] instance.
//!
//! [`Postfix::start`] writes its own `main.cf` and `master.cf`, queue and data
//! directories into a fresh temp folder and runs Postfix's `master -d` in the
//! foreground, so nothing under /etc/postfix or the system queue is used or changed.
//!
//! - Two listeners on 127.0.0.1: submission (STARTTLS required before anything else,
//!   AUTH only after it) and submissions (implicit TLS). Both use the Dovecot instance's
//!   certificate.
//! - AUTH PLAIN and LOGIN through Dovecot's auth socket, so the same users and passwords
//!   work for IMAP, POP3 and SMTP.
//! - Mail for [`TEST_DOMAIN`] goes to Dovecot over LMTP; any local part is accepted at
//!   RCPT and Dovecot's LMTP refuses unknown users, which Postfix turns into a bounce to
//!   the sender. Every other domain is refused at RCPT ("554 5.7.1 Relay access
//!   denied"); there is no `smtp` transport at all, so nothing can leave the machine.
//! - Messages pass through unchanged apart from the `Received:` header Postfix prepends
//!   (no header rewriting, no added Message-ID/Date), plus what Dovecot's LMTP prepends
//!   (`Return-Path:`, `Delivered-To:`, its own `Received:`). Size limit:
//!   [`Postfix::MESSAGE_SIZE_LIMIT`].
//! - 8BITMIME and SMTPUTF8 are advertised, but Dovecot 2.3's LMTP cannot take SMTPUTF8
//!   mail, so non-ASCII envelope addresses are refused at RCPT (553 5.6.7) and raw
//!   non-ASCII header bytes at the end of DATA (550 5.6.7), with or without the SMTPUTF8
//!   parameter. RFC 2047 headers and 8-bit bodies are fine.
//! - Dovecot's auth penalty applies to SMTP AUTH too: after a failed attempt from
//!   127.0.0.1, that instance delays the next ones by 2, 4, 8, then 15 s.
//!
//! Postfix's `master` refuses to run unless the real uid is 0 ("the master command is
//! reserved for the superuser"), so this needs root (as in CI); otherwise
//! [`Postfix::start`] fails with [`io::ErrorKind::PermissionDenied`]. Daemons then drop
//! to the `postfix` system user, which must exist (Debian's `postfix` package creates
//! it). Several instances run side by side: each has its own queue, pid lock and ports.

use std::fs;
use std::io::{self, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use crate::{COUNTER, Dovecot, HOST, TEST_DOMAIN, ctx, lookup_user, run_stdout, scratch_base};

/// How long [`Postfix::start`] waits for both ports to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How many times start retries with new ports when another process took one first.
const START_ATTEMPTS: u32 = 5;

/// Queue folders that hold messages not yet delivered or bounced (deferred and hold are
/// hashed into subfolders, hence the recursive walk in [`count_files`]).
const MESSAGE_QUEUES: [&str; 5] = ["maildrop", "incoming", "active", "deferred", "hold"];

/// Runs Postfix's master in the foreground and stops it once our end of its stdin
/// closes: on drop, but also when the test process dies without dropping, so no
/// instance outlives its test. Then it removes the temp folder.
///
/// The master stays in the group of this shell (`-d` skips its `setsid`), so one signal
/// to the group reaches the master and every daemon it forked. The cleanup job ignores
/// SIGTERM, so `kill -TERM 0` stops everyone else; its final `kill -KILL 0` takes any
/// straggler and the job itself.
const WATCHDOG: &str = r#"
master=$1 conf=$2 dir=$3
# Background jobs get /dev/null as stdin, so hand the pipe over as fd 3.
exec 3<&0
"$master" -c "$conf" -d </dev/null 3<&- >>"$dir/master.stderr" 2>&1 &
pid=$!
(
    trap '' TERM
    cat <&3 >/dev/null
    kill -TERM 0 2>/dev/null
    n=0
    while kill -0 "$pid" 2>/dev/null && [ "$n" -lt 40 ]; do sleep 0.05; n=$((n + 1)); done
    rm -rf "$dir"
    kill -KILL 0
) >/dev/null 2>&1 &
exec 3<&-
wait "$pid"
"#;

/// A running, isolated Postfix that submits into one [`Dovecot`]. Dropping it stops
/// Postfix and removes its folder; drop it before the Dovecot it delivers to, or mail
/// still queued is deferred and lost with the instance.
pub struct Postfix {
    dir: tempfile::TempDir,
    watchdog: Child,
    stdin: Option<ChildStdin>,
    submission_port: u16,
    submissions_port: u16,
    cert_der: Vec<u8>,
    cert_sha256: String,
}

impl std::fmt::Debug for Postfix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postfix")
            .field("dir", &self.dir.path())
            .field("submission_port", &self.submission_port)
            .field("submissions_port", &self.submissions_port)
            .finish_non_exhaustive()
    }
}

/// The `postfix` system user and where Postfix's programs live.
struct Install {
    master: PathBuf,
    owner_uid: u32,
    owner_gid: u32,
}

impl Postfix {
    /// Largest message accepted (`message_size_limit`, advertised as `SIZE`): 40 MiB.
    pub const MESSAGE_SIZE_LIMIT: u64 = 40 * 1024 * 1024;

    /// Starts an isolated Postfix for `dovecot`: own config_directory, queue_directory
    /// and data_directory under a new temp folder, listening on 127.0.0.1 only, on free
    /// ports. Returns once both ports accept connections (within 10 s).
    ///
    /// Fails with [`io::ErrorKind::PermissionDenied`] unless running as root (Postfix's
    /// master requires it), and with the log's tail if Postfix does not come up.
    pub fn start(dovecot: &Dovecot) -> io::Result<Postfix> {
        let install = Install::detect()?;
        let mut last_err = None;
        for _ in 0..START_ATTEMPTS {
            match Self::start_once(dovecot, &install) {
                Ok(postfix) => return Ok(postfix),
                // Another process may grab a port between try_free_port() and master's bind.
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("postfix: no start attempt made")))
    }

    fn start_once(dovecot: &Dovecot, install: &Install) -> io::Result<Postfix> {
        let dir = tempfile::Builder::new()
            .prefix("tern-postfix-")
            .tempdir_in(scratch_base())
            .map_err(|e| ctx(e, "create postfix temp dir"))?;
        let root = dir.path();
        // Daemons running as `postfix` must reach the config, queue and data folders.
        set_mode(root, 0o755)?;
        let (uid, gid) = (install.owner_uid, install.owner_gid);
        for sub in ["conf", "tls"] {
            mkdir(&root.join(sub), 0o755, None)?;
        }
        let queue = root.join("queue");
        mkdir(&queue, 0o755, None)?;
        // The layout `postfix check` would create; master needs pid/, the daemons the rest.
        mkdir(&queue.join("pid"), 0o755, None)?;
        for sub in [
            "active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming",
            "private", "saved", "trace",
        ] {
            mkdir(&queue.join(sub), 0o700, Some((uid, gid)))?;
        }
        mkdir(&queue.join("maildrop"), 0o1730, Some((uid, gid)))?;
        mkdir(&queue.join("public"), 0o710, Some((uid, gid)))?;
        mkdir(&root.join("data"), 0o700, Some((uid, gid)))?;

        // Our own copy of Dovecot's certificate and key: smtpd reads the key as root
        // before dropping privileges, and the copy keeps working if Dovecot's folder goes.
        let cert = root.join("tls").join("cert.pem");
        let key = root.join("tls").join("key.pem");
        fs::copy(dovecot.cert_pem_path(), &cert).map_err(|e| ctx(e, "copy cert.pem"))?;
        fs::copy(dovecot.key_pem_path(), &key).map_err(|e| ctx(e, "copy key.pem"))?;
        set_mode(&cert, 0o644)?;
        set_mode(&key, 0o600)?;

        let auth_socket = dovecot.auth_socket();
        let lmtp_socket = dovecot.lmtp_socket();
        for path in [root, auth_socket.as_path(), lmtp_socket.as_path()] {
            // main.cf splits lists on whitespace and commas.
            if path
                .to_string_lossy()
                .contains(|c: char| c.is_whitespace() || c == ',')
            {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "postfix config cannot hold the path {} (whitespace or comma); \
                         set TERN_TESTENV_TMPDIR to a plain path",
                        path.display()
                    ),
                ));
            }
        }
        let ports = crate::free_ports::<2>()?;
        let conf = root.join("conf");
        let paths = Paths {
            root,
            conf: &conf,
            queue: &queue,
            cert: &cert,
            key: &key,
            auth_socket: &auth_socket,
            lmtp_socket: &lmtp_socket,
        };
        write_file(&conf.join("main.cf"), &main_cf(&paths))?;
        write_file(&conf.join("master.cf"), &master_cf(ports))?;
        write_file(&conf.join("non_ascii_address.regexp"), NON_ASCII_ADDRESS)?;
        write_file(&conf.join("non_ascii_header.regexp"), NON_ASCII_HEADER)?;

        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(WATCHDOG)
            .arg("tern-testenv-postfix")
            .arg(&install.master)
            .arg(&conf)
            .arg(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Own process group: Ctrl-C or a runner killing the test's group must not
            // kill Postfix before the watchdog can clean up after it.
            .process_group(0);
        let mut watchdog = cmd.spawn().map_err(|e| ctx(e, "spawn sh for postfix"))?;
        let stdin = watchdog.stdin.take();
        let mut postfix = Postfix {
            dir,
            watchdog,
            stdin,
            submission_port: ports[0],
            submissions_port: ports[1],
            cert_der: dovecot.cert_der().to_vec(),
            cert_sha256: dovecot.cert_sha256_hex(),
        };
        postfix.wait_ready(ports)?;
        Ok(postfix)
    }

    /// Polls until both ports accept a connection, or fails with the log's tail.
    fn wait_ready(&mut self, ports: [u16; 2]) -> io::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.watchdog.try_wait()? {
                // The master is gone and its sockets with it: a port we cannot bind now
                // belongs to someone else, which start() answers with fresh ports.
                let taken = ports.iter().any(|&p| {
                    TcpListener::bind((Ipv4Addr::LOCALHOST, p))
                        .is_err_and(|e| e.kind() == io::ErrorKind::AddrInUse)
                });
                let log = self.log_tail();
                let kind = if taken || log.contains("Address already in use") {
                    io::ErrorKind::AddrInUse
                } else {
                    io::ErrorKind::Other
                };
                return Err(io::Error::new(
                    kind,
                    format!(
                        "postfix master exited during startup ({status}); it logs fatal errors \
                         before postlogd runs to syslog only, so here is `postconf -n`'s \
                         verdict on the config:\n{}\nlog tail:\n{log}",
                        self.config_warnings()
                    ),
                ));
            }
            let all_up = ports.iter().all(|&p| {
                let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, p));
                TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
            });
            if all_up {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "postfix did not listen on {ports:?} within {START_TIMEOUT:?}; log tail:\n{}",
                        self.log_tail()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// What `postconf -c DIR -n` says about the config on stderr (syntax errors, unknown
    /// parameters), for startup errors.
    fn config_warnings(&self) -> String {
        match Command::new("postconf")
            .arg("-c")
            .arg(self.config_dir())
            .arg("-n")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .output()
        {
            Ok(out) if out.stderr.is_empty() => format!("no complaints ({})", out.status),
            Ok(out) => String::from_utf8_lossy(&out.stderr).into_owned(),
            Err(e) => format!("could not run postconf: {e}"),
        }
    }

    /// Submission port (RFC 6409): STARTTLS offered and required before MAIL and AUTH;
    /// AUTH PLAIN/LOGIN advertised only after it.
    pub fn submission_port(&self) -> u16 {
        self.submission_port
    }

    /// Submission over implicit TLS (RFC 8314), AUTH PLAIN/LOGIN.
    pub fn submissions_port(&self) -> u16 {
        self.submissions_port
    }

    /// The address both listeners bind: "127.0.0.1".
    pub fn host(&self) -> &str {
        HOST
    }

    /// The server certificate (DER): the same self-signed one as the Dovecot instance's.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// Lowercase hex SHA-256 of [`Postfix::cert_der`].
    pub fn cert_sha256_hex(&self) -> String {
        self.cert_sha256.clone()
    }

    /// The server certificate as PEM (CN and SAN "localhost", SAN IP 127.0.0.1).
    pub fn cert_pem_path(&self) -> PathBuf {
        self.dir.path().join("tls").join("cert.pem")
    }

    /// The temp folder holding config (`conf/`), queue, data, certificate and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The config_directory with `main.cf` and `master.cf`, for `postconf -c` by hand.
    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("conf")
    }

    /// Postfix's log file (`maillog_file`): connections, AUTH, queue ids, deliveries.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("postfix.log")
    }

    /// The last lines of Postfix's log (and of the master's stderr), for error messages.
    pub fn log_tail(&self) -> String {
        let mut out = String::new();
        for file in ["postfix.log", "master.stderr"] {
            if let Ok(text) = fs::read_to_string(self.dir.path().join(file)) {
                let lines: Vec<&str> = text.lines().collect();
                for line in &lines[lines.len().saturating_sub(30)..] {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        out
    }

    /// Waits until no message is left in the queue (each delivered over LMTP or bounced,
    /// bounces included), up to `timeout`; polls the queue folders.
    ///
    /// A message whose delivery failed temporarily stays deferred (retried every second
    /// or so), so this then times out with the log's tail.
    pub fn wait_for_empty_queue(&self, timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut queued = 0;
            for name in MESSAGE_QUEUES {
                queued += count_files(&self.dir.path().join("queue").join(name))?;
            }
            if queued == 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "postfix queue still holds {queued} message(s) after {timeout:?}; log tail:\n{}",
                        self.log_tail()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        // The test is over and nothing needs saving: SIGKILL the whole group (watchdog,
        // master and every daemon) rather than wait for an orderly stop.
        let killed = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.watchdog.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !killed {
            // No kill(1)? Closing stdin makes the watchdog stop the group itself.
            drop(self.stdin.take());
        }
        let _ = self.watchdog.wait();
        // Killed processes close their listening sockets as they exit; wait for that so
        // a test can rely on "dropped" meaning "connections refused".
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline
            && [self.submission_port, self.submissions_port]
                .iter()
                .any(|&p| TcpStream::connect((Ipv4Addr::LOCALHOST, p)).is_ok())
        {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Install {
    fn detect() -> io::Result<Install> {
        // /proc/self is owned by the effective uid: no libc call (and no unsafe) needed.
        let meta = fs::metadata("/proc/self").map_err(|e| ctx(e, "stat /proc/self"))?;
        if meta.uid() != 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "tern-testenv Postfix needs root: Postfix's master refuses any other uid \
                 (\"the master command is reserved for the superuser\"); run these tests as root, \
                 as CI does",
            ));
        }
        let daemon_dir =
            run_stdout(Command::new("postconf").args(["-d", "-h", "daemon_directory"]))
                .map_err(|e| ctx(e, "find Postfix (Debian package postfix)"))?;
        let master = Path::new(daemon_dir.trim()).join("master");
        if !master.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("postfix master not found at {}", master.display()),
            ));
        }
        let (owner_uid, owner_gid) = lookup_user("postfix")
            .map_err(|e| ctx(e, "look up the `postfix` system user (mail_owner)"))?;
        Ok(Install {
            master,
            owner_uid,
            owner_gid,
        })
    }
}

/// The paths main.cf refers to.
struct Paths<'a> {
    root: &'a Path,
    conf: &'a Path,
    queue: &'a Path,
    cert: &'a Path,
    key: &'a Path,
    auth_socket: &'a Path,
    lmtp_socket: &'a Path,
}

/// Access table refusing envelope addresses with non-ASCII characters (in Postfix's C
/// locale, `[:print:]` is printable ASCII). See [`main_cf`] on SMTPUTF8.
const NON_ASCII_ADDRESS: &str = "/[^[:print:]]/ 553 5.6.7 non-ASCII address: SMTPUTF8 mail \
    cannot be delivered in this test environment (Dovecot 2.3 LMTP lacks SMTPUTF8)\n";

/// header_checks refusing raw non-ASCII header bytes, for the same reason.
const NON_ASCII_HEADER: &str = "/[^[:print:][:space:]]/ REJECT 5.6.7 non-ASCII header: \
    SMTPUTF8 mail cannot be delivered in this test environment (Dovecot 2.3 LMTP lacks SMTPUTF8)\n";

/// The whole main.cf. Everything that holds state points into the temp folder.
fn main_cf(p: &Paths<'_>) -> String {
    let root = p.root.display();
    let queue = p.queue.display();
    let cert = p.cert.display();
    let key = p.key.display();
    let auth = p.auth_socket.display();
    let lmtp = p.lmtp_socket.display();
    let conf = p.conf.display();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    let size = Postfix::MESSAGE_SIZE_LIMIT;
    format!(
        r#"# Generated by tern-testenv for one test run; nothing here touches /etc/postfix.
compatibility_level = 3.6
multi_instance_name = tern-testenv-{pid}-{n}
queue_directory = {queue}
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop

# Log to a file (served by postlogd in master.cf), no syslog needed.
maillog_file = {root}/postfix.log
maillog_file_prefixes = {root}

myhostname = localhost
mydomain = {TEST_DOMAIN}
myorigin = $myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
# Only exempts loopback from connection and rate limits (benchmarks); no restriction
# below uses permit_mynetworks.
mynetworks = 127.0.0.0/8
smtpd_banner = $myhostname ESMTP Postfix (tern-testenv)

# Nothing is delivered locally, and nothing is relayed.
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relay_domains =
relayhost =
local_transport = error:no local delivery in tests
relay_transport = error:no outside mail in tests
default_transport = error:no outside mail in tests
biff = no
append_dot_mydomain = no

# Test users live in Dovecot; any local part is accepted here and Dovecot's LMTP rejects
# unknown users, which Postfix bounces to the sender.
virtual_mailbox_domains = {TEST_DOMAIN}
virtual_mailbox_maps = static:ok
virtual_transport = lmtp:unix:{lmtp}
lmtp_tls_security_level = none

# No DNS anywhere: unix-socket LMTP, no reverse lookups of clients.
disable_dns_lookups = yes
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_host_lookup = native
smtpd_peername_lookup = no

# Deliver what clients send: no header rewriting, no added Message-ID/Date/From.
local_header_rewrite_clients =
always_add_missing_headers = no
# SMTPUTF8 is advertised, but Dovecot 2.3's LMTP does not offer it, so Postfix would
# accept UTF-8 mail and then bounce it (5.6.7), and the bounce, carrying the same UTF-8,
# would be dropped as undeliverable too. Refuse such mail during the SMTP dialogue instead:
# non-ASCII envelope addresses at RCPT, raw non-ASCII headers at the end of DATA.
smtputf8_enable = yes
header_checks = regexp:{conf}/non_ascii_header.regexp
message_size_limit = {size}
virtual_mailbox_limit = 0
mailbox_size_limit = 0

# Submission: TLS first, then SASL through Dovecot, then mail to {TEST_DOMAIN} only.
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_security_level = encrypt
smtpd_tls_auth_only = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = {auth}
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
smtpd_relay_restrictions = reject_unauth_destination
smtpd_sender_restrictions = check_sender_access regexp:{conf}/non_ascii_address.regexp
smtpd_recipient_restrictions =
    check_recipient_access regexp:{conf}/non_ascii_address.regexp,
    permit_sasl_authenticated, reject

# Tests should not wait: no pauses after errors or under load, quick retries.
smtpd_error_sleep_time = 0
in_flow_delay = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 5s
"#
    )
}

/// master.cf: the two submission listeners and the daemons Postfix needs behind them.
/// No `smtp` (client) service exists, so no code path can connect anywhere.
fn master_cf([submission, submissions]: [u16; 2]) -> String {
    format!(
        r#"# Generated by tern-testenv. Nothing is chrooted; private/unpriv as Debian ships.
# service type private unpriv chroot wakeup maxproc command
postlog   unix-dgram n  -       n       -       1       postlogd
{HOST}:{submission} inet n -   n       -       -       smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_wrappermode=no
{HOST}:{submissions} inet n -  n       -       -       smtpd
  -o syslog_name=postfix/submissions
  -o smtpd_tls_wrappermode=yes
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
"#
    )
}

/// Creates a folder with `mode`, owned by `owner` when given.
fn mkdir(path: &Path, mode: u32, owner: Option<(u32, u32)>) -> io::Result<()> {
    fs::create_dir(path).map_err(|e| ctx(e, &format!("create {}", path.display())))?;
    // create_dir applies the umask; set the exact mode (sticky bit included) afterwards.
    set_mode(path, mode)?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))
            .map_err(|e| ctx(e, &format!("chown {}", path.display())))?;
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| ctx(e, &format!("chmod {}", path.display())))
}

/// Writes a config file, dated a minute back: Postfix rereads a file modified within the
/// last second or so, every 300 ms, until it looks settled, which cost 2 s per start.
fn write_file(path: &Path, text: &str) -> io::Result<()> {
    let what = || format!("write {}", path.display());
    let file = fs::File::create(path).map_err(|e| ctx(e, &what()))?;
    (&file)
        .write_all(text.as_bytes())
        .map_err(|e| ctx(e, &what()))?;
    let past = SystemTime::now() - Duration::from_secs(60);
    file.set_times(fs::FileTimes::new().set_accessed(past).set_modified(past))
        .map_err(|e| ctx(e, &format!("set times of {}", path.display())))?;
    drop(file);
    set_mode(path, 0o644)
}

/// Number of regular files under `dir`, recursively (queue files; a missing folder is empty).
fn count_files(dir: &Path) -> io::Result<usize> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(ctx(e, &format!("read {}", dir.display()))),
    };
    let mut n = 0;
    for entry in entries {
        let entry = entry.map_err(|e| ctx(e, &format!("read {}", dir.display())))?;
        let kind = match entry.file_type() {
            Ok(kind) => kind,
            // Moved or removed by Postfix between readdir and stat.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(ctx(e, "stat queue file")),
        };
        if kind.is_dir() {
            n += count_files(&entry.path())?;
        } else {
            n += 1;
        }
    }
    Ok(n)
}

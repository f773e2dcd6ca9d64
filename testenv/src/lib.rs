//! Real test servers for Tern's tests and benchmarks, isolated on loopback.
//!
//! [`Dovecot::start`] runs a private Dovecot 2.3 (IMAP, POP3, LMTP) with its own
//! config, certificate, users and Maildirs in a fresh temp folder, on free ports of
//! 127.0.0.1, and stops it again on drop.
//!
//! [`Postfix::start`] adds a private Postfix (submission ports, SASL and LMTP delivery
//! through that Dovecot; needs root, see [`postfix`]).
//!
//! Things worth knowing:
//! - As root (CI), Dovecot runs its helpers as `dovecot`/`dovenull` and mail as `nobody`
//!   (Dovecot refuses uid 0 for mail); as another user, everything runs as that user.
//! - Plain ports go through a small relay (`plain_proxy`) so Dovecot does not treat
//!   loopback as secure: LOGIN and USER/PASS are refused before STARTTLS/STLS.
//! - Each user has its own passwd-file, because Dovecot rereads a changed one at most
//!   once a second.
//! - Instances live in /dev/shm when possible (see [`scratch_base`]); if the test
//!   process dies without dropping, a watchdog stops Dovecot and removes the folder.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub mod corpus;
mod plain_proxy;
pub mod postfix;
pub use postfix::Postfix;
pub mod proxy;
use plain_proxy::PlainProxy;

/// The only address the test servers listen on.
pub const HOST: &str = "127.0.0.1";

/// Mail domain for test addresses (`user@tern.test`); `.test` is reserved, so mail to
/// it can never leave the machine. LMTP strips the domain, so any domain reaches the user.
pub const TEST_DOMAIN: &str = "tern.test";

/// How long [`Dovecot::start`] waits for the ports to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How many times start retries with new ports when another process took one first.
const START_ATTEMPTS: u32 = 5;

/// Numbers instances and users so names stay unique within this process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Runs Dovecot in the foreground and stops it once our end of its stdin closes: on
/// drop, but also when the test process dies without dropping (panic=abort, SIGKILL),
/// so no instance outlives its test. Then it removes the temp folder.
const WATCHDOG: &str = r#"
conf=$1 dir=$2
# Background jobs get /dev/null as stdin, so hand the pipe over as fd 3.
exec 3<&0
dovecot -F -c "$conf" </dev/null 3<&- >>"$dir/dovecot.stderr" 2>&1 &
pid=$!
(
    cat <&3 >/dev/null
    kill -TERM "$pid" 2>/dev/null
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    rm -rf "$dir"
) >/dev/null 2>&1 &
exec 3<&-
wait "$pid"
"#;

/// A running, isolated Dovecot instance. Dropping it stops Dovecot and removes its folder.
pub struct Dovecot {
    dir: tempfile::TempDir,
    conf: PathBuf,
    watchdog: Child,
    stdin: Option<ChildStdin>,
    /// Relays for the plain ports; see `plain_proxy` for why.
    imap_proxy: Option<PlainProxy>,
    pop3_proxy: Option<PlainProxy>,
    imaps_port: u16,
    pop3s_port: u16,
    cert_der: Vec<u8>,
    cert_sha256: String,
    cert_pem: PathBuf,
    mail_owner: MailOwner,
}

impl std::fmt::Debug for Dovecot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dovecot")
            .field("dir", &self.dir.path())
            .field("imap_port", &self.imap_port())
            .field("imaps_port", &self.imaps_port)
            .field("pop3_port", &self.pop3_port())
            .field("pop3s_port", &self.pop3s_port)
            .finish_non_exhaustive()
    }
}

/// Who owns the mail files: as root, an unprivileged user (Dovecot refuses uid 0 for mail);
/// otherwise the current user, as a non-root Dovecot cannot switch users.
#[derive(Clone, Copy)]
struct MailOwner {
    uid: u32,
    gid: u32,
    /// True when we run as root and must chown files we write ourselves.
    chown: bool,
}

/// The system users Dovecot runs as, and the owner of the mail files.
struct Identity {
    internal_user: String,
    internal_group: String,
    login_user: String,
    mail: MailOwner,
    root: bool,
}

impl Dovecot {
    /// Starts a fresh, isolated Dovecot: own config, base_dir, state, logs and Maildirs under a new temp folder; listening on 127.0.0.1 only on free ports.
    pub fn start() -> io::Result<Dovecot> {
        Self::start_with_config("")
    }

    /// [`Dovecot::start`] with `extra` appended to the generated dovecot.conf, e.g.
    /// `imap_capability = +X-GM-EXT-1` to look like a server that files sent mail itself.
    pub fn start_with_config(extra: &str) -> io::Result<Dovecot> {
        let identity = Identity::detect()?;
        let mut last_err = None;
        for _ in 0..START_ATTEMPTS {
            match Self::start_once(&identity, extra) {
                Ok(dovecot) => return Ok(dovecot),
                // Another process may grab a port between free_port() and Dovecot's bind.
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("dovecot: no start attempt made")))
    }

    fn start_once(identity: &Identity, extra: &str) -> io::Result<Dovecot> {
        let dir = tempfile::Builder::new()
            .prefix("tern-dovecot-")
            .tempdir_in(scratch_base())
            .map_err(|e| ctx(e, "create temp dir"))?;
        let root = dir.path().to_path_buf();
        let root = root.as_path();
        // Dovecot's auth process (an unprivileged user when we are root) reads the
        // passwd-file, and Postfix later reaches the sockets: the folder must be traversable.
        fs::set_permissions(root, fs::Permissions::from_mode(0o755))
            .map_err(|e| ctx(e, "chmod temp dir"))?;
        for sub in ["home", "state", "users"] {
            fs::create_dir(root.join(sub)).map_err(|e| ctx(e, &format!("create {sub}")))?;
        }
        let (cert_der, cert_sha256) = make_cert(root)?;

        let ports = free_ports::<4>()?;
        let conf = root.join("dovecot.conf");
        let text = format!("{}\n{extra}\n", config(root, identity, ports));
        fs::write(&conf, text).map_err(|e| ctx(e, "write config"))?;

        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(WATCHDOG)
            .arg("tern-testenv-dovecot")
            .arg(&conf)
            .arg(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Own process group: Ctrl-C or a runner killing the test's group must not
            // kill Dovecot before the watchdog can clean up after it.
            .process_group(0);
        let mut watchdog = cmd.spawn().map_err(|e| ctx(e, "spawn sh for dovecot"))?;
        let stdin = watchdog.stdin.take();

        let mut dovecot = Dovecot {
            dir,
            conf,
            watchdog,
            stdin,
            imap_proxy: None,
            pop3_proxy: None,
            imaps_port: ports[1],
            pop3s_port: ports[3],
            cert_der,
            cert_sha256,
            cert_pem: root.join("cert.pem"),
            mail_owner: identity.mail,
        };
        dovecot.wait_ready(ports)?;
        dovecot.imap_proxy =
            Some(PlainProxy::start(ports[0]).map_err(|e| ctx(e, "start IMAP relay"))?);
        dovecot.pop3_proxy =
            Some(PlainProxy::start(ports[2]).map_err(|e| ctx(e, "start POP3 relay"))?);
        Ok(dovecot)
    }

    /// Polls until every port accepts a connection, or fails with the log's tail.
    fn wait_ready(&mut self, ports: [u16; 4]) -> io::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.watchdog.try_wait()? {
                let log = self.log_tail();
                let kind = if log.contains("Address already in use") {
                    io::ErrorKind::AddrInUse
                } else {
                    io::ErrorKind::Other
                };
                return Err(io::Error::new(
                    kind,
                    format!("dovecot exited during startup ({status}); log tail:\n{log}"),
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
                        "dovecot did not listen on {ports:?} within {START_TIMEOUT:?}; log tail:\n{}",
                        self.log_tail()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Plain IMAP port: STARTTLS offered, LOGINDISABLED and no plaintext auth before TLS.
    pub fn imap_port(&self) -> u16 {
        self.imap_proxy.as_ref().map_or(0, PlainProxy::port)
    }

    /// IMAP over implicit TLS.
    pub fn imaps_port(&self) -> u16 {
        self.imaps_port
    }

    /// Plain POP3 port: STLS offered, no USER/PASS before TLS.
    pub fn pop3_port(&self) -> u16 {
        self.pop3_proxy.as_ref().map_or(0, PlainProxy::port)
    }

    /// POP3 over implicit TLS.
    pub fn pop3s_port(&self) -> u16 {
        self.pop3s_port
    }

    /// The address every listener binds: "127.0.0.1".
    pub fn host(&self) -> &str {
        HOST
    }

    /// The self-signed server certificate (DER) so tests can pin it.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// Lowercase hex SHA-256 of [`Dovecot::cert_der`].
    pub fn cert_sha256_hex(&self) -> String {
        self.cert_sha256.clone()
    }

    /// The server certificate as PEM (CN and SAN "localhost", SAN IP 127.0.0.1).
    pub fn cert_pem_path(&self) -> &Path {
        &self.cert_pem
    }

    /// The server's private key as PEM, for other test servers (Postfix) that reuse the cert.
    pub fn key_pem_path(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }

    /// Adds a user (its own passwd-file, fresh users per test); returns its login name (unique: hint, counter and pid).
    pub fn add_user(&self, name_hint: &str, password: &str) -> io::Result<String> {
        if password.contains([':', '\n', '\r']) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "password must not contain ':' or line breaks (passwd-file format)",
            ));
        }
        // Lowercase [a-z0-9-] only: LMTP lowercases recipients (%Ln) and Maildir paths stay plain.
        let mut hint: String = name_hint
            .chars()
            .map(|c| c.to_ascii_lowercase())
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(32)
            .collect();
        if hint.is_empty() {
            hint.push_str("user");
        }
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{hint}-{n}-{}", std::process::id());
        let home = self.dir.path().join("home").join(&name);
        fs::create_dir(&home).map_err(|e| ctx(e, "create user home"))?;
        self.chown_if_root(&home)?;
        let line = format!(
            "{name}:{{PLAIN}}{password}:{}:{}::{}::\n",
            self.mail_owner.uid,
            self.mail_owner.gid,
            home.display()
        );
        // One passwd-file per user: Dovecot rereads a changed passwd-file at most once a
        // second, so a user added to a shared file right after a lookup would stay unknown.
        // A new file is read at its first lookup. Write it whole, then rename it into place.
        let users = self.dir.path().join("users");
        let tmp = users.join(format!(".{name}.tmp"));
        fs::write(&tmp, line).map_err(|e| ctx(e, "write passwd-file"))?;
        fs::rename(&tmp, users.join(&name)).map_err(|e| ctx(e, "rename passwd-file"))?;
        Ok(name)
    }

    /// The e-mail address that reaches `user` (over LMTP): `user@tern.test`.
    pub fn address(&self, user: &str) -> String {
        format!("{user}@{TEST_DOMAIN}")
    }

    /// Runs `doveadm -c <conf> ARGS`, returning stdout; error with stderr on non-zero exit.
    pub fn doveadm(&self, args: &[&str]) -> io::Result<String> {
        let out = Command::new("doveadm")
            .arg("-c")
            .arg(&self.conf)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| ctx(e, "run doveadm"))?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "doveadm {} failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Appends raw RFC 5322 messages to a mailbox of a user, in order (UIDs follow the
    /// slice), without flags. Creates the mailbox if needed. Writes straight into the
    /// Maildir (tmp/ then rename into cur/, as a delivery agent does) and has Dovecot sync
    /// once: about 0.7 s for 10,000 and 5 s for 100,000 small messages on tmpfs, where
    /// `doveadm import` from an mbox took 5 s and 300 s, and `doveadm save` 28 ms each.
    pub fn append_messages(
        &self,
        user: &str,
        mailbox: &str,
        messages: &[Vec<u8>],
    ) -> io::Result<()> {
        let path = self.maildir_path(user, mailbox)?;
        let (tmp, cur) = (path.join("tmp"), path.join("cur"));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(io::Error::other)?
            .as_secs();
        let batch = COUNTER.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let mut name = String::new();
        for (i, msg) in messages.iter().enumerate() {
            // Dovecot assigns UIDs to new files sorted by the time and microseconds in
            // their names, so encode the index there to keep the caller's order.
            let (secs, usecs) = (now + i as u64 / 1_000_000, i % 1_000_000);
            name.clear();
            let _ = write!(
                name,
                "{secs}.M{usecs:06}P{pid}Q{batch}.tern,S={},W={}",
                msg.len(),
                virtual_size(msg)
            );
            let tmp_file = tmp.join(&name);
            let mut file = fs::File::create(&tmp_file)
                .map_err(|e| ctx(e, &format!("create {}", tmp_file.display())))?;
            file.write_all(msg)
                .map_err(|e| ctx(e, &format!("write {}", tmp_file.display())))?;
            if self.mail_owner.chown {
                std::os::unix::fs::fchown(
                    &file,
                    Some(self.mail_owner.uid),
                    Some(self.mail_owner.gid),
                )
                .map_err(|e| ctx(e, "chown message"))?;
            }
            drop(file);
            fs::rename(&tmp_file, cur.join(format!("{name}:2,")))
                .map_err(|e| ctx(e, "move message into cur/"))?;
        }
        // One sync makes Dovecot notice the files, assign UIDs and bump MODSEQ, so the
        // messages are there for doveadm and for IMAP sessions already open.
        self.doveadm(&["force-resync", "-u", user, mailbox])?;
        Ok(())
    }

    /// Gives `mailbox` a new UIDVALIDITY (as after a server-side rebuild), so clients must
    /// drop what they cached for it.
    pub fn set_uidvalidity(&self, user: &str, mailbox: &str, uidvalidity: u32) -> io::Result<()> {
        let value = uidvalidity.to_string();
        self.doveadm(&[
            "mailbox",
            "update",
            "-u",
            user,
            "--uid-validity",
            &value,
            mailbox,
        ])?;
        Ok(())
    }

    /// The Maildir folder of `mailbox`, creating the mailbox when it does not exist yet.
    fn maildir_path(&self, user: &str, mailbox: &str) -> io::Result<PathBuf> {
        let out = self.doveadm(&["mailbox", "path", "-u", user, mailbox])?;
        let path = PathBuf::from(out.trim());
        if !path.join("cur").is_dir() {
            // INBOX is created on first access; other mailboxes must be created. Creating
            // an existing one (a Maildir whose cur/ was removed) fails harmlessly.
            if mailbox.eq_ignore_ascii_case("INBOX") {
                self.doveadm(&["mailbox", "status", "-u", user, "messages", "INBOX"])?;
            } else if let Err(e) = self.doveadm(&["mailbox", "create", "-u", user, mailbox])
                && !e.to_string().contains("already exists")
            {
                return Err(e);
            }
        }
        for sub in ["tmp", "cur"] {
            if !path.join(sub).is_dir() {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("maildir {} has no {sub}/ after creating it", path.display()),
                ));
            }
        }
        Ok(path)
    }

    /// The temp folder holding config, certificate, logs, sockets and Maildirs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Dovecot's log file (errors, logins, deliveries).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("dovecot.log")
    }

    /// Path of the generated dovecot.conf, for `doveadm -c` or `doveconf -c` by hand.
    pub fn config_path(&self) -> &Path {
        &self.conf
    }

    /// Unix socket where Dovecot's LMTP accepts deliveries (mode 0666), for Postfix.
    pub fn lmtp_socket(&self) -> PathBuf {
        self.dir.path().join("run").join("lmtp")
    }

    /// Unix socket for SASL authentication against Dovecot's users (mode 0666), for Postfix.
    pub fn auth_socket(&self) -> PathBuf {
        self.dir.path().join("run").join("auth-sasl")
    }

    /// The last lines of Dovecot's logs, for error messages.
    pub fn log_tail(&self) -> String {
        let mut out = String::new();
        for file in ["dovecot.log", "dovecot.stderr"] {
            if let Ok(text) = fs::read_to_string(self.dir.path().join(file)) {
                let lines: Vec<&str> = text.lines().collect();
                for line in &lines[lines.len().saturating_sub(20)..] {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        out
    }

    fn chown_if_root(&self, path: &Path) -> io::Result<()> {
        if self.mail_owner.chown {
            std::os::unix::fs::chown(path, Some(self.mail_owner.uid), Some(self.mail_owner.gid))
                .map_err(|e| ctx(e, &format!("chown {}", path.display())))?;
        }
        Ok(())
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // Dovecot's master takes about a second to stop on SIGTERM; the test is over and
        // nothing needs saving, so SIGKILL the whole group (watchdog, master, children).
        let killed = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.watchdog.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !killed {
            // No kill(1)? Closing stdin makes the watchdog send SIGTERM instead.
            drop(self.stdin.take());
        }
        let _ = self.watchdog.wait();
        self.imap_proxy = None;
        self.pop3_proxy = None;
        // Killed processes close their listening sockets as they exit; wait for that so
        // a test can rely on "dropped" meaning "connections refused".
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline
            && [self.imaps_port, self.pop3s_port]
                .iter()
                .any(|&p| TcpStream::connect((Ipv4Addr::LOCALHOST, p)).is_ok())
        {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Where instance folders go: `$TERN_TESTENV_TMPDIR`, else /dev/shm, else the temp dir.
///
/// Maildirs are one file per message; on tmpfs creating and deleting 100,000 of them
/// takes seconds, on a busy disk (ext4 with online discard) it can take minutes.
pub fn scratch_base() -> PathBuf {
    if let Some(dir) = std::env::var_os("TERN_TESTENV_TMPDIR") {
        return PathBuf::from(dir);
    }
    let shm = Path::new("/dev/shm");
    let writable =
        fs::metadata(shm).is_ok_and(|m| m.is_dir() && m.permissions().mode() & 0o002 != 0);
    if writable {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// Returns a free TCP port on 127.0.0.1.
///
/// # Panics
/// If 127.0.0.1:0 cannot be bound at all (no loopback); see [`try_free_port`].
pub fn free_port() -> u16 {
    try_free_port().unwrap_or_else(|e| panic!("{e}"))
}

/// Returns a free TCP port on 127.0.0.1, or the error from binding 127.0.0.1:0.
pub fn try_free_port() -> io::Result<u16> {
    // Binding port 0 lets the kernel pick an unused port; it stays free after we close it
    // unless another process races us, which Dovecot::start handles by retrying.
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| ctx(e, "bind 127.0.0.1:0 for a free port"))
}

/// `N` distinct free ports: the listeners stay open until all are picked, so the kernel
/// cannot hand out one port twice (which a server then refuses as a duplicate listener).
pub fn free_ports<const N: usize>() -> io::Result<[u16; N]> {
    let listeners = (0..N)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<io::Result<Vec<_>>>()
        .map_err(|e| ctx(e, "bind 127.0.0.1:0 for a free port"))?;
    let mut ports = [0u16; N];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr()?.port();
    }
    Ok(ports)
}

impl Identity {
    fn detect() -> io::Result<Identity> {
        // /proc/self is owned by the effective uid/gid: no libc call (and no unsafe) needed.
        let meta = fs::metadata("/proc/self").map_err(|e| ctx(e, "stat /proc/self"))?;
        if meta.uid() == 0 {
            // Debian's Dovecot users; mail belongs to nobody because Dovecot refuses uid 0.
            let (uid, gid) = lookup_user("nobody")?;
            Ok(Identity {
                internal_user: "dovecot".into(),
                internal_group: "dovecot".into(),
                login_user: "dovenull".into(),
                mail: MailOwner {
                    uid,
                    gid,
                    chown: true,
                },
                root: true,
            })
        } else {
            let name = run_stdout(Command::new("id").arg("-un"))?;
            let name = name.trim().to_string();
            let group = run_stdout(Command::new("id").arg("-gn"))?;
            Ok(Identity {
                internal_user: name.clone(),
                internal_group: group.trim().to_string(),
                login_user: name,
                mail: MailOwner {
                    uid: meta.uid(),
                    gid: meta.gid(),
                    chown: false,
                },
                root: false,
            })
        }
    }
}

/// Numeric uid and primary gid of a system user.
fn lookup_user(name: &str) -> io::Result<(u32, u32)> {
    let out = run_stdout(Command::new("id").arg("-u").arg(name))?;
    let uid = out.trim().parse().map_err(io::Error::other)?;
    let out = run_stdout(Command::new("id").arg("-g").arg(name))?;
    let gid = out.trim().parse().map_err(io::Error::other)?;
    Ok((uid, gid))
}

/// The whole dovecot.conf. Everything that holds state points into `dir`.
fn config(dir: &Path, id: &Identity, ports: [u16; 4]) -> String {
    let d = dir.display();
    let [imap, imaps, pop3, pop3s] = ports;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    let (uid, gid) = (id.mail.uid, id.mail.gid);
    // Login processes chroot into base_dir by default, which only root may do.
    let chroot = if id.root { "" } else { "  chroot =\n" };
    let internal = &id.internal_user;
    let internal_group = &id.internal_group;
    let login = &id.login_user;
    format!(
        r#"# Generated by tern-testenv for one test run; nothing here touches /etc/dovecot.
instance_name = tern-testenv-{pid}-{n}
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
protocols = imap pop3 lmtp
listen = 127.0.0.1

ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
disable_plaintext_auth = yes
# The plain listeners sit behind plain_proxy, which tells Dovecot the client is
# 127.0.0.2 so that loopback connections are not treated as secure.
haproxy_trusted_networks = 127.0.0.1
auth_mechanisms = plain login
# Wrong-password tests should not wait the default 2 s.
auth_failure_delay = 0
auth_verbose = yes

default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {login}
first_valid_uid = {uid}
first_valid_gid = {gid}

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users/%u
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/users/%u
}}

mail_location = maildir:~/Maildir
# Tests and benchmarks do not need crash safety; fsync would dominate their time.
mail_fsync = never
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Drafts {{
    special_use = \Drafts
    auto = subscribe
  }}
  mailbox Sent {{
    special_use = \Sent
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \Trash
    auto = subscribe
  }}
  mailbox Junk {{
    special_use = \Junk
    auto = subscribe
  }}
  mailbox Archive {{
    special_use = \Archive
    auto = subscribe
  }}
}}

protocol imap {{
  # Benchmarks open many connections per user.
  mail_max_userip_connections = 1000
}}
protocol pop3 {{
  mail_max_userip_connections = 1000
}}
protocol lmtp {{
  # Deliver user@any.domain to user.
  auth_username_format = %Ln
}}

service imap-login {{
{chroot}  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
    haproxy = yes
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
    ssl = yes
  }}
}}
service pop3-login {{
{chroot}  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3}
    haproxy = yes
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {pop3s}
    ssl = yes
  }}
}}
service anvil {{
{chroot}  # No growing login delay after a test's deliberate wrong password.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
}}
service auth {{
  unix_listener auth-sasl {{
    mode = 0666
  }}
}}
"#
    )
}

/// Makes a self-signed EC certificate for "localhost" and 127.0.0.1 in `dir` (cert.pem,
/// key.pem, cert.der) and returns the DER and its SHA-256 in lowercase hex.
fn make_cert(dir: &Path) -> io::Result<(Vec<u8>, String)> {
    // Our own openssl config, so the distro's defaults (CA:TRUE for -x509) do not apply:
    // rustls/webpki reject a CA certificate used as the server's own certificate.
    let cnf = dir.join("openssl.cnf");
    fs::write(
        &cnf,
        "[req]\nprompt = no\ndistinguished_name = dn\nx509_extensions = ext\n\
         [dn]\nCN = localhost\n\
         [ext]\nsubjectAltName = DNS:localhost,IP:127.0.0.1\n\
         basicConstraints = critical,CA:FALSE\n\
         keyUsage = critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\n",
    )
    .map_err(|e| ctx(e, "write openssl.cnf"))?;
    let pem = dir.join("cert.pem");
    let der = dir.join("cert.der");
    run_stdout(
        Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .args(["-nodes", "-days", "3650", "-config"])
            .arg(&cnf)
            .arg("-keyout")
            .arg(dir.join("key.pem"))
            .arg("-out")
            .arg(&pem),
    )?;
    run_stdout(
        Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&pem)
            .arg("-out")
            .arg(&der),
    )?;
    let digest = run_stdout(
        Command::new("openssl")
            .args(["dgst", "-sha256", "-r"])
            .arg(&der),
    )?;
    let hex = digest
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if hex.len() != 64 {
        return Err(io::Error::other(format!(
            "unexpected openssl dgst output: {digest}"
        )));
    }
    let mut bytes = Vec::new();
    fs::File::open(&der)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| ctx(e, "read cert.der"))?;
    Ok((bytes, hex))
}

/// Size of the message with every bare LF counted as CRLF, as IMAP reports it.
fn virtual_size(msg: &[u8]) -> usize {
    let bare_lf = msg
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' && (i == 0 || msg[i - 1] != b'\r'))
        .count();
    msg.len() + bare_lf
}

/// Runs a command, returning stdout; error with the command and its stderr on failure.
fn run_stdout(cmd: &mut Command) -> io::Result<String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| ctx(e, &format!("run {program}")))?;
    if !out.status.success() {
        let mut msg = format!("{program} failed ({}): ", out.status);
        msg.push_str(String::from_utf8_lossy(&out.stderr).trim());
        return Err(io::Error::other(msg));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Adds what we were doing to an I/O error, keeping its kind.
fn ctx(e: io::Error, what: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

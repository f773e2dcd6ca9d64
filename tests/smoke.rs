//! Smoke test: the real binary under Xvfb, on a profile whose account points at the test
//! Dovecot, shows the synced inbox (a screenshot is saved to target/screenshots/), and
//! announces new mail through a real notification service (dunst on the test session bus).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tern_core::account::{Account, Config, Incoming, Security, Server};
use tern_core::profile::Profile;
use tern_core::store::{FolderRole, SortOrder, Store};

/// Kills the child when the test ends, however it ends.
struct Guard(Child);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_display() -> u32 {
    (90..200)
        .find(|n| {
            !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
        })
        .unwrap()
}

fn screenshot(display: &str, out: &Path) {
    let xwd = out.with_extension("xwd");
    let status = Command::new("xwd")
        .args(["-root", "-silent", "-display", display, "-out"])
        .arg(&xwd)
        .status()
        .unwrap();
    assert!(status.success(), "xwd failed");
    let status = Command::new("/usr/bin/convert")
        .arg(&xwd)
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "convert failed");
    let _ = std::fs::remove_file(xwd);
}

#[test]
fn the_app_shows_the_synced_inbox_in_a_real_window() {
    let dovecot = tern_testenv::Dovecot::start().unwrap();
    let user = dovecot.add_user("smoke", "smoke-password").unwrap();
    dovecot
        .append_messages(&user, "INBOX", &tern_testenv::corpus::messages(0..60))
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let profile = Profile::open(Some(dir.path().join("profile"))).unwrap();
    let account = Account {
        id: format!("smoke-{}", std::process::id()),
        display_name: "Alice".into(),
        email: "alice@example.org".into(),
        incoming: Incoming::Imap(Server {
            host: dovecot.host().into(),
            port: dovecot.imaps_port(),
            security: Security::ImplicitTls,
            login: user.clone(),
            pinned_cert_sha256: Some(dovecot.cert_sha256_hex()),
            plaintext_acknowledged: false,
        }),
        ..Account::default()
    };
    tern_core::secrets::set_password(&account.incoming_secret_key(), "smoke-password").unwrap();
    Config {
        accounts: vec![account.clone()],
        ..Config::default()
    }
    .save(&profile.config_path())
    .unwrap();

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
    std::thread::sleep(Duration::from_millis(500));
    let (_dunst, notices) = notification_service(&display);
    let _app = Guard(
        Command::new(env!("CARGO_BIN_EXE_tern"))
            .arg("--profile")
            .arg(profile.dir())
            .env("DISPLAY", &display)
            .env("ICED_BACKEND", "tiny-skia")
            .env_remove("WAYLAND_DISPLAY")
            .spawn()
            .unwrap(),
    );

    // The window is up once the store it reads from holds the inbox.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut shown = 0;
    while Instant::now() < deadline {
        if let Ok(store) = Store::open(&profile.store_path())
            && let Ok(Some(inbox)) = store.folder_by_role(&account.id, FolderRole::Inbox)
        {
            shown = store
                .page(inbox.id, 0, 100, SortOrder::DateDesc)
                .map(|p| p.len())
                .unwrap_or(0);
            if shown == 60 {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(shown, 60, "the app synced the inbox");
    // Two refresh ticks of the window.
    std::thread::sleep(Duration::from_secs(2));
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("smoke-inbox.png");
    screenshot(&display, &png);
    assert!(
        std::fs::metadata(&png).unwrap().len() > 10_000,
        "a real picture, not a blank"
    );

    // New mail arrives while the app runs: IDLE tells it, and the desktop says so.
    let mut one = tern_testenv::corpus::message(60);
    let at = one.windows(9).position(|w| w == b"Subject: ").unwrap();
    one.splice(at + 9..at + 9, b"Smoke notice ".iter().copied());
    dovecot.append_messages(&user, "INBOX", &[one]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let printed = notices.lock().unwrap().clone();
        if printed.contains("New mail from") && printed.contains("Smoke notice") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no new-mail notice; the notification service printed:\n{printed}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // Started again on the same profile (a mailto: link clicked, say), Tern hands the
    // request to the running one and exits: a composer opens there, no second app.
    let gui_toml = profile.dir().join("gui.toml");
    let open_drafts = || -> usize {
        let text = std::fs::read_to_string(&gui_toml).unwrap_or_default();
        let settings: toml::Table = text.parse().unwrap_or_default();
        settings
            .get("open_drafts")
            .and_then(|d| d.as_array())
            .map_or(0, |d| d.len())
    };
    assert_eq!(open_drafts(), 0);
    for args in [
        vec![],
        vec!["mailto:bob@example.org?subject=Second%20launch"],
    ] {
        let mut second = Command::new(env!("CARGO_BIN_EXE_tern"))
            .arg("--profile")
            .arg(profile.dir())
            .args(&args)
            .env("DISPLAY", &display)
            .env("ICED_BACKEND", "tiny-skia")
            .env_remove("WAYLAND_DISPLAY")
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = second.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = second.kill();
                panic!("a second launch {args:?} kept running beside the first");
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        assert!(status.success(), "{args:?}: {status}");
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while open_drafts() != 1 {
        assert!(
            Instant::now() < deadline,
            "the running Tern opened no composer for the mailto: link"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(1));
    screenshot(&display, &dir.join("smoke-second-launch.png"));
    let _ = tern_core::secrets::delete_password(&account.incoming_secret_key());
}

/// Starts dunst on `display` (on the test's session bus) printing every notice it gets;
/// what it printed so far is in the returned buffer.
fn notification_service(display: &str) -> (Guard, Arc<Mutex<String>>) {
    let mut child = Command::new("dunst")
        .arg("-print")
        .env("DISPLAY", display)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let printed = Arc::new(Mutex::new(String::new()));
    let sink = printed.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    (Guard(child), printed)
}

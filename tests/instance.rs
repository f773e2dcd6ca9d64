//! A second launch on a profile a running Tern has open: its request reaches the running
//! one over the profile's socket, also after a Tern that crashed left its socket behind,
//! and a second listener on the same profile does not steal the first one's requests.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use iced::futures::StreamExt;
use std::time::Duration;
use tern::instance::{self, Request};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

/// Hands `request` over from another thread (as another process would, blocking) once the
/// listener has had time to bind.
fn hand_over_later(dir: &std::path::Path, request: Request) -> std::thread::JoinHandle<bool> {
    let dir = dir.to_owned();
    std::thread::spawn(move || {
        for _ in 0..50 {
            if instance::hand_over(&dir, &request) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    })
}

#[test]
fn a_later_launch_hands_its_request_to_the_running_tern() {
    let dir = tempfile::tempdir().unwrap();
    // Nobody there yet: the launch goes on as the only Tern.
    assert!(!instance::hand_over(dir.path(), &Request::Show));

    runtime().block_on(async {
        let mut requests = Box::pin(instance::listen(dir.path().to_owned()));
        let url = "mailto:ada@example.org?subject=Hello";
        let sender = hand_over_later(dir.path(), Request::MailTo(url.into()));
        let got = tokio::time::timeout(Duration::from_secs(10), requests.next()).await;
        assert_eq!(got.unwrap(), Some(Request::MailTo(url.into())));
        assert!(sender.join().unwrap(), "the launch was told it was taken");

        let sender = hand_over_later(dir.path(), Request::Show);
        let got = tokio::time::timeout(Duration::from_secs(10), requests.next()).await;
        assert_eq!(got.unwrap(), Some(Request::Show));
        assert!(sender.join().unwrap());

        // A second listener (a race between two launches) gives up; the first keeps
        // getting the requests.
        let mut other = Box::pin(instance::listen(dir.path().to_owned()));
        let ended = tokio::time::timeout(Duration::from_secs(10), other.next()).await;
        assert_eq!(ended.unwrap(), None);
        let sender = hand_over_later(dir.path(), Request::Show);
        let got = tokio::time::timeout(Duration::from_secs(10), requests.next()).await;
        assert_eq!(got.unwrap(), Some(Request::Show));
        assert!(sender.join().unwrap());
    });
}

#[test]
fn a_socket_left_by_a_crashed_tern_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    // A socket file nobody listens on, as a killed Tern leaves it.
    drop(std::os::unix::net::UnixListener::bind(dir.path().join("tern.sock")).unwrap());
    assert!(dir.path().join("tern.sock").exists());
    assert!(!instance::hand_over(dir.path(), &Request::Show));

    runtime().block_on(async {
        let mut requests = Box::pin(instance::listen(dir.path().to_owned()));
        let sender = hand_over_later(dir.path(), Request::Show);
        let got = tokio::time::timeout(Duration::from_secs(10), requests.next()).await;
        assert_eq!(got.unwrap(), Some(Request::Show));
        assert!(sender.join().unwrap());
    });
    // Only its owner may talk to it.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("tern.sock"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "{mode:o}");
}

#[test]
fn a_peer_that_is_not_tern_gets_nothing_done() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let mut requests = Box::pin(instance::listen(dir.path().to_owned()));
        let path = dir.path().join("tern.sock");
        let junk = std::thread::spawn(move || {
            for _ in 0..50 {
                if let Ok(mut s) = std::os::unix::net::UnixStream::connect(&path) {
                    s.write_all(b"file:///etc/passwd\n").unwrap();
                    let mut reply = Vec::new();
                    let _ = s.read_to_end(&mut reply);
                    return reply;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            panic!("no listener");
        });
        let junk_reply = tokio::task::spawn_blocking(move || junk.join().unwrap());
        // The junk is refused without an answer; a real request after it still works.
        let sender = hand_over_later(dir.path(), Request::Show);
        let got = tokio::time::timeout(Duration::from_secs(10), requests.next()).await;
        assert_eq!(got.unwrap(), Some(Request::Show));
        assert!(sender.join().unwrap());
        assert_eq!(junk_reply.await.unwrap(), b"");
    });
}

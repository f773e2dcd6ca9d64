//! What every screen test needs: running a screen's task as the app's runtime would, and
//! comparing a drawn window with its committed snapshot.

use iced::futures::StreamExt;
use std::path::PathBuf;

/// Runs a task to the end and returns the messages it produced (widget operations are
/// the runtime's business and skipped).
pub fn run<M: Send + 'static>(runtime: &tokio::runtime::Runtime, task: iced::Task<M>) -> Vec<M> {
    let Some(stream) = iced_test::runtime::task::into_stream(task) else {
        return Vec::new();
    };
    runtime.block_on(
        stream
            .filter_map(|action| async move {
                match action {
                    iced_test::runtime::Action::Output(m) => Some(m),
                    _ => None,
                }
            })
            .collect(),
    )
}

/// Compares a drawn window with tests/snapshots/NAME. Under CI a missing snapshot fails
/// (a new one is written only on a developer's machine, to be looked at and committed);
/// on a mismatch the window as drawn now goes to target/snapshots-failed for a look.
pub fn check_snapshot(snapshot: &iced_test::simulator::Snapshot, name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let expected = dir.join(format!("{name}-tiny-skia.png"));
    if std::env::var_os("CI").is_some() {
        assert!(
            expected.exists(),
            "missing snapshot {} (run the test locally and commit it)",
            expected.display()
        );
    }
    if !snapshot.matches_image(dir.join(name)).unwrap() {
        let failed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/snapshots-failed");
        let _ = std::fs::remove_file(failed.join(format!("{name}-tiny-skia.png")));
        let _ = snapshot.matches_image(failed.join(name));
        panic!(
            "the window differs from {} (now: {})",
            expected.display(),
            failed.join(name).display()
        );
    }
}

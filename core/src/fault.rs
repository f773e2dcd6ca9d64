//! Crash points for the tests that kill Tern at each step of a durable protocol (the
//! outbox). In a debug build started with `TERN_CRASH_AT=<name>`, the process aborts at
//! that point: no destructor runs, no buffer is flushed, as with a kill. Release builds
//! compile this to nothing.

/// Aborts the process here if the tests asked for a crash at `name`.
pub fn crash_point(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("TERN_CRASH_AT").is_ok_and(|at| at == name) {
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}

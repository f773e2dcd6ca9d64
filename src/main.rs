//! Tern, a desktop email client.
//!
//! Usage: `tern [--profile DIR]`. The profile folder holds the config and the local store;
//! it defaults to the OS's data folder (or `TERN_PROFILE`).

mod app;
mod i18n;

use std::path::PathBuf;

fn main() -> iced::Result {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,tern=info,tern_core=info".into()),
        )
        .init();
    let mut profile = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--profile" {
            profile = args.next().map(PathBuf::from);
        } else if let Some(dir) = arg.strip_prefix("--profile=") {
            profile = Some(PathBuf::from(dir));
        }
    }
    app::run(profile)
}

//! Tern, a desktop email client.
//!
//! Usage: `tern [--profile DIR] [mailto:ADDRESS]`. The profile folder holds the config and
//! the local store; it defaults to the OS's data folder (or `TERN_PROFILE`).

use std::path::PathBuf;
use tern::app::{self, Options};
use tern::instance::{self, Request};
use tern_core::profile::Profile;

fn main() -> iced::Result {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,tern=info,tern_core=info".into()),
        )
        .init();
    let mut options = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--profile" {
            options.profile = args.next().map(PathBuf::from);
        } else if let Some(dir) = arg.strip_prefix("--profile=") {
            options.profile = Some(PathBuf::from(dir));
        } else if arg.to_ascii_lowercase().starts_with("mailto:") {
            options.mailto = Some(arg);
        } else {
            tracing::warn!("ignoring unknown argument {arg:?}");
        }
    }
    // A Tern already running on this profile takes the request; this one is not needed.
    if let Ok(profile) = Profile::open(options.profile.clone()) {
        let request = match &options.mailto {
            Some(url) => Request::MailTo(url.clone()),
            None => Request::Show,
        };
        if instance::hand_over(profile.dir(), &request) {
            return Ok(());
        }
    }
    app::run(options)
}

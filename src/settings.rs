//! The GUI's own settings, kept in `gui.toml` in the profile beside the engine's
//! config: theme, list order, and the senders whose remote images the user allowed.
//! Tolerant on read (a missing or older file gives defaults), atomic on write.

use crate::screen::settings::RemoteContent;
use crate::theme;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tern_core::store::DraftId;

/// The order of the message list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sort {
    #[default]
    Newest,
    Oldest,
    Sender,
}

impl Sort {
    pub fn order(self) -> tern_core::store::SortOrder {
        use tern_core::store::SortOrder;
        match self {
            Sort::Newest => SortOrder::DateDesc,
            Sort::Oldest => SortOrder::DateAsc,
            Sort::Sender => SortOrder::SenderAsc,
        }
    }
}

/// See the module docs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub theme: theme::Choice,
    pub sort: Sort,
    /// Senders (lower-case addresses) whose mail may load remote images.
    pub remote_images: BTreeSet<String>,
    /// When mail may load remote content at all.
    pub remote_content: RemoteContent,
    /// Drafts open in a composer window. A draft stays listed if the app dies, and its
    /// composer reopens at the next start; closing the window takes it off.
    pub open_drafts: BTreeSet<DraftId>,
}

#[derive(Clone, Debug, thiserror::Error)]
#[error("cannot write {path}: {message}")]
pub struct SaveError {
    pub path: String,
    pub message: String,
}

impl Settings {
    /// The settings file of the profile at `dir`.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join("gui.toml")
    }

    /// Reads the file; anything unreadable gives the defaults (with a log line), since
    /// no setting here is worth refusing to start over.
    pub fn load(path: &Path) -> Settings {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).unwrap_or_else(|e| {
                tracing::warn!("{}: {e}; using default settings", path.display());
                Settings::default()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Settings::default(),
            Err(e) => {
                tracing::warn!("{}: {e}; using default settings", path.display());
                Settings::default()
            }
        }
    }

    /// Writes the file through a temporary one, so a crash leaves the old or the new.
    pub fn save(&self, path: &Path) -> Result<(), SaveError> {
        let err = |e: &dyn std::fmt::Display| SaveError {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let text = toml::to_string_pretty(self).map_err(|e| err(&e))?;
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(&tmp, text).map_err(|e| err(&e))?;
        std::fs::rename(&tmp, path).map_err(|e| err(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_settings_load_back_and_junk_gives_defaults() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = Settings::path(dir.path());
        assert_eq!(Settings::load(&path), Settings::default());
        let mut s = Settings {
            theme: theme::Choice::Dark,
            sort: Sort::Sender,
            ..Settings::default()
        };
        s.remote_images.insert("news@example.org".into());
        s.save(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Settings::load(&path), s);
        std::fs::write(&path, "theme = 7").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Settings::load(&path), Settings::default());
    }
}

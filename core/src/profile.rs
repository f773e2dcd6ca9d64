//! Where a profile lives: the config file, the local store and the cache.
//!
//! A profile is one folder. The default comes from the OS conventions (`directories`);
//! `--profile DIR` or the `TERN_PROFILE` environment variable override it, for tests and
//! portable installs.

use std::path::{Path, PathBuf};

/// The environment variable that overrides the profile folder.
pub const PROFILE_ENV: &str = "TERN_PROFILE";

#[derive(Debug, thiserror::Error, Clone)]
pub enum ProfileError {
    #[error("no home folder to keep the profile in")]
    NoHome,
    #[error("cannot create the profile folder {path}: {message}")]
    Create { path: PathBuf, message: String },
}

/// A profile folder and the files inside it.
#[derive(Clone, Debug)]
pub struct Profile {
    dir: PathBuf,
}

impl Profile {
    /// Opens the profile at `dir`, or from `TERN_PROFILE`, or the OS default; creates it.
    pub fn open(dir: Option<PathBuf>) -> Result<Profile, ProfileError> {
        let dir = match dir.or_else(|| std::env::var_os(PROFILE_ENV).map(PathBuf::from)) {
            Some(dir) => dir,
            None => directories::ProjectDirs::from("org", "Tern", "Tern")
                .ok_or(ProfileError::NoHome)?
                .data_dir()
                .to_path_buf(),
        };
        std::fs::create_dir_all(&dir).map_err(|e| ProfileError::Create {
            path: dir.clone(),
            message: e.to_string(),
        })?;
        Ok(Profile { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The accounts and settings, as TOML.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.toml")
    }

    /// The local store (SQLite).
    pub fn store_path(&self) -> PathBuf {
        self.dir.join("store.sqlite3")
    }
}

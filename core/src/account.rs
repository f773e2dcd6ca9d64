//! Account and identity settings, kept as TOML in the profile. Never a password here:
//! those live in the keychain (see [`crate::secrets`]).

use serde::{Deserialize, Serialize};
use std::path::Path;

/// How a connection to a server is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Security {
    /// TLS from the first byte (IMAP 993, POP3 995, SMTP 465).
    #[default]
    ImplicitTls,
    /// A plain connection upgraded with STARTTLS; failure to upgrade is an error, never a
    /// silent downgrade.
    StartTls,
    /// No encryption at all: only as an explicit, warned opt-in
    /// (see [`Server::plaintext_acknowledged`]).
    Plaintext,
}

/// A server endpoint and how to log in to it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// The login name; often the address.
    pub login: String,
    /// SHA-256 (lowercase hex) of a certificate the user chose to trust for this account
    /// although it failed verification. Exactly that certificate is accepted.
    pub pinned_cert_sha256: Option<String>,
    /// The user confirmed they want to send their password unencrypted.
    pub plaintext_acknowledged: bool,
}

impl Server {
    /// The keychain key of this server's password for `account`.
    pub fn secret_key(&self, account: &str, role: &str) -> String {
        format!("{account}/{role}/{}@{}", self.login, self.host)
    }
}

/// The protocol used to read mail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "protocol", rename_all = "lowercase")]
pub enum Incoming {
    Imap(Server),
    Pop3(Server),
}

impl Default for Incoming {
    fn default() -> Self {
        Incoming::Imap(Server::default())
    }
}

impl Incoming {
    pub fn server(&self) -> &Server {
        match self {
            Incoming::Imap(s) | Incoming::Pop3(s) => s,
        }
    }
}

/// A sender identity: the From the user writes as, and its signature.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Identity {
    pub name: String,
    pub email: String,
    pub reply_to: Option<String>,
    pub signature: String,
}

/// One mail account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Account {
    /// Stable id, also the account key in the store.
    pub id: String,
    pub display_name: String,
    pub email: String,
    pub identities: Vec<Identity>,
    pub incoming: Incoming,
    pub outgoing: Option<Server>,
    /// Whether the server files a copy of each sent message in Sent itself (as some large
    /// providers do): Tern then files no copy of its own; the next sync brings the server's.
    pub server_files_sent: ServerFilesSent,
    /// What a POP3 account does with the server's copy; ignored for IMAP.
    #[serde(default)]
    pub pop3: Pop3Options,
}

/// Whether an account's server files sent mail in Sent itself.
///
/// Written as `"auto"`, `"yes"` or `"no"`. Configs from before this setting had three
/// values hold a bool: `true` reads as `Yes`, `false` (what every account was saved with
/// unless the user said otherwise) as `Auto`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerFilesSent {
    /// Learnt at each login: an IMAP server advertising Gmail's `X-GM-EXT-1` does.
    #[default]
    Auto,
    Yes,
    No,
}

impl<'de> Deserialize<'de> for ServerFilesSent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Old(bool),
            Word(String),
        }
        match Stored::deserialize(deserializer)? {
            Stored::Old(true) => Ok(ServerFilesSent::Yes),
            Stored::Old(false) => Ok(ServerFilesSent::Auto),
            Stored::Word(word) => match word.as_str() {
                "auto" => Ok(ServerFilesSent::Auto),
                "yes" => Ok(ServerFilesSent::Yes),
                "no" => Ok(ServerFilesSent::No),
                other => Err(serde::de::Error::invalid_value(
                    serde::de::Unexpected::Str(other),
                    &"\"auto\", \"yes\", \"no\" or a bool",
                )),
            },
        }
    }
}

/// When a POP3 account deletes the server's copy of a message it has downloaded. The
/// server copy is only ever deleted once the local copy is stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pop3Options {
    /// Keep messages on the server after download; false deletes each one at the first
    /// sync after it was stored.
    pub leave_on_server: bool,
    /// Delete from the server once downloaded more than this many days ago.
    pub delete_after_days: Option<u32>,
    /// Delete from the server once the local copy is deleted or sits in the Trash.
    pub delete_when_deleted_here: bool,
}

impl Default for Pop3Options {
    fn default() -> Self {
        Pop3Options {
            leave_on_server: true,
            delete_after_days: None,
            delete_when_deleted_here: false,
        }
    }
}

impl Account {
    /// The keychain key of the incoming server's password.
    pub fn incoming_secret_key(&self) -> String {
        self.incoming.server().secret_key(&self.id, "incoming")
    }
}

/// Everything in config.toml.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub accounts: Vec<Account>,
    /// Seconds between two copies of a draft in the server's Drafts folder (default 30).
    pub draft_server_interval_secs: Option<u64>,
}

#[derive(Debug, thiserror::Error, Clone)]
pub enum ConfigError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("{path} is not valid: {message}")]
    Parse { path: String, message: String },
    #[error("cannot write {path}: {message}")]
    Write { path: String, message: String },
}

impl Config {
    /// Loads the config; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => {
                return Err(ConfigError::Read {
                    path: path.display().to_string(),
                    message: e.to_string(),
                });
            }
        };
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// Writes the config atomically (temp file, fsync, rename), so a crash leaves the old
    /// or the new file, never half of one.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let err = |e: &dyn std::fmt::Display| ConfigError::Write {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let text = toml::to_string_pretty(self).map_err(|e| err(&e))?;
        let tmp = path.with_extension("toml.tmp");
        {
            use std::io::Write;
            let mut file = std::fs::File::create(&tmp).map_err(|e| err(&e))?;
            file.write_all(text.as_bytes()).map_err(|e| err(&e))?;
            file.sync_all().map_err(|e| err(&e))?;
        }
        std::fs::rename(&tmp, path).map_err(|e| err(&e))
    }
}

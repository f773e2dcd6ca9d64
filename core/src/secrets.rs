//! Passwords live in the OS keychain and nowhere else.
//!
//! There is deliberately no file fallback: without a keychain the caller gets
//! [`SecretsError::NoKeychain`] and asks the user again next time.

use std::sync::Arc;

/// The keychain service name under which Tern keeps its entries.
const SERVICE: &str = "org.tern.Tern";

#[derive(Debug, thiserror::Error, Clone)]
pub enum SecretsError {
    #[error("no keychain is available: {0}")]
    NoKeychain(String),
    #[error("the keychain has no password for this account")]
    NotFound,
    #[error("the keychain refused: {0}")]
    Keychain(Arc<str>),
}

impl From<keyring::Error> for SecretsError {
    fn from(e: keyring::Error) -> Self {
        match e {
            keyring::Error::NoEntry => SecretsError::NotFound,
            keyring::Error::NoDefaultStore | keyring::Error::NoStorageAccess(_) => {
                SecretsError::NoKeychain(e.to_string())
            }
            keyring::Error::PlatformFailure(_) => SecretsError::NoKeychain(e.to_string()),
            other => SecretsError::Keychain(other.to_string().into()),
        }
    }
}

/// The keychain entry of one account's server login (incoming and outgoing differ).
fn entry(key: &str) -> Result<keyring::Entry, SecretsError> {
    if let Err(e) = keyring::Entry::store_status() {
        return Err(SecretsError::NoKeychain(e.to_string()));
    }
    Ok(keyring::Entry::new(SERVICE, key)?)
}

/// Saves a password. Blocking (D-Bus on Linux): call from a blocking task.
pub fn set_password(key: &str, password: &str) -> Result<(), SecretsError> {
    entry(key)?.set_password(password)?;
    Ok(())
}

/// Reads a password. Blocking.
pub fn password(key: &str) -> Result<String, SecretsError> {
    Ok(entry(key)?.get_password()?)
}

/// Removes a password; a missing one is not an error. Blocking.
pub fn delete_password(key: &str) -> Result<(), SecretsError> {
    match entry(key)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Async wrappers: the keychain talks D-Bus synchronously, so keep it off the runtime.
pub async fn password_async(key: String) -> Result<String, SecretsError> {
    tokio::task::spawn_blocking(move || password(&key))
        .await
        .map_err(|e| SecretsError::Keychain(e.to_string().into()))?
}

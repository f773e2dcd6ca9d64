//! Saving the account: the password into the keychain, then the account into
//! config.toml, and a unique id for a new account.

use crate::i18n::tr_args;
use std::path::PathBuf;
use tern_core::account::{Account, Config};
use tern_core::secrets;

use super::Secret;

/// Everything saving needs, taken from the form.
#[derive(Clone, Debug)]
pub struct SaveRequest {
    pub config_path: PathBuf,
    pub account: Account,
    /// None when editing without typing a new password: the stored one is kept.
    pub password: Option<Secret>,
    /// The account as it was before editing.
    pub previous: Option<Account>,
}

/// The keychain keys of an account's two passwords.
fn secret_keys(account: &Account) -> (String, Option<String>) {
    (
        account.incoming_secret_key(),
        account
            .outgoing
            .as_ref()
            .map(|s| s.secret_key(&account.id, "outgoing")),
    )
}

/// Stores the password in the keychain, then the account in config.toml (in that order:
/// an account is never saved whose password went nowhere). Blocking: keychain and disk.
/// Returns the account id, or a sentence for the user.
pub fn save(request: SaveRequest) -> Result<String, String> {
    let keychain = |e: secrets::SecretsError| {
        tr_args("setup-error-keychain", &[("reason", e.to_string().into())])
    };
    let (incoming_key, outgoing_key) = secret_keys(&request.account);
    let old_keys = request.previous.as_ref().map(secret_keys);
    let password = match &request.password {
        Some(p) => p.0.clone(),
        None => {
            let old = old_keys.as_ref().map_or(incoming_key.as_str(), |k| &k.0);
            secrets::password(old).map_err(keychain)?
        }
    };
    secrets::set_password(&incoming_key, &password).map_err(keychain)?;
    if let Some(key) = &outgoing_key {
        secrets::set_password(key, &password).map_err(keychain)?;
    }
    let config_error = |e: tern_core::account::ConfigError| {
        tr_args("setup-error-config", &[("reason", e.to_string().into())])
    };
    let mut config = Config::load(&request.config_path).map_err(config_error)?;
    match config
        .accounts
        .iter_mut()
        .find(|a| a.id == request.account.id)
    {
        Some(existing) => *existing = request.account.clone(),
        None => config.accounts.push(request.account.clone()),
    }
    config.save(&request.config_path).map_err(config_error)?;
    // Keys the edit made obsolete (another host or login) go, once the new ones are in.
    if let Some((old_in, old_out)) = old_keys {
        for old in std::iter::once(old_in).chain(old_out) {
            if old != incoming_key && Some(&old) != outgoing_key.as_ref() {
                let _ = secrets::delete_password(&old);
            }
        }
    }
    Ok(request.account.id)
}

/// An id for a new account: its address, made unique among `existing`.
pub(super) fn new_account_id(email: &str, existing: &[Account]) -> String {
    let base: String = email
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || "@._-+".contains(*c))
        .collect();
    let base = if base.is_empty() {
        "account".to_owned()
    } else {
        base
    };
    let taken = |id: &str| existing.iter().any(|a| a.id == id);
    if !taken(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|id| !taken(id))
        .unwrap_or(base)
}

//! Account setup, on first run and for "add account" or "edit account" in settings: name,
//! address and password; the servers pre-filled from the address's domain and editable;
//! "Test connection" that says in plain words what is wrong; and saving, which puts the
//! password in the keychain and the account in config.toml.
//!
//! Nothing here talks to a server or the keychain on the UI thread: tests and saving run
//! as tasks ([`run_test`], [`save`]) whose results come back as messages.

mod save;
mod view;

use save::new_account_id;
pub use save::{SaveRequest, save};

pub(crate) use view::{field_menu, quiet_button, text_area};

use crate::i18n::{tr, tr_args};
use iced::Task;
use std::path::{Path, PathBuf};
use tern_core::account::{Account, Config, Identity, Incoming, Security, Server};
use tern_core::setup::{self, Outcome, Protocol};

/// A password typed by the user: kept out of `Debug` output, so out of any log.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

/// Which of the account's two servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Incoming,
    Outgoing,
}

/// A security setting as the menu names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecurityChoice(pub Security);

impl SecurityChoice {
    pub const ALL: [SecurityChoice; 3] = [
        SecurityChoice(Security::ImplicitTls),
        SecurityChoice(Security::StartTls),
        SecurityChoice(Security::Plaintext),
    ];
}

impl std::fmt::Display for SecurityChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&tr(match self.0 {
            Security::ImplicitTls => "setup-security-tls",
            Security::StartTls => "setup-security-starttls",
            Security::Plaintext => "setup-security-none",
        }))
    }
}

/// One server as the form holds it: text as typed, checked when used.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerForm {
    pub host: String,
    pub port: String,
    pub security: Security,
    pub login: String,
    pub pinned_cert_sha256: Option<String>,
    pub plaintext_acknowledged: bool,
}

impl ServerForm {
    fn from_server(server: &Server) -> ServerForm {
        ServerForm {
            host: server.host.clone(),
            port: server.port.to_string(),
            security: server.security,
            login: server.login.clone(),
            pinned_cert_sha256: server.pinned_cert_sha256.clone(),
            plaintext_acknowledged: server.plaintext_acknowledged,
        }
    }

    /// The server, or the id of the sentence that says what is wrong with the form.
    fn to_server(&self) -> Result<Server, &'static str> {
        let host = self.host.trim();
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err("setup-error-host");
        }
        let port = match self.port.trim().parse::<u16>() {
            Ok(port) if port > 0 => port,
            _ => return Err("setup-error-port"),
        };
        let login = self.login.trim();
        if login.contains(['\r', '\n', '\0']) {
            return Err("setup-error-login");
        }
        Ok(Server {
            host: host.to_owned(),
            port,
            security: self.security,
            login: login.to_owned(),
            pinned_cert_sha256: self.pinned_cert_sha256.clone(),
            plaintext_acknowledged: self.plaintext_acknowledged,
        })
    }
}

#[derive(Clone, Debug)]
pub enum Message {
    Name(String),
    Email(String),
    Password(Secret),
    Protocol(Protocol),
    Host(Side, String),
    Port(Side, String),
    Login(Side, String),
    Security(Side, SecurityChoice),
    AllowPlaintext(Side, bool),
    /// Trust this certificate (its SHA-256) for this account's server, then test again.
    Trust(Side, String),
    Test,
    /// A test's results; the number says which test, so a stale one is dropped.
    Tested(u64, Tested),
    Save,
    /// The account was saved (its id), or why not.
    Saved(Result<String, String>),
    Cancel,
}

/// What "Test connection" found for each server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tested {
    pub incoming: Outcome,
    pub outgoing: Outcome,
}

/// What the app does after an update.
pub enum Action {
    None,
    Run(Task<Message>),
    /// config.toml has changed (this account added or edited): the app restarts its engine.
    AccountsChanged {
        account: String,
    },
    /// The user left the form without saving.
    Cancel,
}

/// Everything a test needs, taken from the form.
#[derive(Clone, Debug)]
pub struct TestRequest {
    pub protocol: Protocol,
    pub incoming: Server,
    pub outgoing: Server,
    pub password: Secret,
}

/// Tests both servers at once.
pub async fn run_test(request: TestRequest) -> Tested {
    let (incoming, outgoing) = tokio::join!(
        setup::test_incoming(&request.incoming, &request.password.0, request.protocol),
        setup::test_outgoing(&request.outgoing, &request.password.0),
    );
    Tested { incoming, outgoing }
}

/// A plausible address: something@domain.tld, no spaces or line breaks.
fn plausible_email(email: &str) -> bool {
    let email = email.trim();
    !email.contains(char::is_whitespace)
        && email
            .rsplit_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
}

/// See the module docs.
pub struct Setup {
    config_path: PathBuf,
    /// The account being edited, as it was; None for a new one.
    previous: Option<Account>,
    first_run: bool,
    pub name: String,
    pub email: String,
    pub password: Secret,
    pub protocol: Protocol,
    pub incoming: ServerForm,
    pub outgoing: ServerForm,
    /// The user edited a server by hand: a changed address no longer refills it.
    servers_edited: bool,
    pub testing: bool,
    pub tested: Option<Tested>,
    test_generation: u64,
    pub saving: bool,
    /// Why the form cannot be used or saved, in plain words.
    pub error: Option<String>,
}

impl Setup {
    /// The form for a new account; `first_run` greets a new user.
    pub fn new(config_path: PathBuf, first_run: bool) -> Setup {
        Setup {
            config_path,
            previous: None,
            first_run,
            name: String::new(),
            email: String::new(),
            password: Secret::default(),
            protocol: Protocol::Imap,
            incoming: ServerForm::default(),
            outgoing: ServerForm::default(),
            servers_edited: false,
            testing: false,
            tested: None,
            test_generation: 0,
            saving: false,
            error: None,
        }
    }

    /// The form for an existing account; its password stays unless a new one is typed.
    pub fn edit(config_path: PathBuf, account: &Account) -> Setup {
        let mut setup = Setup::new(config_path, false);
        setup.name = account.display_name.clone();
        setup.email = account.email.clone();
        let (protocol, incoming) = match &account.incoming {
            Incoming::Imap(s) => (Protocol::Imap, s),
            Incoming::Pop3(s) => (Protocol::Pop3, s),
        };
        setup.protocol = protocol;
        setup.incoming = ServerForm::from_server(incoming);
        setup.outgoing = account
            .outgoing
            .as_ref()
            .map(ServerForm::from_server)
            .unwrap_or_default();
        setup.servers_edited = true;
        setup.previous = Some(account.clone());
        setup
    }

    /// The number of the latest test started: its [`Message::Tested`] carries it, and
    /// results with another number are stale and dropped.
    pub fn test_number(&self) -> u64 {
        self.test_generation
    }

    /// Whether this edits an existing account.
    pub fn is_edit(&self) -> bool {
        self.previous.is_some()
    }

    fn form(&mut self, side: Side) -> &mut ServerForm {
        match side {
            Side::Incoming => &mut self.incoming,
            Side::Outgoing => &mut self.outgoing,
        }
    }

    /// Fills both servers from the address's domain (the most likely candidates).
    fn guess(&mut self) {
        let candidates = setup::guess_servers(&self.email);
        let first = |p: Protocol| {
            candidates
                .iter()
                .find(|c| c.protocol == p)
                .map(|c| ServerForm::from_server(&c.server))
        };
        self.incoming = first(self.protocol).unwrap_or_default();
        self.outgoing = first(Protocol::Smtp).unwrap_or_default();
    }

    /// A change to a setting makes an earlier test's result stale.
    fn changed(&mut self) {
        self.tested = None;
        self.error = None;
        self.test_generation += 1;
        self.testing = false;
    }

    /// The servers and password as a test would use them, or why the form is not ready.
    pub fn test_request(&self) -> Result<TestRequest, String> {
        if !plausible_email(&self.email) {
            return Err(tr("setup-error-email"));
        }
        if self.password.0.is_empty() && !self.is_edit() {
            return Err(tr("setup-error-password"));
        }
        let incoming = self.incoming.to_server().map_err(tr)?;
        let outgoing = self.outgoing.to_server().map_err(tr)?;
        Ok(TestRequest {
            protocol: self.protocol,
            incoming,
            outgoing,
            password: self.password.clone(),
        })
    }

    /// The account the form describes, ready to save.
    fn account(&self, request: &TestRequest) -> Account {
        let email = self.email.trim().to_owned();
        let name = self.name.trim().to_owned();
        let mut account = self.previous.clone().unwrap_or_default();
        if account.id.is_empty() {
            let existing = Config::load(&self.config_path)
                .map(|c| c.accounts)
                .unwrap_or_default();
            account.id = new_account_id(&email, &existing);
        }
        // The main identity follows the account's name and address; others stay.
        let main = Identity {
            name: name.clone(),
            email: email.clone(),
            ..account.identities.first().cloned().unwrap_or_default()
        };
        match account.identities.first_mut() {
            Some(first) if first.email.eq_ignore_ascii_case(&account.email) => *first = main,
            Some(_) => {}
            None => account.identities.push(main),
        }
        account.display_name = name;
        account.email = email;
        account.incoming = match self.protocol {
            Protocol::Pop3 => Incoming::Pop3(request.incoming.clone()),
            _ => Incoming::Imap(request.incoming.clone()),
        };
        account.outgoing = Some(request.outgoing.clone());
        account
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Name(name) => {
                self.name = name;
                self.error = None;
            }
            Message::Email(email) => {
                let old = std::mem::replace(&mut self.email, email);
                if !self.servers_edited {
                    self.guess();
                } else {
                    // A login that was the address follows it.
                    let email = self.email.trim().to_owned();
                    for side in [Side::Incoming, Side::Outgoing] {
                        let form = self.form(side);
                        if form.login.trim() == old.trim() {
                            form.login = email.clone();
                        }
                    }
                }
                self.changed();
            }
            Message::Password(password) => {
                self.password = password;
                self.changed();
            }
            Message::Protocol(protocol) => {
                self.protocol = protocol;
                if !self.servers_edited {
                    self.guess();
                } else {
                    // Swap a default port for the other protocol's.
                    let port = match (protocol, self.incoming.port.trim()) {
                        (Protocol::Pop3, "993") => Some("995"),
                        (Protocol::Pop3, "143") => Some("110"),
                        (Protocol::Imap, "995") => Some("993"),
                        (Protocol::Imap, "110") => Some("143"),
                        _ => None,
                    };
                    if let Some(port) = port {
                        self.incoming.port = port.to_owned();
                    }
                }
                self.changed();
            }
            Message::Host(side, host) => {
                let form = self.form(side);
                form.host = host;
                // Another server: a certificate trusted for the old one does not carry over.
                form.pinned_cert_sha256 = None;
                self.servers_edited = true;
                self.changed();
            }
            Message::Port(side, port) => {
                self.form(side).port = port.chars().filter(char::is_ascii_digit).collect();
                self.servers_edited = true;
                self.changed();
            }
            Message::Login(side, login) => {
                self.form(side).login = login;
                self.servers_edited = true;
                self.changed();
            }
            Message::Security(side, choice) => {
                let form = self.form(side);
                let port = match (side, choice.0, form.port.trim()) {
                    (Side::Outgoing, Security::StartTls, "465") => Some("587"),
                    (Side::Outgoing, Security::ImplicitTls, "587") => Some("465"),
                    (Side::Incoming, Security::StartTls, "993") => Some("143"),
                    (Side::Incoming, Security::ImplicitTls, "143") => Some("993"),
                    (Side::Incoming, Security::StartTls, "995") => Some("110"),
                    (Side::Incoming, Security::ImplicitTls, "110") => Some("995"),
                    _ => None,
                };
                form.security = choice.0;
                if let Some(port) = port {
                    form.port = port.to_owned();
                }
                self.servers_edited = true;
                self.changed();
            }
            Message::AllowPlaintext(side, allow) => {
                self.form(side).plaintext_acknowledged = allow;
                self.changed();
            }
            Message::Trust(side, fingerprint) => {
                self.form(side).pinned_cert_sha256 = Some(fingerprint);
                self.changed();
                return self.test();
            }
            Message::Test => return self.test(),
            Message::Tested(generation, tested) => {
                if generation == self.test_generation {
                    self.testing = false;
                    self.tested = Some(tested);
                }
            }
            Message::Save => {
                let request = match self.test_request() {
                    Ok(r) => r,
                    Err(e) => {
                        self.error = Some(e);
                        return Action::None;
                    }
                };
                let save_request = SaveRequest {
                    config_path: self.config_path.clone(),
                    account: self.account(&request),
                    password: (!self.password.0.is_empty()).then(|| self.password.clone()),
                    previous: self.previous.clone(),
                };
                self.saving = true;
                self.error = None;
                return Action::Run(Task::perform(
                    async move {
                        tokio::task::spawn_blocking(move || save(save_request))
                            .await
                            .map_err(|e| e.to_string())?
                    },
                    Message::Saved,
                ));
            }
            Message::Saved(result) => {
                self.saving = false;
                match result {
                    Ok(account) => return Action::AccountsChanged { account },
                    Err(e) => self.error = Some(e),
                }
            }
            Message::Cancel => return Action::Cancel,
        }
        Action::None
    }

    fn test(&mut self) -> Action {
        match self.test_request() {
            Ok(request) => {
                self.test_generation += 1;
                self.testing = true;
                self.tested = None;
                self.error = None;
                let generation = self.test_generation;
                Action::Run(Task::perform(run_test(request), move |t| {
                    Message::Tested(generation, t)
                }))
            }
            Err(e) => {
                self.error = Some(e);
                Action::None
            }
        }
    }
}

/// A SHA-256 fingerprint as people compare them: upper-case byte pairs with colons.
pub fn fingerprint_text(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).to_uppercase())
        .collect::<Vec<_>>()
        .join(":")
}

/// A fingerprint on two lines of 16 byte pairs, so it fits a narrow form and reads in
/// halves.
fn fingerprint_lines(hex: &str) -> String {
    let text = fingerprint_text(hex);
    let pairs: Vec<&str> = text.split(':').collect();
    let (first, second) = pairs.split_at(pairs.len().div_ceil(2));
    if second.is_empty() {
        return text;
    }
    format!("{}:\n{}", first.join(":"), second.join(":"))
}

/// Why a certificate failed, as the id of a plain sentence: the verifier's own reason is
/// technical (a rustls error name), so it is only sorted here.
fn cert_problem(reason: &str) -> &'static str {
    let reason = reason.to_ascii_lowercase();
    if reason.contains("expired") {
        "setup-cert-expired"
    } else if reason.contains("notvalidyet") {
        "setup-cert-not-yet-valid"
    } else if reason.contains("notvalidforname") || reason.contains("name") {
        "setup-cert-wrong-name"
    } else if reason.contains("revoked") {
        "setup-cert-revoked"
    } else {
        "setup-cert-unknown-issuer"
    }
}

/// An outcome in plain words, naming the server as the form has it.
pub fn describe(outcome: &Outcome, form: &ServerForm) -> String {
    let host = form.host.trim().to_owned();
    let port = form.port.trim().to_owned();
    match outcome {
        Outcome::Ok => tr("setup-ok"),
        Outcome::WrongPassword { reply } => {
            tr_args("setup-wrong-password", &[("reply", reply.clone().into())])
        }
        Outcome::HostNotFound { .. } => tr_args("setup-host-not-found", &[("host", host.into())]),
        Outcome::PortClosed { .. } => tr_args(
            "setup-port-closed",
            &[("host", host.into()), ("port", port.into())],
        ),
        Outcome::Timeout => tr("setup-timeout"),
        Outcome::CertificateNotTrusted {
            fingerprint,
            reason,
        } => tr_args(
            "setup-cert-untrusted",
            &[
                ("reason", tr(cert_problem(reason)).into()),
                ("fingerprint", fingerprint_lines(fingerprint).into()),
            ],
        ),
        Outcome::CertificateChanged { pinned, presented } => tr_args(
            "setup-cert-changed",
            &[
                ("pinned", fingerprint_lines(pinned).into()),
                ("presented", fingerprint_lines(presented).into()),
            ],
        ),
        Outcome::ServerRefused { reply } => {
            tr_args("setup-refused", &[("reply", reply.clone().into())])
        }
        Outcome::PlaintextNotAllowed => tr("setup-plaintext"),
        Outcome::TlsNotOffered => tr("setup-tls-not-offered"),
        Outcome::TlsFailed { detail } => {
            tr_args("setup-tls-failed", &[("detail", detail.clone().into())])
        }
        Outcome::NoLoginMethod => tr("setup-no-login-method"),
        Outcome::Failed { detail } => tr_args("setup-failed", &[("detail", detail.clone().into())]),
    }
}

/// The profile's config path as the setup form wants it.
pub fn config_path(profile_dir: &Path) -> PathBuf {
    profile_dir.join("config.toml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_account_ids_are_unique_and_plain() {
        let existing = vec![Account {
            id: "ann@example.org".into(),
            ..Account::default()
        }];
        assert_eq!(
            new_account_id(" Bob@Example.org ", &existing),
            "bob@example.org"
        );
        assert_eq!(
            new_account_id("ann@example.org", &existing),
            "ann@example.org-2"
        );
    }

    #[test]
    fn passwords_stay_out_of_debug_output() {
        let m = Message::Password(Secret("hunter2".into()));
        assert!(!format!("{m:?}").contains("hunter2"));
    }

    #[test]
    fn fingerprints_read_as_colon_separated_pairs() {
        assert_eq!(fingerprint_text("0a1bff"), "0A:1B:FF");
    }
}

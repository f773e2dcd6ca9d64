//! Account setup and settings in iced_test's Simulator: the user types their address
//! and password, the servers are guessed, "Test connection" runs against a real Dovecot
//! and Postfix (the task the screen returns is run here, as the app's runtime would), a
//! self-signed certificate is trusted with one click, and saving puts the password in
//! the real Secret Service and the account in config.toml. Then settings: identities
//! with a signature, theme and remote-content choices, removing the account.
//!
//! Needs a D-Bus session with an unlocked keyring (see the README's test command).
//! Snapshots live in tests/snapshots; a missing one fails under CI (`CI` set).
#![allow(clippy::unwrap_used)]

mod common;

use iced::{Element, Settings, Size};
use iced_test::Simulator;
use iced_test::selector::id;
use std::path::Path;
use tern::screen::settings::{self, RemoteContent};
use tern::screen::setup::{self, Secret, SecurityChoice, Setup, Side, Tested};
use tern::theme;
use tern_core::account::{Config, Incoming, Security};
use tern_core::secrets;
use tern_core::setup::{Outcome, Protocol};
use tern_testenv::{Dovecot, Postfix};

const PASSWORD: &str = "correct horse battery staple";
const SIZE: Size = Size::new(900.0, 1000.0);

/// The window drawn in `choice`'s theme, compared with the committed snapshot.
fn snapshot<M>(view: Element<'_, M>, name: &str, choice: theme::Choice) {
    let mut ui = Simulator::with_size(Settings::default(), SIZE, view);
    let snapshot = ui.snapshot(&choice.theme(false)).unwrap();
    common::screens::check_snapshot(&snapshot, name);
}

/// The form as a user would drive it: events in the Simulator, messages back to update.
struct Form {
    setup: Setup,
    runtime: tokio::runtime::Runtime,
}

impl Form {
    fn user(&mut self, f: impl FnOnce(&mut Simulator<'_, setup::Message>)) {
        let messages: Vec<setup::Message> = {
            let mut ui = Simulator::with_size(Settings::default(), SIZE, self.setup.view());
            f(&mut ui);
            ui.into_messages().collect()
        };
        for m in messages {
            self.send(m);
        }
    }

    /// Applies a message; runs the task it starts (a test, a save) to the end.
    fn send(&mut self, message: setup::Message) -> Option<setup::Action> {
        match self.setup.update(message) {
            setup::Action::Run(task) => {
                for m in common::screens::run(&self.runtime, task) {
                    if let Some(action) = self.send(m) {
                        return Some(action);
                    }
                }
                None
            }
            setup::Action::None => None,
            other => Some(other),
        }
    }

    fn type_into(&mut self, field: &'static str, text: &str) {
        self.user(|ui| {
            let _ = ui.click(id(field)).unwrap();
            let _ = ui.typewrite(text);
        });
    }

    fn sees(&self, text: &str) -> bool {
        let mut ui = Simulator::with_size(Settings::default(), SIZE, self.setup.view());
        ui.find(text).is_ok()
    }
}

fn config_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn a_new_user_sets_up_an_account_against_the_real_servers() {
    let dovecot = Dovecot::start().unwrap();
    let postfix = Postfix::start(&dovecot).unwrap();
    let user = dovecot.add_user("setup", PASSWORD).unwrap();
    let address = dovecot.address(&user);
    let dir = config_dir();
    let config_path = dir.path().join("config.toml");
    let mut form = Form {
        setup: Setup::new(config_path.clone(), true),
        runtime: tokio::runtime::Runtime::new().unwrap(),
    };
    assert!(form.sees("Welcome to Tern"));

    // Name, address, password: the servers fill in from the domain, TLS first.
    form.type_into("setup-name", "Ada Lovelace");
    form.type_into("setup-email", &address);
    form.type_into("setup-password", PASSWORD);
    assert_eq!(form.setup.name, "Ada Lovelace");
    assert_eq!(form.setup.email, address);
    assert_eq!(form.setup.password, Secret(PASSWORD.into()));
    assert_eq!(form.setup.incoming.host, "imap.tern.test");
    assert_eq!(form.setup.incoming.port, "993");
    assert_eq!(form.setup.incoming.security, Security::ImplicitTls);
    assert_eq!(form.setup.incoming.login, address);
    assert_eq!(form.setup.outgoing.host, "smtp.tern.test");
    assert_eq!(form.setup.outgoing.port, "465");
    // The password field hides what was typed.
    assert!(!form.sees(PASSWORD));

    // POP3 instead, and back: the guess follows.
    form.user(|ui| {
        let _ = ui.click(id("setup-pop3")).unwrap();
    });
    assert_eq!(form.setup.protocol, Protocol::Pop3);
    assert_eq!(
        (
            form.setup.incoming.host.as_str(),
            form.setup.incoming.port.as_str()
        ),
        ("pop3.tern.test", "995")
    );
    form.user(|ui| {
        let _ = ui.click(id("setup-imap")).unwrap();
    });

    // The guessed names do not exist here: the test says so in plain words.
    form.send(setup::Message::Test);
    let tested = form.setup.tested.clone().unwrap();
    assert!(
        matches!(tested.incoming, Outcome::HostNotFound { .. }),
        "{tested:?}"
    );
    assert!(form.sees(
        "There is no server called “imap.tern.test”. Check the server name, and that this computer is online."
    ));

    // The user corrects the servers (as their provider told them): this Dovecot and
    // Postfix, STARTTLS for sending, and a user name that is not the address.
    form.send(setup::Message::Login(Side::Incoming, user.clone()));
    form.send(setup::Message::Login(Side::Outgoing, user.clone()));
    form.send(setup::Message::Host(Side::Incoming, dovecot.host().into()));
    form.send(setup::Message::Port(
        Side::Incoming,
        dovecot.imaps_port().to_string(),
    ));
    form.send(setup::Message::Host(Side::Outgoing, postfix.host().into()));
    form.send(setup::Message::Security(
        Side::Outgoing,
        SecurityChoice(Security::StartTls),
    ));
    assert_eq!(
        form.setup.outgoing.port, "587",
        "the port follows the security"
    );
    form.send(setup::Message::Port(
        Side::Outgoing,
        postfix.submission_port().to_string(),
    ));

    // The test servers' certificate is self-signed: not trusted, with its fingerprint
    // and a button that trusts exactly it.
    form.user(|ui| {
        let _ = ui.click("Test connection").unwrap();
    });
    let tested = form.setup.tested.clone().unwrap();
    let fingerprint = dovecot.cert_sha256_hex();
    for outcome in [&tested.incoming, &tested.outgoing] {
        assert!(
            matches!(outcome, Outcome::CertificateNotTrusted { fingerprint: f, .. } if *f == fingerprint),
            "{tested:?}"
        );
    }
    let shown = setup::fingerprint_text(&fingerprint);
    assert!(shown.starts_with(&fingerprint[..2].to_uppercase()) && shown.contains(':'));
    form.user(|ui| {
        let _ = ui.click("Trust this certificate for this account").unwrap();
    });
    // The first button was the incoming server's; trusting tests again at once.
    assert_eq!(
        form.setup.incoming.pinned_cert_sha256,
        Some(fingerprint.clone())
    );
    let tested = form.setup.tested.clone().unwrap();
    assert_eq!(tested.incoming, Outcome::Ok);
    form.user(|ui| {
        let _ = ui.click("Trust this certificate for this account").unwrap();
    });
    assert_eq!(
        form.setup.tested,
        Some(Tested {
            incoming: Outcome::Ok,
            outgoing: Outcome::Ok
        })
    );
    assert!(form.sees("Connected and logged in."));

    // Save: the password in the keychain under both keys, the account in config.toml.
    let action = form.send(setup::Message::Save);
    let Some(setup::Action::AccountsChanged { account }) = action else {
        panic!("saved: {:?}", form.setup.error);
    };
    let config = Config::load(&config_path).unwrap();
    assert_eq!(config.accounts.len(), 1);
    let saved = &config.accounts[0];
    assert_eq!(saved.id, account);
    assert_eq!(saved.display_name, "Ada Lovelace");
    assert_eq!(saved.email, address);
    assert_eq!(saved.identities.len(), 1);
    assert_eq!(saved.identities[0].name, "Ada Lovelace");
    let Incoming::Imap(incoming) = &saved.incoming else {
        panic!("{:?}", saved.incoming);
    };
    assert_eq!(incoming.port, dovecot.imaps_port());
    assert_eq!(incoming.pinned_cert_sha256, Some(fingerprint.clone()));
    let outgoing = saved.outgoing.as_ref().unwrap();
    assert_eq!(outgoing.security, Security::StartTls);
    assert_eq!(outgoing.pinned_cert_sha256, Some(fingerprint.clone()));
    assert_eq!(
        secrets::password(&saved.incoming_secret_key()).unwrap(),
        PASSWORD
    );
    assert_eq!(
        secrets::password(&outgoing.secret_key(&saved.id, "outgoing")).unwrap(),
        PASSWORD
    );
    let text = std::fs::read_to_string(&config_path).unwrap();
    assert!(!text.contains(PASSWORD), "no password in config.toml");

    // Editing: the stored password stays unless a new one is typed; a wrong one is
    // named as such (last: a failed login slows the server's next ones down).
    let mut edit = Form {
        setup: Setup::edit(config_path.clone(), saved),
        runtime: tokio::runtime::Runtime::new().unwrap(),
    };
    assert!(edit.sees("Edit account"));
    edit.send(setup::Message::Password(Secret("wrong password".into())));
    edit.send(setup::Message::Test);
    let tested = edit.setup.tested.clone().unwrap();
    assert!(
        matches!(tested.incoming, Outcome::WrongPassword { .. }),
        "{tested:?}"
    );
    assert!(
        matches!(tested.outgoing, Outcome::WrongPassword { .. }),
        "{tested:?}"
    );
    assert!(edit.sees(
        "The server did not accept the user name or password. It said: \
         [AUTHENTICATIONFAILED] Authentication failed."
    ));

    // Settings list the account; removing it asks, then takes the password too.
    let mut screen = settings::Settings::new(
        config_path.clone(),
        theme::Choice::System,
        RemoteContent::TrustedSenders,
        Vec::new(),
    );
    assert_eq!(screen.accounts.len(), 1);
    let messages = settings_user(&screen, |ui| {
        let _ = ui.click("Remove").unwrap();
    });
    for m in messages {
        let _ = screen.update(m);
    }
    assert_eq!(screen.confirm_remove.as_deref(), Some(account.as_str()));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _ = settings_user(&screen, |ui| {
        let _ = ui
            .find("Remove this account? Its password is deleted too.")
            .unwrap();
    });
    let settings::Action::Run(task) = screen.update(settings::Message::ConfirmRemove(true)) else {
        panic!("removing runs a task");
    };
    let done = common::screens::run(&runtime, task);
    assert!(matches!(
        screen.update(done.into_iter().next().unwrap()),
        settings::Action::AccountsChanged
    ));
    assert!(screen.accounts.is_empty());
    assert!(Config::load(&config_path).unwrap().accounts.is_empty());
    assert!(matches!(
        secrets::password(&saved.incoming_secret_key()),
        Err(secrets::SecretsError::NotFound)
    ));
}

fn settings_user(
    screen: &settings::Settings,
    f: impl FnOnce(&mut Simulator<'_, settings::Message>),
) -> Vec<settings::Message> {
    let mut ui = Simulator::with_size(Settings::default(), SIZE, screen.view());
    f(&mut ui);
    ui.into_messages().collect()
}

/// A form filled as a user would for example.org, deterministic for snapshots.
fn example_form(path: &Path) -> Setup {
    let mut setup = Setup::new(path.to_path_buf(), true);
    let _ = setup.update(setup::Message::Name("Ada Lovelace".into()));
    let _ = setup.update(setup::Message::Email("ada@example.org".into()));
    let _ = setup.update(setup::Message::Password(Secret("secret".into())));
    setup
}

#[test]
fn test_results_read_as_plain_sentences_in_both_themes() {
    let dir = config_dir();
    let mut setup = example_form(&dir.path().join("config.toml"));
    snapshot(setup.view(), "setup-first-run-light", theme::Choice::Light);
    // A result as the engine reports it, fed to the screen (fixed, for the snapshot).
    let fingerprint = "a1".repeat(32);
    let _ = setup.update(setup::Message::Tested(
        setup.test_number(),
        Tested {
            incoming: Outcome::CertificateNotTrusted {
                fingerprint: fingerprint.clone(),
                reason: "invalid peer certificate: UnknownIssuer".into(),
            },
            outgoing: Outcome::WrongPassword {
                reply: "535 5.7.8 Error: authentication failed".into(),
            },
        },
    ));
    let view = || setup.view();
    let mut ui = Simulator::with_size(Settings::default(), SIZE, view());
    // Plain words, not the verifier's error name; the fingerprint in two halves.
    let half = ["A1"; 16].join(":");
    let sentence = format!(
        "The server's certificate is not trusted: it is not signed by an authority this \
         computer trusts (a self-signed certificate, or someone intercepting the connection). \
         Trust it only if your provider confirms this fingerprint:\n{half}:\n{half}"
    );
    ui.find(sentence.as_str()).unwrap();
    ui.find("The server did not accept the user name or password. It said: 535 5.7.8 Error: authentication failed")
        .unwrap();
    let messages: Vec<setup::Message> = {
        let _ = ui.click("Trust this certificate for this account").unwrap();
        ui.into_messages().collect()
    };
    assert!(matches!(
        messages.as_slice(),
        [setup::Message::Trust(Side::Incoming, f)] if *f == fingerprint
    ));
    snapshot(setup.view(), "setup-results-light", theme::Choice::Light);
    snapshot(setup.view(), "setup-results-dark", theme::Choice::Dark);

    // Every outcome has its own sentence.
    let form = setup::ServerForm {
        host: "mail.example.org".into(),
        port: "993".into(),
        ..Default::default()
    };
    let outcomes = [
        Outcome::Ok,
        Outcome::HostNotFound {
            host: "mail.example.org".into(),
        },
        Outcome::PortClosed {
            detail: "refused".into(),
        },
        Outcome::Timeout,
        Outcome::CertificateChanged {
            pinned: "00".into(),
            presented: "11".into(),
        },
        Outcome::ServerRefused {
            reply: "[UNAVAILABLE] try later".into(),
        },
        Outcome::PlaintextNotAllowed,
        Outcome::TlsNotOffered,
        Outcome::TlsFailed {
            detail: "corrupt message".into(),
        },
        Outcome::NoLoginMethod,
        Outcome::Failed {
            detail: "closed".into(),
        },
    ];
    let sentences: Vec<String> = outcomes.iter().map(|o| setup::describe(o, &form)).collect();
    assert_eq!(
        sentences[2],
        "mail.example.org does not accept connections on port 993. Check the port number."
    );
    assert!(sentences[5].ends_with("[UNAVAILABLE] try later"));
    let mut unique = sentences.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), sentences.len());
    assert!(
        sentences.iter().all(|s| !s.contains("setup-")),
        "{sentences:?}"
    );
}

#[test]
fn a_half_filled_form_says_what_is_missing() {
    let dir = config_dir();
    let mut setup = Setup::new(dir.path().join("config.toml"), false);
    let _ = setup.update(setup::Message::Email("ada".into()));
    assert!(matches!(
        setup.update(setup::Message::Test),
        setup::Action::None
    ));
    assert_eq!(
        setup.error.as_deref(),
        Some("Enter your whole email address, like you@example.org.")
    );
    let _ = setup.update(setup::Message::Email("ada@example.org".into()));
    let _ = setup.update(setup::Message::Save);
    assert_eq!(setup.error.as_deref(), Some("Enter your password."));
    let _ = setup.update(setup::Message::Password(Secret("pw".into())));
    let _ = setup.update(setup::Message::Port(Side::Incoming, "x".into()));
    assert_eq!(setup.incoming.port, "", "only digits go into a port");
    let _ = setup.update(setup::Message::Save);
    assert_eq!(
        setup.error.as_deref(),
        Some("Enter a port number between 1 and 65535.")
    );
    // "None" security asks for consent before a test even connects.
    let _ = setup.update(setup::Message::Port(Side::Incoming, "143".into()));
    let _ = setup.update(setup::Message::Security(
        Side::Incoming,
        SecurityChoice(Security::Plaintext),
    ));
    let mut ui = Simulator::with_size(Settings::default(), SIZE, setup.view());
    let _ = ui
        .click("Send my password unencrypted anyway (anyone on the network could read it)")
        .unwrap();
    let messages: Vec<setup::Message> = ui.into_messages().collect();
    assert!(matches!(
        messages.as_slice(),
        [setup::Message::AllowPlaintext(Side::Incoming, true)]
    ));
    // Nothing was written.
    assert!(!dir.path().join("config.toml").exists());
    // Cancel leaves (not on first run, where there is nowhere to go back to).
    assert!(matches!(
        setup.update(setup::Message::Cancel),
        setup::Action::Cancel
    ));
}

#[test]
fn settings_edit_identities_and_report_theme_and_remote_content() {
    let dir = config_dir();
    let config_path = dir.path().join("config.toml");
    let account = tern_core::account::Account {
        id: "ada".into(),
        display_name: "Ada Lovelace".into(),
        email: "ada@example.org".into(),
        incoming: Incoming::Imap(tern_core::account::Server {
            host: "imap.example.org".into(),
            port: 993,
            login: "ada@example.org".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    Config {
        accounts: vec![account],
        ..Config::default()
    }
    .save(&config_path)
    .unwrap();
    let mut screen = settings::Settings::new(
        config_path.clone(),
        theme::Choice::System,
        RemoteContent::TrustedSenders,
        vec!["news@tern.example".to_owned()],
    );
    snapshot(screen.view(), "settings-light", theme::Choice::Light);
    snapshot(screen.view(), "settings-dark", theme::Choice::Dark);

    // Theme and remote content go up to the app, which keeps them.
    let clicks = settings_user(&screen, |ui| {
        let _ = ui.click(id("theme-dark")).unwrap();
        let _ = ui.click(id("remote-ask")).unwrap();
        let _ = ui.click("Forget").unwrap();
    });
    let actions: Vec<settings::Action> = clicks.into_iter().map(|m| screen.update(m)).collect();
    assert!(matches!(
        actions[0],
        settings::Action::Theme(theme::Choice::Dark)
    ));
    assert!(matches!(
        actions[1],
        settings::Action::RemoteContent(RemoteContent::Ask)
    ));
    assert!(matches!(&actions[2], settings::Action::ForgetSender(s) if s == "news@tern.example"));

    // Identities: a second one with a signature, saved to config.toml.
    for m in settings_user(&screen, |ui| {
        let _ = ui.click("Identities…").unwrap();
    }) {
        let _ = screen.update(m);
    }
    assert!(screen.identities.is_some());
    let _ = screen.update(settings::Message::AddIdentity);
    for m in settings_user(&screen, |ui| {
        let _ = ui.click(id("identity-1-name")).unwrap();
        let _ = ui.typewrite("Ada at work");
        let _ = ui.click(id("identity-1-email")).unwrap();
        let _ = ui.typewrite("ada@work.example");
        let _ = ui.click(id("identity-1-signature")).unwrap();
        let _ = ui.typewrite("Ada L.");
    }) {
        let _ = screen.update(m);
    }
    snapshot(
        screen.view(),
        "settings-identities-light",
        theme::Choice::Light,
    );
    assert!(matches!(
        screen.update(settings::Message::SaveIdentities),
        settings::Action::AccountsChanged
    ));
    let saved = Config::load(&config_path).unwrap();
    let identities = &saved.accounts[0].identities;
    assert_eq!(identities.len(), 2);
    assert_eq!(identities[1].name, "Ada at work");
    assert_eq!(identities[1].email, "ada@work.example");
    assert_eq!(identities[1].signature, "Ada L.");
    assert_eq!(identities[0].email, "ada@example.org");

    // A broken address is refused in words, and nothing is written.
    let _ = screen.update(settings::Message::EditIdentities("ada".into()));
    let _ = screen.update(settings::Message::Identity(
        1,
        settings::IdentityField::Email("not an address".into()),
    ));
    assert!(matches!(
        screen.update(settings::Message::SaveIdentities),
        settings::Action::None
    ));
    assert_eq!(
        screen.identities.as_ref().unwrap().error.as_deref(),
        Some("“not an address” is not a complete email address.")
    );
    assert_eq!(Config::load(&config_path).unwrap(), saved);
}

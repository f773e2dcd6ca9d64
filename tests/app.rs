//! The app's own wiring on a real engine over a test profile: composer windows and their
//! drafts surviving a crash, the settings page and what it changes, and an engine restart
//! after the accounts changed that holds a Send until the new engine is there.
#![allow(clippy::unwrap_used)]

mod common;

use common::harness::Harness;
use iced::widget::text_editor;
use tern::app;
use tern::screen::compose::{self, Field};
use tern::screen::mailbox::{self, ComposeRequest, Verb};
use tern::screen::settings::{self as settings_screen, RemoteContent};
use tern::settings::Settings as GuiSettings;
use tern_core::account::Config;

fn only_composer(h: &Harness) -> iced::window::Id {
    assert_eq!(h.state.composers.len(), 1, "one composer window");
    *h.state.composers.keys().next().unwrap()
}

fn type_into(h: &mut Harness, window: iced::window::Id, field: Field, text: &str) {
    h.send(app::Message::Composer(
        window,
        compose::Message::Edit(field, text.into()),
    ));
}

fn type_body(h: &mut Harness, window: iced::window::Id, text: &str) {
    h.send(app::Message::Composer(
        window,
        compose::Message::Body(text_editor::Action::Edit(text_editor::Edit::Paste(
            std::sync::Arc::new(text.into()),
        ))),
    ));
}

/// A message being written when the app dies comes back in its own window at the next
/// start, with the text as last saved; a composer closed on purpose does not.
#[test]
fn a_draft_open_when_the_app_died_reopens_with_its_text() {
    let mut h = Harness::new(5, false);
    h.send_and_run(app::Message::Mailbox(mailbox::Message::Verb(Verb::Compose)));
    let window = only_composer(&h);
    type_into(&mut h, window, Field::To, "carol@example.org");
    type_into(&mut h, window, Field::Subject, "Half-written");
    type_body(&mut h, window, "The first lines, then the power went out.");
    h.send(app::Message::Composer(window, compose::Message::SaveDraft));
    h.pump_until("the draft is stored", |s| {
        s.composers
            .values()
            .all(|c| c.draft_state == compose::DraftState::Saved)
    });
    let draft = h.state.composers[&window].draft;
    let listed = GuiSettings::load(&GuiSettings::path(h.profile.dir())).open_drafts;
    assert!(listed.contains(&draft), "the open draft is on record");

    let mut h = h.after_crash();
    assert!(h.state.composers.is_empty());
    let reopen = h.state.reopen_saved_drafts();
    h.run(reopen);
    let window = only_composer(&h);
    let c = &h.state.composers[&window];
    assert_eq!(c.draft, draft, "the same draft, not a copy");
    assert_eq!(c.subject, "Half-written");
    assert_eq!(c.to, "carol@example.org");
    assert!(
        c.body
            .text()
            .starts_with("The first lines, then the power went out.")
    );

    // Closed on purpose (kept as a draft): not reopened at the next start.
    h.send_and_run(app::Message::Composer(
        window,
        compose::Message::Close(compose::CloseChoice::SaveDraft),
    ));
    assert!(h.state.composers.is_empty());
    let listed = GuiSettings::load(&GuiSettings::path(h.profile.dir())).open_drafts;
    assert!(listed.is_empty(), "closed composers are off the record");
    let mut h = h.after_crash();
    let reopen = h.state.reopen_saved_drafts();
    h.run(reopen);
    assert!(h.state.composers.is_empty());
    assert!(
        h.store().draft(draft).unwrap().is_some(),
        "the draft itself is kept"
    );
}

/// Settings open from the mailbox (the toolbar's gear or Ctrl+,), change what the app
/// keeps in gui.toml, and close back to the mailbox where it was.
#[test]
fn settings_change_the_remote_content_policy_and_the_theme() {
    let mut h = Harness::new(5, false);
    h.send(app::Message::Mailbox(mailbox::Message::Verb(
        Verb::Settings,
    )));
    assert!(h.state.settings_screen.is_some(), "the settings page shows");
    h.send(app::Message::Settings(
        settings_screen::Message::RemoteContent(RemoteContent::Never),
    ));
    h.send(app::Message::Settings(settings_screen::Message::Theme(
        tern::theme::Choice::Dark,
    )));
    let saved = GuiSettings::load(&GuiSettings::path(h.profile.dir()));
    assert_eq!(saved.remote_content, RemoteContent::Never);
    assert_eq!(saved.theme, tern::theme::Choice::Dark);
    h.send(app::Message::Settings(settings_screen::Message::Close));
    assert!(h.state.settings_screen.is_none());
    assert!(h.state.mailbox().is_some(), "back in the mailbox");
}

/// Removing an account restarts the engine; a message sent meanwhile is held, then
/// queued in the new engine's outbox, never dropped.
#[test]
fn a_send_during_an_engine_restart_reaches_the_outbox() {
    let mut h = Harness::new(5, true);
    let queued = |h: &Harness| {
        h.store()
            .outbox(None)
            .unwrap()
            .into_iter()
            .filter(|i| i.subject == "Sent while restarting")
            .count()
    };
    h.send_and_run(app::Message::Compose(ComposeRequest::New));
    let window = only_composer(&h);
    type_into(&mut h, window, Field::To, "carol@example.org");
    type_into(&mut h, window, Field::Subject, "Sent while restarting");
    type_body(&mut h, window, "Hello Carol");

    // Settings removed Bob's account from config.toml and reports it.
    let path = h.profile.config_path();
    let mut config = Config::load(&path).unwrap();
    config.accounts.retain(|a| a.id != common::SECOND_ACCOUNT);
    config.save(&path).unwrap();
    h.send(app::Message::Mailbox(mailbox::Message::Verb(
        Verb::Settings,
    )));
    let stop = {
        let message = app::Message::Settings(settings_screen::Message::Removed(Ok(
            common::SECOND_ACCOUNT.into(),
        )));
        h.update(message)
    };
    assert!(
        h.state.mailbox().is_none(),
        "the mailbox waits for the new engine"
    );

    h.send(app::Message::Composer(window, compose::Message::Send));
    assert_eq!(h.state.composers.len(), 1, "held, not sent into the void");
    assert_eq!(queued(&h), 0);

    // The old engine stops (and frees the profile); the new one comes up.
    h.run(stop);
    h.connect_new_engine();
    assert!(h.state.mailbox().is_some());
    assert!(h.state.composers.is_empty(), "sent: the composer closed");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while queued(&h) == 0 {
        assert!(std::time::Instant::now() < deadline, "never queued");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(queued(&h), 1, "queued once");
    let accounts = h.state.mailbox().unwrap().accounts.len();
    assert_eq!(accounts, 1, "the removed account is gone from the tree");
}

/// A message the server refused is taken back from the Outbox as a draft and opens in a
/// composer, with its recipient there to fix.
#[test]
fn a_refused_message_taken_back_from_the_outbox_opens_in_a_composer() {
    let mut h = Harness::new(5, false);
    let failed = h.store().outbox(None).unwrap();
    let item = failed
        .iter()
        .find(|i| i.subject == "Minutes of Monday")
        .unwrap()
        .clone();
    h.user(|ui| {
        let _ = ui.click("Outbox (1 not sent)").unwrap();
    });
    h.user(|ui| {
        let _ = ui
            .click(iced_test::selector::id(format!("outbox-edit-{}", item.id)))
            .unwrap();
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while h.state.composers.is_empty() {
        assert!(std::time::Instant::now() < deadline, "no composer opened");
        h.pump_events_running_tasks();
    }
    let window = only_composer(&h);
    let c = &h.state.composers[&window];
    assert_eq!(c.subject, "Minutes of Monday");
    assert_eq!(c.to, "nobody@nowhere.example");
    assert!(
        h.store()
            .outbox(None)
            .unwrap()
            .iter()
            .all(|i| i.id != item.id),
        "out of the Outbox"
    );
}

/// Closing the last window stops the engine before the app quits: a draft saved on the
/// way out is on disk, and the profile is free for the next start.
#[test]
fn closing_the_last_window_stores_the_draft_and_frees_the_profile() {
    let mut h = Harness::new(5, false);
    h.send_and_run(app::Message::Compose(ComposeRequest::New));
    let window = only_composer(&h);
    type_into(&mut h, window, Field::Subject, "Kept on the way out");
    h.send_and_run(app::Message::Composer(
        window,
        compose::Message::Close(compose::CloseChoice::SaveDraft),
    ));
    let draft_saved = |h: &Harness| {
        h.store()
            .drafts()
            .unwrap()
            .iter()
            .any(|d| d.compose.contains("Kept on the way out"))
    };
    // The main window was closed before; now the composer's closes too.
    let quit = h.update(app::Message::WindowClosed(window));
    h.run(quit);
    assert!(
        draft_saved(&h),
        "the draft was stored before the engine stopped"
    );
    let profile = tern_core::profile::Profile::open(Some(h.profile.dir().to_path_buf())).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    assert!(
        tern_core::engine::Engine::open(&profile).is_ok(),
        "the profile is free"
    );
}

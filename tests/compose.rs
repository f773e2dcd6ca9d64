//! The composer in iced_test's Simulator, on a real engine over a real store file:
//! writing a new message with address completion from mail already seen, an attachment
//! dropped on the window, autosave into the engine's drafts and Ctrl+Enter into the
//! outbox; a reply and a forward pre-filled from a stored message; closing with unsaved
//! changes. The engine's account is offline (a closed port), so nothing leaves the
//! machine; what counts is what the engine stores.
//!
//! Tasks the screen returns (reading dropped files, the autosave timer) are run here as
//! the app's runtime would run them. Snapshots live in tests/snapshots.
#![allow(clippy::unwrap_used)]

mod common;

use iced::keyboard::{self, Key, Modifiers, key::Named};
use iced::{Element, Event, Settings, Size};
use iced_test::Simulator;
use iced_test::selector::id;
use std::time::{Duration, Instant};
use tern::engine::Handle;
use tern::screen::compose::{self, CloseChoice, Compose, DraftState};
use tern::screen::mailbox::ComposeRequest;
use tern::theme;
use tern_core::account::{Account, Config, Identity};
use tern_core::engine::{Engine, Event as CoreEvent};
use tern_core::profile::Profile;
use tern_core::store::{FolderRole, MessageId, SortOrder, Store};
use tokio::sync::mpsc::UnboundedReceiver;

const SIZE: Size = Size::new(900.0, 700.0);

fn snapshot<M>(view: Element<'_, M>, name: &str, choice: theme::Choice) {
    let mut ui = Simulator::with_size(Settings::default(), SIZE, view);
    let snapshot = ui.snapshot(&choice.theme(false)).unwrap();
    common::screens::check_snapshot(&snapshot, name);
}

/// Pressing `key` with Ctrl held, as the window reports it.
fn ctrl(key: Named) -> [Event; 2] {
    [
        Event::Keyboard(keyboard::Event::ModifiersChanged(Modifiers::CTRL)),
        Event::Keyboard(keyboard::Event::KeyPressed {
            key: Key::Named(key),
            modified_key: Key::Named(key),
            physical_key: keyboard::key::Physical::Unidentified(
                keyboard::key::NativeCode::Unidentified,
            ),
            location: keyboard::Location::Standard,
            modifiers: Modifiers::CTRL,
            repeat: false,
            text: None,
        }),
    ]
}

/// A profile with Alice's account and an Inbox of corpus mail, its engine running.
struct Desk {
    engine: Handle,
    events: std::cell::RefCell<UnboundedReceiver<CoreEvent>>,
    profile: Profile,
    accounts: Vec<Account>,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl Desk {
    fn new() -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let profile = common::profile(&dir.path().join("profile"), 40, false);
        let mut accounts = Config::load(&profile.config_path()).unwrap().accounts;
        // Alice writes with a signature.
        accounts[0].identities = vec![Identity {
            name: "Alice".into(),
            email: "alice@example.org".into(),
            reply_to: None,
            signature: "Alice\nTern test team".into(),
        }];
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (engine, events) = {
            let _guard = runtime.enter();
            Engine::open(&profile).unwrap()
        };
        Desk {
            engine: Handle::new(engine),
            events: std::cell::RefCell::new(events),
            profile,
            accounts,
            runtime,
            _dir: dir,
        }
    }

    fn compose(&self, request: ComposeRequest) -> Compose {
        Compose::new(
            request,
            self.engine.clone(),
            &self.accounts,
            Some(common::ACCOUNT),
        )
    }

    fn store(&self) -> Store {
        Store::open(&self.profile.store_path()).unwrap()
    }

    /// The Inbox message with this Message-ID.
    fn message(&self, message_id: &str) -> MessageId {
        let store = self.store();
        let inbox = store
            .folder_by_role(common::ACCOUNT, FolderRole::Inbox)
            .unwrap()
            .unwrap();
        store
            .page(inbox.id, 0, 1000, SortOrder::DateDesc)
            .unwrap()
            .into_iter()
            .find(|r| r.message_id.as_deref() == Some(message_id))
            .unwrap()
            .id
    }

    /// Hands engine events to the composer until `done` holds, or fails after a while.
    fn pump_until(&self, c: &mut Compose, what: &str, done: impl Fn(&Compose) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done(c) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            let next = self.events.borrow_mut().try_recv();
            match next {
                Ok(event) => c.event(&event, &self.accounts),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
}

/// The composer as a user drives it: Simulator events in, messages to `update`; the
/// tasks updates start are kept, to be run when the test says.
struct Window<'a> {
    desk: &'a Desk,
    compose: Compose,
    tasks: Vec<iced::Task<compose::Message>>,
    closed: bool,
}

impl Window<'_> {
    fn user(&mut self, f: impl FnOnce(&mut Simulator<'_, compose::Message>)) {
        let messages: Vec<compose::Message> = {
            let mut ui = Simulator::with_size(Settings::default(), SIZE, self.compose.view());
            f(&mut ui);
            ui.into_messages().collect()
        };
        for m in messages {
            self.send(m);
        }
    }

    fn send(&mut self, message: compose::Message) {
        let _guard = self.desk.runtime.enter();
        match self.compose.update(message) {
            compose::Action::None => {}
            compose::Action::Run(task) => self.tasks.push(task),
            compose::Action::Close => self.closed = true,
        }
    }

    /// Runs the tasks started so far (timers included) and feeds back what they produce.
    fn run_tasks(&mut self) {
        while !self.tasks.is_empty() {
            let tasks = std::mem::take(&mut self.tasks);
            for m in common::screens::run(&self.desk.runtime, iced::Task::batch(tasks)) {
                self.send(m);
            }
        }
    }

    fn sees(&self, text: &str) -> bool {
        let mut ui = Simulator::with_size(Settings::default(), SIZE, self.compose.view());
        ui.find(text).is_ok()
    }
}

#[test]
fn a_new_message_with_completion_an_attachment_autosave_and_ctrl_enter() {
    let desk = Desk::new();
    let mut w = Window {
        compose: desk.compose(ComposeRequest::New),
        desk: &desk,
        tasks: Vec::new(),
        closed: false,
    };
    let from = w.compose.from.clone().unwrap();
    assert_eq!(from.account, common::ACCOUNT);
    assert_eq!(from.identity.email, "alice@example.org");
    // The signature is in the body once, below where the user writes.
    assert_eq!(w.compose.model().body, "\n\n-- \nAlice\nTern test team");

    // Completion from the senders of stored mail (the user's own address never).
    w.user(|ui| {
        let _ = ui.click(id(compose::TO_ID)).unwrap();
        let _ = ui.typewrite("juergen1");
    });
    assert_eq!(w.compose.to, "juergen1");
    let suggestions = w.compose.completion.clone().unwrap().suggestions;
    assert!(!suggestions.is_empty() && suggestions.len() <= 6);
    for s in &suggestions {
        assert!(s.email.starts_with("juergen1"), "{s:?}");
        assert_eq!(s.name.as_deref(), Some("Jürgen Müller"));
    }
    w.user(|ui| {
        let _ = ui.click(id("suggestion-0")).unwrap();
    });
    let chosen = &suggestions[0];
    assert!(
        w.compose.to.contains(&format!("<{}>", chosen.email)),
        "{}",
        w.compose.to
    );
    assert!(w.compose.to.ends_with(", "));
    assert!(w.compose.completion.is_none());
    // Typing more offers more, never what is already in the field.
    w.user(|ui| {
        let _ = ui.click(id(compose::TO_ID)).unwrap();
        let _ = ui.typewrite("juergen1");
    });
    let more = w.compose.completion.clone().unwrap().suggestions;
    assert!(more.iter().all(|s| s.email != chosen.email), "{more:?}");
    // Enter takes the first one.
    w.send(compose::Message::Submit(compose::Field::To));
    assert!(w.compose.to.contains(&format!("<{}>", more[0].email)));

    w.user(|ui| {
        let _ = ui.click(id(compose::SUBJECT_ID)).unwrap();
        let _ = ui.typewrite("Figures for week 12");
        // A click in the text, then Ctrl+Home: the top, above the signature.
        let _ = ui.click(id(compose::BODY_ID)).unwrap();
        let _ = ui.simulate(ctrl(Named::Home));
        let _ = ui.simulate([Event::Keyboard(keyboard::Event::ModifiersChanged(
            Modifiers::empty(),
        ))]);
        let _ = ui.typewrite("Hello Jürgen,");
        let _ = ui.tap_key(Key::Named(Named::Enter));
        let _ = ui.typewrite("the table is attached.");
    });
    assert_eq!(w.compose.subject, "Figures for week 12");
    assert_eq!(
        w.compose.model().body,
        "Hello Jürgen,\nthe table is attached.\n\n-- \nAlice\nTern test team"
    );

    // A file dropped on the window is read (off the UI thread) and attached whole.
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("figures.csv");
    let bytes: Vec<u8> = (0..20_000u32)
        .flat_map(|i| format!("{i},{}\n", i * 7).into_bytes())
        .collect();
    std::fs::write(&path, &bytes).unwrap();
    w.send(compose::Message::FileDropped(path));
    // A file that is not there is said so, by name.
    w.send(compose::Message::FileDropped(files.path().join("gone.pdf")));
    w.run_tasks();
    assert_eq!(w.compose.attachments.len(), 1);
    let attached = &w.compose.attachments[0];
    assert_eq!(attached.name, "figures.csv");
    assert_eq!(attached.content_type, "text/csv");
    assert_eq!(attached.data.as_slice(), bytes.as_slice());
    assert!(w.compose.error.as_deref().unwrap().contains("gone.pdf"));
    w.compose.error = None;

    // The autosave timers ran with the tasks: the last change's save went to the engine,
    // which stored the draft with its attachment.
    assert_eq!(w.compose.draft_state, DraftState::Saving);
    assert!(!w.compose.has_unsaved_changes());
    desk.pump_until(&mut w.compose, "the draft to be saved", |c| {
        c.draft_state == DraftState::Saved
    });
    let store = desk.store();
    let draft = store.draft(w.compose.draft).unwrap().unwrap();
    assert!(draft.compose.contains("Figures for week 12"));
    let stored = store.draft_attachments(w.compose.draft).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].data, bytes);
    assert!(w.sees("Draft saved"));
    snapshot(w.compose.view(), "compose-new-light", theme::Choice::Light);
    snapshot(w.compose.view(), "compose-new-dark", theme::Choice::Dark);

    // Ctrl+Enter in the text sends: into the outbox, and the window closes.
    w.user(|ui| {
        let _ = ui.click(id(compose::BODY_ID)).unwrap();
        let _ = ui.simulate(ctrl(Named::Enter));
    });
    assert!(w.closed, "sending closes the composer");
    let deadline = Instant::now() + Duration::from_secs(10);
    let item = loop {
        let outbox = desk.store().outbox(None).unwrap();
        if let Some(item) = outbox
            .into_iter()
            .find(|i| i.subject == "Figures for week 12")
        {
            break item;
        }
        assert!(Instant::now() < deadline, "the message reached the outbox");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(item.account, common::ACCOUNT);
    assert_eq!(item.envelope.to.len(), 2);
    let raw = desk.store().outbox_bytes(item.id).unwrap().unwrap().raw;
    let raw = String::from_utf8_lossy(&raw);
    assert!(raw.contains("figures.csv"), "the attachment went with it");
    // The draft is gone once the message is safely in the outbox.
    let deadline = Instant::now() + Duration::from_secs(10);
    while desk.store().draft(w.compose.draft).unwrap().is_some() {
        assert!(Instant::now() < deadline, "the draft was removed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn replies_and_forwards_start_from_the_stored_message() {
    let desk = Desk::new();
    // Corpus message 5: plain text from Jürgen, in thread 1.
    let id5 = desk.message("msg5@example.org");
    let reply = desk.compose(ComposeRequest::Reply(id5));
    assert!(!reply.is_waiting());
    let m = reply.model();
    assert!(m.to.contains("juergen5@example.org"), "{}", m.to);
    assert_eq!(m.cc, "");
    assert_eq!(m.subject, "Re: Quarterly figures number 1 äöü");
    assert_eq!(m.in_reply_to.as_deref(), Some("msg5@example.org"));
    assert!(m.references.contains(&"msg5@example.org".to_owned()));
    assert!(m.body.contains("> Hello Alice,"), "{}", m.body);
    assert!(m.body.ends_with("-- \nAlice\nTern test team"), "{}", m.body);
    assert_eq!(m.body.matches("Tern test team").count(), 1);
    assert_eq!(m.from.email, "alice@example.org");
    snapshot(reply.view(), "compose-reply-light", theme::Choice::Light);

    // A forward carries the original's attachment, and can attach the original itself.
    let id10 = desk.message("msg10@example.org");
    let mut w = Window {
        compose: desk.compose(ComposeRequest::Forward(id10)),
        desk: &desk,
        tasks: Vec::new(),
        closed: false,
    };
    let m = w.compose.model();
    assert!(m.subject.starts_with("Fwd: "), "{}", m.subject);
    assert_eq!(m.to, "");
    assert!(m.body.contains("---------- Forwarded message ----------"));
    assert_eq!(w.compose.attachments.len(), 1);
    assert_eq!(w.compose.attachments[0].name, "report-10.pdf");
    assert!(m.forwarded.is_none());
    w.user(|ui| {
        let _ = ui.click("Attach the original message").unwrap();
    });
    let forwarded = w.compose.model().forwarded.unwrap();
    let original = desk.store().body(id10).unwrap().unwrap();
    assert_eq!(forwarded.raw.as_slice(), original.as_slice());

    // A mailto: link fills what it names.
    let link = desk.compose(ComposeRequest::MailTo(
        "mailto:bob@example.net?cc=carol@example.net&subject=Lunch%20on%20Friday&body=Shall%20we%3F"
            .into(),
    ));
    let m = link.model();
    assert_eq!(
        (m.to.as_str(), m.cc.as_str()),
        ("bob@example.net", "carol@example.net")
    );
    assert_eq!(m.subject, "Lunch on Friday");
    assert!(m.body.starts_with("Shall we?"));
    assert!(link.show_copies);
}

#[test]
fn a_reply_waits_for_an_original_not_downloaded_yet() {
    let desk = Desk::new();
    // A message whose body is not stored yet (headers only, as a sync leaves it).
    let summary = tern_core::mime::summarize(&tern_testenv::corpus::message(3000), 0);
    let id = {
        let mut store = desk.store();
        let archive = store
            .folder_by_role(common::ACCOUNT, FolderRole::Archive)
            .unwrap()
            .unwrap()
            .id;
        store
            .insert_messages(
                archive,
                &[tern_core::store::NewMessage {
                    uid: 900,
                    ..summary.message
                }],
            )
            .unwrap();
        store.message_by_uid(archive, 900).unwrap().unwrap().id
    };
    let mut c = desk.compose(ComposeRequest::ReplyAll(id));
    assert!(c.is_waiting());
    assert_eq!(c.from.as_ref().unwrap().account, common::ACCOUNT);
    let mut ui = Simulator::with_size(Settings::default(), SIZE, c.view());
    ui.find("Downloading the original message…").unwrap();
    drop(ui);
    // The body arrives (here written as the engine would) and the reply fills in.
    let raw = tern_testenv::corpus::message(3000);
    desk.store()
        .put_bodies(&[(id, raw.as_slice(), "")])
        .unwrap();
    c.event(&CoreEvent::BodyReady(id), &desk.accounts);
    assert!(!c.is_waiting());
    assert!(c.model().body.contains("> Hello Alice,"));
}

#[test]
fn closing_with_unsaved_changes_asks_first() {
    let desk = Desk::new();
    // Nothing typed: it just closes.
    let mut w = Window {
        compose: desk.compose(ComposeRequest::New),
        desk: &desk,
        tasks: Vec::new(),
        closed: false,
    };
    w.send(compose::Message::CloseRequested);
    assert!(w.closed);

    let mut w = Window {
        compose: desk.compose(ComposeRequest::New),
        desk: &desk,
        tasks: Vec::new(),
        closed: false,
    };
    w.user(|ui| {
        let _ = ui.click(id(compose::SUBJECT_ID)).unwrap();
        let _ = ui.typewrite("Half a thought");
    });
    w.send(compose::Message::CloseRequested);
    assert!(!w.closed && w.compose.confirm_close);
    assert!(w.sees("Save this message as a draft?"));
    snapshot(
        w.compose.view(),
        "compose-close-light",
        theme::Choice::Light,
    );
    w.user(|ui| {
        let _ = ui.click(id("close-keep")).unwrap();
    });
    assert!(!w.closed && !w.compose.confirm_close);
    w.send(compose::Message::CloseRequested);
    w.user(|ui| {
        let _ = ui.click(id("close-save")).unwrap();
    });
    assert!(w.closed);
    assert_eq!(w.compose.draft_state, DraftState::Saving);
    // The engine has it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while desk.store().draft(w.compose.draft).unwrap().is_none() {
        assert!(Instant::now() < deadline, "the draft was saved");
        std::thread::sleep(Duration::from_millis(20));
    }

    // "Discard" drops a draft that was already saved.
    let mut w = Window {
        compose: desk.compose(ComposeRequest::New),
        desk: &desk,
        tasks: Vec::new(),
        closed: false,
    };
    w.send(compose::Message::Edit(
        compose::Field::Subject,
        "Never mind".into(),
    ));
    w.send(compose::Message::SaveDraft);
    let draft = w.compose.draft;
    let deadline = Instant::now() + Duration::from_secs(10);
    while desk.store().draft(draft).unwrap().is_none() {
        assert!(Instant::now() < deadline, "the draft was saved");
        std::thread::sleep(Duration::from_millis(20));
    }
    w.send(compose::Message::Edit(
        compose::Field::Subject,
        "Never mind!".into(),
    ));
    w.send(compose::Message::CloseRequested);
    w.send(compose::Message::Close(CloseChoice::Discard));
    assert!(w.closed);
    let deadline = Instant::now() + Duration::from_secs(10);
    while desk.store().draft(draft).unwrap().is_some() {
        assert!(Instant::now() < deadline, "the draft was discarded");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_message_that_cannot_be_sent_says_why_and_stays_open() {
    let desk = Desk::new();
    let mut w = Window {
        compose: desk.compose(ComposeRequest::New),
        desk: &desk,
        tasks: Vec::new(),
        closed: false,
    };
    w.send(compose::Message::Send);
    assert!(!w.closed);
    assert_eq!(
        w.compose.error.as_deref(),
        Some("Add at least one recipient.")
    );
    w.send(compose::Message::Edit(
        compose::Field::To,
        "bob@@example".into(),
    ));
    w.send(compose::Message::Send);
    assert!(!w.closed);
    assert!(w.sees("“bob@@example” is not a valid address."));
    // Only the profile's earlier failed message is in the outbox.
    assert_eq!(desk.store().outbox(None).unwrap().len(), 1);
}

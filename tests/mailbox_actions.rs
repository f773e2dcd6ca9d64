//! Acting on messages with the mouse, in iced_test's Simulator on a real engine over a
//! real store file: the list's context menu, dragging messages onto a folder, the
//! Outbox's "Send again" and "Delete", and going on with a saved draft.
//!
//! Each step is what a user does (a right click at a row, a press, moves, a release);
//! the Simulator draws the window from the app's state before each one, as the real
//! window is redrawn after every message.
#![allow(clippy::unwrap_used)]

mod common;

use common::harness::Harness;
use common::{ACCOUNT, NOW};
use iced::keyboard::{Key, Modifiers, key::Named};
use iced::{Event, Point, keyboard, mouse};
use iced_test::selector::{Bounded, Selector, id};
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use tern::app;
use tern::screen::mailbox::folders::Place;
use tern::screen::mailbox::list::ROW_HEIGHT;
use tern::widget::message_list;
use tern_core::account::Identity;
use tern_core::compose::Compose;
use tern_core::mime;
use tern_core::store::{
    DraftId, Envelope, Flags, FolderId, FolderRole, MessageId, NewOutgoing, OutboxState, Store,
};

/// The centre of what `selector` finds in the window.
fn center<S>(h: &Harness, selector: S) -> Point
where
    S: Selector + Send,
    S::Output: Bounded + Clone + Send,
{
    let mut ui = h.ui();
    let found = ui.find(selector).unwrap();
    found.visible_bounds().unwrap().center()
}

fn mouse_event(h: &mut Harness, at: Point, event: mouse::Event) {
    h.user(|ui| {
        ui.point_at(at);
        let _ = ui.simulate([Event::Mouse(event)]);
    });
}

fn press(h: &mut Harness, at: Point, button: mouse::Button) {
    mouse_event(h, at, mouse::Event::ButtonPressed(button));
}

fn release(h: &mut Harness, at: Point, button: mouse::Button) {
    mouse_event(h, at, mouse::Event::ButtonReleased(button));
}

fn move_to(h: &mut Harness, at: Point) {
    mouse_event(h, at, mouse::Event::CursorMoved { position: at });
}

fn right_click(h: &mut Harness, at: Point) {
    press(h, at, mouse::Button::Right);
    release(h, at, mouse::Button::Right);
}

fn modifiers(h: &mut Harness, m: Modifiers) {
    h.user(|ui| {
        let _ = ui.simulate([Event::Keyboard(keyboard::Event::ModifiersChanged(m))]);
    });
}

fn folder(store: &Store, role: FolderRole) -> FolderId {
    store.folder_by_role(ACCOUNT, role).unwrap().unwrap().id
}

/// Waits until the store, as the engine wrote it, shows `done`.
fn wait_for_store(h: &Harness, what: &str, done: impl Fn(&Store) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done(&h.store()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn folder_of(store: &Store, id: MessageId) -> Option<FolderId> {
    store.message(id).unwrap().map(|m| m.folder)
}

/// The message at list position `index` and the middle of its row in the window (the
/// list's top is found in the window; rows are all one height).
fn row_at(h: &Harness, index: usize) -> (MessageId, Point) {
    let list = center_bounds(h, id(message_list::LIST_ID));
    let y = list.y + (index as f32 + 0.5) * ROW_HEIGHT;
    assert!(y < list.y + list.height, "row {index} is in the window");
    let msg = h.mailbox().list.row(index).unwrap().message.id;
    (msg, Point::new(list.x + list.width / 2.0, y))
}

fn center_bounds<S>(h: &Harness, selector: S) -> iced::Rectangle
where
    S: Selector + Send,
    S::Output: Bounded + Clone + Send,
{
    let mut ui = h.ui();
    ui.find(selector).unwrap().visible_bounds().unwrap()
}

fn left_click(h: &mut Harness, at: Point) {
    h.user(|ui| {
        ui.point_at(at);
        let _ = ui.simulate(iced_test::simulator::click());
    });
}

#[test]
fn the_context_menu_acts_on_the_selection() {
    let mut h = Harness::new(30, false);
    let (msg, at) = row_at(&h, 2);
    assert!(h.mailbox().list.selected.is_empty());

    // A right click on a row not selected selects it (and shows it), then opens the menu
    // at the pointer.
    right_click(&mut h, at);
    assert_eq!(h.mailbox().list.selected, vec![msg]);
    assert_eq!(h.mailbox().list.cursor, Some(2));
    assert_eq!(h.mailbox().reader.as_ref().unwrap().id, msg);
    let menu = h.mailbox().menu.expect("the menu is open");
    assert_eq!(menu.at, at);
    // Opening the message marked it read: the menu offers the opposite.
    h.ui().find("Mark as unread").unwrap();
    h.snapshot("context-menu-light", tern::theme::Choice::Light);
    h.snapshot("context-menu-dark", tern::theme::Choice::Dark);

    // Flag from the menu: shown at once, stored by the engine; the menu closes.
    h.user(|ui| {
        let _ = ui.click(id("menu-flag")).unwrap();
    });
    assert!(h.mailbox().menu.is_none());
    wait_for_store(&h, "the flag", |s| {
        s.message(msg)
            .unwrap()
            .unwrap()
            .flags
            .contains(Flags::FLAGGED)
    });

    // Escape closes the menu and does nothing else.
    right_click(&mut h, at);
    h.ui().find("Remove flag").unwrap();
    h.key(Key::Named(Named::Escape));
    assert!(h.mailbox().menu.is_none());
    assert_eq!(h.mailbox().list.selected, vec![msg]);

    // A click elsewhere closes it too, and is not a click on what is under it.
    right_click(&mut h, at);
    let (other, below) = row_at(&h, 6);
    // Left of the menu, which opened at the middle of the row.
    let elsewhere = Point::new(below.x - 150.0, below.y);
    left_click(&mut h, elsewhere);
    assert!(h.mailbox().menu.is_none());
    assert_eq!(
        h.mailbox().list.selected,
        vec![msg],
        "{other} was not selected"
    );

    // "Move to" lists the account's other folders; one click moves the message there.
    right_click(&mut h, at);
    h.user(|ui| {
        let _ = ui.click(id("menu-move")).unwrap();
    });
    h.snapshot("context-menu-move-light", tern::theme::Choice::Light);
    let tern = h
        .mailbox()
        .destinations()
        .into_iter()
        .find(|d| d.label.trim() == "Tern")
        .unwrap();
    h.user(|ui| {
        let _ = ui.click(id(format!("move-to-{}", tern.id))).unwrap();
    });
    assert!(h.mailbox().menu.is_none());
    assert!(h.mailbox().list.rows().iter().all(|r| r.message.id != msg));
    wait_for_store(&h, "the move to Tern", |s| {
        folder_of(s, msg) == Some(tern.id)
    });

    // A right click on a row of a selection of two keeps both; Delete moves both to Trash.
    let (first, first_at) = row_at(&h, 0);
    let (second, second_at) = row_at(&h, 1);
    left_click(&mut h, first_at);
    modifiers(&mut h, Modifiers::CTRL);
    left_click(&mut h, second_at);
    modifiers(&mut h, Modifiers::default());
    right_click(&mut h, second_at);
    assert_eq!(h.mailbox().list.selected, vec![first, second]);
    // Replying is for one message at a time: the item does nothing, the menu stays.
    h.user(|ui| {
        let _ = ui.click(id("menu-reply"));
    });
    assert!(h.mailbox().menu.is_some());
    assert!(h.state.composers.is_empty());
    h.user(|ui| {
        let _ = ui.click(id("menu-delete")).unwrap();
    });
    let trash = folder(&h.store(), FolderRole::Trash);
    wait_for_store(&h, "both in Trash", |s| {
        folder_of(s, first) == Some(trash) && folder_of(s, second) == Some(trash)
    });
}

#[test]
fn dragging_messages_onto_a_folder_moves_them() {
    let mut h = Harness::new(30, false);
    let inbox_total = h.mailbox().list.total();
    let (msg, start) = row_at(&h, 1);

    // A press and a small wobble: still a click in the making, not a drag.
    press(&mut h, start, mouse::Button::Left);
    move_to(&mut h, start + iced::Vector::new(3.0, 2.0));
    assert!(!h.mailbox().drag.as_ref().unwrap().active);
    assert!(h.ui().find("1 message").is_err(), "no drag label yet");

    // Further: a drag of that row, which is selected; its label follows the pointer and
    // the folder under it is highlighted.
    let archive_at = center(&h, "Archive");
    move_to(&mut h, archive_at);
    move_to(&mut h, archive_at);
    let archive = folder(&h.store(), FolderRole::Archive);
    let drag = h.mailbox().drag.clone().unwrap();
    assert!(drag.active);
    assert_eq!(drag.over, Some(archive));
    assert_eq!(h.mailbox().list.selected, vec![msg]);
    h.ui().find("1 message").unwrap();
    h.snapshot("drag-to-folder-light", tern::theme::Choice::Light);

    // Letting go there moves it: out of the list at once, into Archive in the store.
    release(&mut h, archive_at, mouse::Button::Left);
    assert!(h.mailbox().drag.is_none());
    assert_eq!(h.mailbox().list.total(), inbox_total - 1);
    wait_for_store(&h, "the move to Archive", |s| {
        folder_of(s, msg) == Some(archive)
    });

    // Let go over no folder: nothing happens.
    let (stays, from) = row_at(&h, 3);
    press(&mut h, from, mouse::Button::Left);
    let reader_at = Point::new(1100.0, 400.0);
    move_to(&mut h, reader_at);
    move_to(&mut h, reader_at);
    assert!(h.mailbox().drag.as_ref().unwrap().active);
    assert!(h.mailbox().drag.as_ref().unwrap().over.is_none());
    release(&mut h, reader_at, mouse::Button::Left);
    assert!(h.mailbox().drag.is_none());
    assert_eq!(h.mailbox().list.total(), inbox_total - 1);
    let inbox = folder(&h.store(), FolderRole::Inbox);
    assert_eq!(folder_of(&h.store(), stays), Some(inbox));

    // The folder the messages are in takes no drop.
    press(&mut h, from, mouse::Button::Left);
    let inbox_at = center(&h, "Inbox");
    move_to(&mut h, inbox_at);
    move_to(&mut h, inbox_at);
    assert!(h.mailbox().drag.as_ref().unwrap().over.is_none());
    release(&mut h, inbox_at, mouse::Button::Left);
    assert_eq!(h.mailbox().list.total(), inbox_total - 1);

    // Escape drops a drag: letting go over a folder afterwards moves nothing.
    press(&mut h, from, mouse::Button::Left);
    move_to(&mut h, archive_at);
    move_to(&mut h, archive_at);
    assert_eq!(h.mailbox().drag.as_ref().unwrap().over, Some(archive));
    h.key(Key::Named(Named::Escape));
    assert!(h.mailbox().drag.is_none());
    release(&mut h, archive_at, mouse::Button::Left);
    assert_eq!(h.mailbox().list.total(), inbox_total - 1);
    assert_eq!(folder_of(&h.store(), stays), Some(inbox));

    // With Ctrl held the selection (two messages) is copied: it stays here and a copy
    // lands in Projects/Tern.
    let (also, also_at) = row_at(&h, 4);
    left_click(&mut h, from);
    modifiers(&mut h, Modifiers::CTRL);
    left_click(&mut h, also_at);
    assert_eq!(h.mailbox().list.selected, vec![stays, also]);
    press(&mut h, from, mouse::Button::Left);
    let tern_at = center(&h, "Tern");
    move_to(&mut h, tern_at);
    move_to(&mut h, tern_at);
    h.ui().find("Copy 2 messages").unwrap();
    release(&mut h, tern_at, mouse::Button::Left);
    modifiers(&mut h, Modifiers::default());
    assert_eq!(
        h.mailbox().list.total(),
        inbox_total - 1,
        "copies stay here"
    );
    let tern = h
        .store()
        .folders(ACCOUNT)
        .unwrap()
        .into_iter()
        .find(|f| f.name == "Projects/Tern")
        .unwrap()
        .id;
    wait_for_store(&h, "two copies in Tern", |s| {
        s.page(tern, 0, 10, Default::default()).unwrap().len() == 2
    });
    let store = h.store();
    assert_eq!(folder_of(&store, stays), Some(inbox));
    assert_eq!(folder_of(&store, also), Some(inbox));
}

/// The test profile's Outbox: the refused message, and one whose connection dropped
/// after the final dot.
fn outbox_profile() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let profile = common::profile(&dir.path().join("profile"), 5, false);
    let mut store = Store::open(&profile.store_path()).unwrap();
    let envelope = Envelope {
        from: "alice@example.org".into(),
        to: vec!["carol@example.org".into()],
        smtputf8: false,
    };
    let unsure = store
        .outbox_add(&NewOutgoing {
            account: ACCOUNT,
            message_id: "sent-2@example.org",
            subject: "Tickets for Friday",
            raw: b"Subject: Tickets for Friday\r\n\r\nHere they are\r\n",
            bcc_header: None,
            envelope: &envelope,
        })
        .unwrap();
    store
        .outbox_transition(
            unsure,
            &[OutboxState::Queued],
            OutboxState::MaybeSent,
            Some("the connection was lost before the server confirmed"),
            None,
            true,
        )
        .unwrap();
    drop(store);
    // Created the day before the tests' "now", so the window does not change with the
    // day the test runs.
    rusqlite::Connection::open(profile.store_path())
        .unwrap()
        .execute("UPDATE outbox SET created = ?1", [NOW - 86_400])
        .unwrap();
    Harness::open(profile, dir)
}

fn outbox_state(h: &Harness, subject: &str) -> Option<OutboxState> {
    h.store()
        .outbox(None)
        .unwrap()
        .into_iter()
        .find(|i| i.subject == subject)
        .map(|i| i.state)
}

#[test]
fn the_outbox_sends_again_and_deletes_after_asking() {
    let mut h = outbox_profile();
    h.user(|ui| {
        let _ = ui.click("Outbox (2 not sent)").unwrap();
    });
    assert_eq!(h.mailbox().place, Place::Outbox);
    let items = h.mailbox().outbox.clone();
    let refused = items
        .iter()
        .find(|i| i.subject == "Minutes of Monday")
        .unwrap()
        .id;
    let unsure = items
        .iter()
        .find(|i| i.subject == "Tickets for Friday")
        .unwrap()
        .id;
    h.snapshot("outbox-actions-light", tern::theme::Choice::Light);
    h.snapshot("outbox-actions-dark", tern::theme::Choice::Dark);

    // A message that may have arrived: asked first; "Cancel" leaves it alone.
    h.user(|ui| {
        let _ = ui.click(id(format!("outbox-send-again-{unsure}"))).unwrap();
    });
    h.ui()
        .find("This message may already have been sent. Send it again?")
        .unwrap();
    h.snapshot("outbox-ask-light", tern::theme::Choice::Light);
    h.user(|ui| {
        let _ = ui.click("Cancel").unwrap();
    });
    assert!(h.mailbox().outbox_ask.is_none());
    assert_eq!(
        outbox_state(&h, "Tickets for Friday"),
        Some(OutboxState::MaybeSent)
    );
    // Asked again and confirmed: back in the queue. (The account has no SMTP server in
    // this test, so it stays queued.)
    h.user(|ui| {
        let _ = ui.click(id(format!("outbox-send-again-{unsure}"))).unwrap();
    });
    h.user(|ui| {
        let _ = ui.click(id("outbox-confirm")).unwrap();
    });
    wait_for_store(&h, "the unsure message queued again", |s| {
        s.outbox_item(unsure).unwrap().map(|i| i.state) == Some(OutboxState::Queued)
    });

    // A refused message goes again without a question.
    h.user(|ui| {
        let _ = ui
            .click(id(format!("outbox-send-again-{refused}")))
            .unwrap();
    });
    assert!(h.mailbox().outbox_ask.is_none());
    wait_for_store(&h, "the refused message queued again", |s| {
        s.outbox_item(refused).unwrap().map(|i| i.state) == Some(OutboxState::Queued)
    });

    // Delete asks; Escape is a "no"; yes removes it from the store.
    h.user(|ui| {
        let _ = ui.click(id(format!("outbox-delete-{refused}"))).unwrap();
    });
    h.ui()
        .find("Delete this message without sending it?")
        .unwrap();
    h.key(Key::Named(Named::Escape));
    assert!(h.mailbox().outbox_ask.is_none());
    assert!(h.store().outbox_item(refused).unwrap().is_some());
    h.user(|ui| {
        let _ = ui.click(id(format!("outbox-delete-{refused}"))).unwrap();
    });
    h.user(|ui| {
        let _ = ui.click(id("outbox-confirm")).unwrap();
    });
    assert!(h.mailbox().outbox.iter().all(|i| i.id != refused));
    wait_for_store(&h, "the refused message deleted", |s| {
        s.outbox_item(refused).unwrap().is_none()
    });
    h.pump_until("the Outbox reread", |s| {
        s.mailbox().unwrap().outbox.len() == 1
    });
    h.ui().find("Tickets for Friday").unwrap();
    assert!(h.ui().find("Minutes of Monday").is_err());
}

const ON_SERVER: DraftId = 1_001;
const LOCAL_ONLY: DraftId = 1_002;

fn draft(subject: &str, body: &str) -> Compose {
    Compose {
        account: ACCOUNT.into(),
        from: Identity {
            name: "Alice".into(),
            email: "alice@example.org".into(),
            ..Identity::default()
        },
        to: "Carol <carol@example.org>".into(),
        subject: subject.into(),
        body: body.into(),
        ..Compose::default()
    }
}

/// The test profile with two drafts saved by Tern: one with its copy in Drafts, as the
/// drafts task leaves it, and one saved on this computer only.
fn drafts_profile() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let profile = common::profile(&dir.path().join("profile"), 5, false);
    let mut store = Store::open(&profile.store_path()).unwrap();
    let drafts = folder(&store, FolderRole::Drafts);
    let saved = draft(
        "Plans for the trip",
        "Day one: the coast. Day two: the hills.",
    );
    store
        .draft_save(
            ON_SERVER,
            ACCOUNT,
            &serde_json::to_string(&saved).unwrap(),
            Some((&[], None)),
        )
        .unwrap();
    let written = chrono::DateTime::from_timestamp(NOW - 3_600, 0).unwrap();
    let built = saved.build_draft(written).unwrap();
    let summary = mime::summarize(&built.bytes, NOW);
    let mut copy = summary.message;
    copy.flags = Flags(Flags::SEEN.0 | Flags::DRAFT.0);
    store
        .replace_draft_copy(
            drafts,
            None,
            Some((&copy, &built.bytes, &summary.index_text)),
            false,
        )
        .unwrap();
    store
        .draft_set_server_copy(ON_SERVER, &built.message_id, NOW * 1000)
        .unwrap();
    let local = draft("Thank-you note", "Dear Carol, thank you for the books.");
    store
        .draft_save(
            LOCAL_ONLY,
            ACCOUNT,
            &serde_json::to_string(&local).unwrap(),
            Some((&[], None)),
        )
        .unwrap();
    drop(store);
    // Saved an hour before the tests' "now", so the window does not change with the day
    // the test runs.
    rusqlite::Connection::open(profile.store_path())
        .unwrap()
        .execute("UPDATE draft SET updated = ?1", [(NOW - 3_600) * 1000])
        .unwrap();
    Harness::open(profile, dir)
}

/// Hands `messages` to the app and runs the tasks they start, and those of the messages
/// they produce, to the end (window operations are the runtime's and skipped).
fn settle(h: &mut Harness, runtime: &tokio::runtime::Runtime, messages: Vec<app::Message>) {
    let mut queue: VecDeque<app::Message> = messages.into();
    while let Some(message) = queue.pop_front() {
        let task = h.update(message);
        queue.extend(common::screens::run(runtime, task));
    }
}

fn click_and_settle<S>(h: &mut Harness, runtime: &tokio::runtime::Runtime, what: S)
where
    S: Selector + Send,
    S::Output: Bounded + Clone + Send + Sync + 'static,
{
    let messages: Vec<app::Message> = {
        let mut ui = h.ui();
        let _ = ui.click(what).unwrap();
        ui.into_messages().collect()
    };
    settle(h, runtime, messages);
}

#[test]
fn a_saved_draft_opens_again_in_a_composer() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut h = drafts_profile();
    h.user(|ui| {
        let _ = ui.click("Drafts").unwrap();
    });
    // The server copy is a message of the folder; the draft kept only here is listed
    // above the folder's messages.
    assert_eq!(h.mailbox().list.total(), 1);
    h.ui().find("Saved on this computer only").unwrap();
    h.ui().find("Thank-you note").unwrap();

    // Opening the server copy offers to go on writing it.
    h.user(|ui| {
        let _ = ui.click("Plans for the trip").unwrap();
    });
    h.ui().find("This is a draft you saved in Tern.").unwrap();
    h.snapshot("drafts-light", tern::theme::Choice::Light);
    click_and_settle(&mut h, &runtime, id("edit-draft"));
    assert_eq!(h.state.composers.len(), 1, "a composer opened");
    let c = h.state.composers.values().next().unwrap();
    assert_eq!(c.draft, ON_SERVER, "the same draft, not a copy");
    assert_eq!(c.subject, "Plans for the trip");
    assert_eq!(c.to, "Carol <carol@example.org>");
    assert!(c.body.text().starts_with("Day one: the coast."));

    // Asking again brings that window forward instead of opening a second one.
    let (row, at) = row_at(&h, 0);
    right_click(&mut h, at);
    assert_eq!(h.mailbox().list.selected, vec![row]);
    click_and_settle(&mut h, &runtime, id("menu-edit-draft"));
    assert_eq!(h.state.composers.len(), 1);

    // The draft kept only here opens the same way.
    click_and_settle(&mut h, &runtime, id(format!("edit-draft-{LOCAL_ONLY}")));
    assert_eq!(h.state.composers.len(), 2);
    let c = h
        .state
        .composers
        .values()
        .find(|c| c.draft == LOCAL_ONLY)
        .unwrap();
    assert_eq!(c.subject, "Thank-you note");
    assert!(c.body.text().starts_with("Dear Carol, thank you"));

    // A message that is not one of Tern's drafts offers nothing.
    h.user(|ui| {
        let _ = ui.click("Inbox").unwrap();
    });
    let (_, at) = row_at(&h, 0);
    left_click(&mut h, at);
    assert!(h.mailbox().reader.is_some());
    assert!(h.ui().find("This is a draft you saved in Tern.").is_err());
}

/// A saved draft that cannot be read back (its stored form damaged) opens no composer and
/// says so in the status line, instead of the click doing nothing.
#[test]
fn a_draft_that_cannot_be_read_says_so() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut h = drafts_profile();
    h.user(|ui| {
        let _ = ui.click("Drafts").unwrap();
    });
    h.ui().find("Thank-you note").unwrap();
    rusqlite::Connection::open(h.profile.store_path())
        .unwrap()
        .execute(
            "UPDATE draft SET compose = '{\"to\": [' WHERE id = ?1",
            [LOCAL_ONLY],
        )
        .unwrap();
    click_and_settle(&mut h, &runtime, id(format!("edit-draft-{LOCAL_ONLY}")));
    assert!(
        h.state.composers.is_empty(),
        "no composer for a draft not read"
    );
    let errors = &h.mailbox().errors;
    assert!(
        errors
            .last()
            .is_some_and(|e| e.starts_with("The saved draft could not be opened")),
        "{errors:?}"
    );
    // The status line shows it; its details, the whole text.
    let full = errors.last().unwrap().clone();
    h.send(app::Message::Mailbox(
        tern::screen::mailbox::Message::ShowError(true),
    ));
    h.ui().find(full.as_str()).unwrap();
}

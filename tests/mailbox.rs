//! The mailbox window in iced_test's Simulator, on a real engine over a real store file:
//! open a folder and read a message, move and delete by keyboard, search as you type.
//! The engine runs (its account is offline: a closed port); the Simulator runs no
//! subscriptions, so the test hands engine events to the app itself.
//!
//! Snapshots live in tests/snapshots; a missing one is written on a developer's machine
//! and fails the test under CI (`CI` set).
#![allow(clippy::unwrap_used)]

mod common;

use common::harness::Harness;
use iced::keyboard::{Key, Modifiers, key::Named};
use iced::{Event, keyboard};
use iced_test::selector::id;
use std::time::{Duration, Instant};
use tern::app::{self, State};
use tern::screen::mailbox::folders::Place;
use tern::screen::mailbox::{self, list::Source};
use tern::settings::Settings as GuiSettings;
use tern_core::store::FolderRole;

fn subjects_in_view(state: &State) -> Vec<String> {
    let m = state.mailbox().unwrap();
    m.list
        .rows()
        .iter()
        .filter(|r| m.list.visible().contains(&r.index))
        .map(|r| r.message.subject.clone())
        .collect()
}

#[test]
fn opens_a_folder_and_reads_a_message() {
    let mut h = Harness::new(40, false);
    let inbox_total = h.mailbox().list.total();
    assert_eq!(inbox_total, 41, "the Inbox lists every stored message");
    // Newest first: the newsletter of June 29 leads.
    assert_eq!(subjects_in_view(&h.state)[0], "Tern weekly: what changed");

    // Another folder, from the tree.
    h.user(|ui| {
        let _ = ui.click("Archive").unwrap();
    });
    assert_eq!(h.mailbox().list.total(), 5);
    assert!(matches!(h.mailbox().place, Place::Folder(_)));
    h.user(|ui| {
        let _ = ui.click("Inbox").unwrap();
    });
    assert_eq!(h.mailbox().list.total(), 41);

    // A plain-text message: its text is in a selectable text area.
    let plain = subjects_in_view(&h.state)
        .into_iter()
        .find(|s| s.starts_with("Re: "))
        .unwrap();
    h.user(|ui| {
        let _ = ui.click(plain.as_str()).unwrap();
    });
    let reader = h.mailbox().reader.as_ref().expect("the message is open");
    assert_eq!(reader.row.subject, plain);
    assert!(
        reader.text().contains("Grüße aus Köln"),
        "{}",
        reader.text()
    );

    // The HTML newsletter: rich text, the real target of a disguised link, the remote
    // image held back, the inline image drawn.
    h.user(|ui| {
        let _ = ui.click("Tern weekly: what changed").unwrap();
    });
    let reader = h.mailbox().reader.as_ref().unwrap();
    let text = reader.text();
    assert!(text.contains("Tern weekly"), "{text}");
    assert!(
        text.contains("https://bank.example.org (evil.example.net)"),
        "{text}"
    );
    assert_eq!(reader.remote_images(), 1);
    h.ui()
        .find("1 remote image was blocked to protect your privacy.")
        .unwrap();
    h.snapshot("reader-html-light", tern::theme::Choice::Light);
    h.snapshot("reader-html-dark", tern::theme::Choice::Dark);

    // A click on a link shows where it goes; nothing opens yet.
    h.send(app::Message::Mailbox(mailbox::Message::Reader(
        mailbox::reader::Message::LinkClicked("https://evil.example.net/login".into()),
    )));
    h.ui()
        .find("This link goes to: https://evil.example.net/login")
        .unwrap();
    h.user(|ui| {
        let _ = ui.click("Cancel").unwrap();
    });
    assert!(
        h.ui()
            .find("This link goes to: https://evil.example.net/login")
            .is_err()
    );

    // "Always for this sender" is remembered in the profile, for the next start too.
    h.user(|ui| {
        let _ = ui.click("Always for this sender").unwrap();
    });
    assert!(h.state.settings.remote_images.contains("news@tern.example"));
    let saved = GuiSettings::load(&GuiSettings::path(h.profile.dir()));
    assert!(saved.remote_images.contains("news@tern.example"));
    assert!(
        h.ui()
            .find("1 remote image was blocked to protect your privacy.")
            .is_err()
    );

    // Opening it marked it read, in the store too.
    let id = h.mailbox().reader.as_ref().unwrap().id;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !h
        .store()
        .message(id)
        .unwrap()
        .unwrap()
        .flags
        .contains(tern_core::store::Flags::SEEN)
    {
        assert!(Instant::now() < deadline, "the engine stored the read flag");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn moves_and_deletes_by_keyboard() {
    let mut h = Harness::new(30, false);
    let before = h.mailbox().list.total();
    h.key(Key::Character("j".into()));
    let id_at = |h: &Harness, i: usize| h.mailbox().list.row(i).unwrap().message.id;
    assert_eq!(h.mailbox().list.cursor, Some(0));
    assert_eq!(h.mailbox().reader.as_ref().unwrap().id, id_at(&h, 0));
    h.key(Key::Character("j".into()));
    h.key(Key::Named(Named::ArrowDown));
    assert_eq!(h.mailbox().list.cursor, Some(2));
    h.key(Key::Character("k".into()));
    assert_eq!(h.mailbox().list.cursor, Some(1));
    let doomed = id_at(&h, 1);
    let next = id_at(&h, 2);
    assert_eq!(h.mailbox().list.selected, vec![doomed]);
    h.snapshot("list-selected-light", tern::theme::Choice::Light);

    // Delete: gone from the list at once; the next message takes its place and opens.
    h.key(Key::Named(Named::Delete));
    assert_eq!(h.mailbox().list.total(), before - 1);
    assert_eq!(id_at(&h, 1), next);
    assert_eq!(h.mailbox().reader.as_ref().unwrap().id, next);

    // The engine moved it to Trash in the store.
    let store_trash = |h: &Harness| {
        let store = h.store();
        let trash = store
            .folder_by_role(common::ACCOUNT, FolderRole::Trash)
            .unwrap()
            .unwrap();
        store.message(doomed).unwrap().map(|m| m.folder == trash.id)
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while store_trash(&h) != Some(true) {
        assert!(
            Instant::now() < deadline,
            "the engine moved the message to Trash"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // A reread of the list agrees with what was shown.
    h.send(app::Message::Mailbox(mailbox::Message::Refresh));
    assert_eq!(h.mailbox().list.total(), before - 1);
    assert_eq!(id_at(&h, 1), next);

    // Ctrl-click adds a row to the selection; "m" marks both read at once.
    h.user(|ui| {
        let _ = ui.simulate([Event::Keyboard(keyboard::Event::ModifiersChanged(
            Modifiers::CTRL,
        ))]);
    });
    let third = h.mailbox().list.row(3).unwrap().message.subject.clone();
    h.user(|ui| {
        let _ = ui.click(third.as_str()).unwrap();
    });
    let both = h.mailbox().list.selected.clone();
    assert_eq!(both, vec![next, id_at(&h, 3)]);
    h.user(|ui| {
        let _ = ui.simulate([Event::Keyboard(keyboard::Event::ModifiersChanged(
            Modifiers::default(),
        ))]);
    });
    h.key(Key::Character("s".into()));
    let flagged = |h: &Harness, id| {
        h.store()
            .message(id)
            .unwrap()
            .unwrap()
            .flags
            .contains(tern_core::store::Flags::FLAGGED)
    };
    for &id in &both {
        let row = h
            .mailbox()
            .list
            .rows()
            .iter()
            .find(|r| r.message.id == id)
            .unwrap();
        assert!(
            h.mailbox()
                .list
                .flags(&row.message)
                .contains(tern_core::store::Flags::FLAGGED)
        );
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while !both.iter().all(|&id| flagged(&h, id)) {
        assert!(Instant::now() < deadline, "the engine stored both flags");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn searches_as_you_type() {
    let mut h = Harness::new(48, false);
    h.user(|ui| {
        let _ = ui.click(id("search")).unwrap();
        let _ = ui.typewrite("Invoice");
    });
    assert_eq!(h.mailbox().search, "Invoice");
    h.pump_until("search results", |s| {
        matches!(&s.mailbox().unwrap().list.source, Source::Search { query, .. } if query == "Invoice")
    });
    let subjects = subjects_in_view(&h.state);
    assert!(!subjects.is_empty());
    assert!(
        subjects.iter().all(|s| s.contains("Invoice")),
        "{subjects:?}"
    );
    h.ui().find("Search results").unwrap();

    // Escape leaves the search: the folder is back.
    h.key(Key::Named(Named::Escape));
    assert!(h.mailbox().search.is_empty());
    assert_eq!(h.mailbox().list.total(), 49);
}

#[test]
fn unified_inbox_threads_and_outbox() {
    let mut h = Harness::new(40, true);
    h.user(|ui| {
        let _ = ui.click("All Inboxes").unwrap();
    });
    assert_eq!(h.mailbox().place, Place::Unified);
    // Both accounts' Inboxes, merged newest first.
    assert_eq!(h.mailbox().list.messages(), 41 + 10);
    let rows: Vec<_> = h.mailbox().list.rows().to_vec();
    assert!(
        rows.windows(2)
            .all(|w| (w[0].message.date, w[0].message.id) >= (w[1].message.date, w[1].message.id)),
        "merged in date order"
    );
    let folders: std::collections::HashSet<_> = rows.iter().map(|r| r.message.folder).collect();
    assert_eq!(folders.len(), 2, "rows of both accounts are in view");

    // A thread opens under its row with the other messages of the conversation.
    let row = rows.iter().find(|r| r.thread_size > 1).unwrap().clone();
    let thread_id = format!("thread-{}", row.index);
    h.user(|ui| {
        let _ = ui.click(id(thread_id.clone())).unwrap();
    });
    let list = &h.mailbox().list;
    let child = list.row(row.index + 1).unwrap();
    assert!(child.child, "the thread's other message is listed under it");
    assert_eq!(child.message.thread, row.message.thread);
    assert_eq!(
        list.messages(),
        51,
        "an open thread adds no message to the count"
    );
    assert_eq!(list.total(), 51 + row.thread_size - 1);
    h.snapshot("unified-thread-dark", tern::theme::Choice::Dark);
    h.user(|ui| {
        let _ = ui.click(id(thread_id.clone())).unwrap();
    });
    assert_eq!(h.mailbox().list.total(), 51);

    // The Outbox lists what is waiting and why it was not sent.
    h.user(|ui| {
        let _ = ui.click("Outbox (1 not sent)").unwrap();
    });
    assert_eq!(h.mailbox().place, Place::Outbox);
    let mut ui = h.ui();
    ui.find("Minutes of Monday").unwrap();
    ui.find("Not sent").unwrap();
    ui.find("550 5.1.1 <nobody@nowhere.example>: Recipient address rejected")
        .unwrap();
}

#[test]
fn sorts_by_sender_and_moves_to_a_folder() {
    let mut h = Harness::new(30, false);
    h.send(app::Message::Mailbox(mailbox::Message::Sort(
        tern::settings::Sort::Sender,
    )));
    // Jürgen Müller before Tern News; the order is remembered in the profile.
    let senders: Vec<String> = h
        .mailbox()
        .list
        .rows()
        .iter()
        .map(|r| tern::screen::mailbox::format::sender(&r.message.from))
        .collect();
    assert_eq!(senders.first().map(String::as_str), Some("Jürgen Müller"));
    assert_eq!(senders.last().map(String::as_str), Some("Jürgen Müller"));
    let saved = GuiSettings::load(&GuiSettings::path(h.profile.dir()));
    assert_eq!(saved.sort, tern::settings::Sort::Sender);

    // Select a message and move it to Projects/Tern from the menu.
    h.key(Key::Character("j".into()));
    let moved = h.mailbox().list.selected.clone();
    let tern_folder = h
        .mailbox()
        .destinations()
        .into_iter()
        .find(|d| d.label.trim() == "Tern")
        .unwrap();
    h.send(app::Message::Mailbox(mailbox::Message::MoveTo(
        tern_folder.clone(),
    )));
    assert!(
        h.mailbox()
            .list
            .rows()
            .iter()
            .all(|r| !moved.contains(&r.message.id))
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while h.store().message(moved[0]).unwrap().map(|m| m.folder) != Some(tern_folder.id) {
        assert!(Instant::now() < deadline, "the engine moved it");
        std::thread::sleep(Duration::from_millis(20));
    }
    h.user(|ui| {
        let _ = ui.click("Tern").unwrap();
    });
    assert_eq!(h.mailbox().list.messages(), 1);
}

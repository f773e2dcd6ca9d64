//! A test profile on disk: a config with accounts (whose servers are never reached in
//! these tests) and a store filled from tern-testenv's corpus, the way a sync fills it.
#![allow(dead_code, clippy::unwrap_used)]

pub mod harness;
pub mod screens;

use std::path::Path;
use tern_core::account::{Account, Config, Incoming, Security, Server};
use tern_core::mime;
use tern_core::profile::Profile;
use tern_core::store::{
    Envelope, Flags, FolderId, FolderInfo, FolderRole, NewMessage, NewOutgoing, OutboxState, Store,
};

/// "Now" for the tests' date formatting: 2024-06-30 12:00 UTC, after every corpus date.
pub const NOW: i64 = 1_719_748_800;

pub const ACCOUNT: &str = "alice";
pub const SECOND_ACCOUNT: &str = "bob";

/// An account whose server is a closed port on loopback: the engine reports it offline
/// and never touches the network for real.
pub fn account(id: &str, name: &str, email: &str) -> Account {
    Account {
        id: id.into(),
        display_name: name.into(),
        email: email.into(),
        incoming: Incoming::Imap(Server {
            host: "127.0.0.1".into(),
            port: 9,
            security: Security::ImplicitTls,
            login: email.into(),
            pinned_cert_sha256: None,
            plaintext_acknowledged: false,
        }),
        ..Account::default()
    }
}

/// The folders of a typical IMAP account.
pub fn folder_list() -> Vec<FolderInfo> {
    let f = |name: &str, role: Option<FolderRole>| FolderInfo {
        name: name.into(),
        delimiter: Some('/'),
        role,
        subscribed: true,
        selectable: true,
    };
    vec![
        f("INBOX", Some(FolderRole::Inbox)),
        f("Drafts", Some(FolderRole::Drafts)),
        f("Sent", Some(FolderRole::Sent)),
        f("Archive", Some(FolderRole::Archive)),
        f("Junk", Some(FolderRole::Junk)),
        f("Trash", Some(FolderRole::Trash)),
        f("Projects", None),
        f("Projects/Tern", None),
    ]
}

/// A newsletter-like HTML mail: headings, a list, a quote, a link whose text names
/// another site, an inline image from the message and a remote image.
pub fn html_message() -> Vec<u8> {
    let html = "<html><head><style>p { color: red }</style></head><body>\
        <h1>Tern weekly</h1>\
        <p>Hello Alice, here is <b>what changed</b> this week.</p>\
        <ul><li>Faster sync</li><li>A new <i>reader</i></li></ul>\
        <blockquote><p>Quoted words from the last issue.</p></blockquote>\
        <p>Log in at <a href=\"https://evil.example.net/login\">https://bank.example.org</a> now.</p>\
        <p><img src=\"cid:logo@tern\" alt=\"logo\"></p>\
        <p><img src=\"https://tracker.example.com/pixel.png\" width=\"20\" height=\"20\"></p>\
        </body></html>";
    format!(
        "From: Tern News <news@tern.example>\r\n\
         To: Alice <alice@example.org>\r\n\
         Subject: Tern weekly: what changed\r\n\
         Date: Sat, 29 Jun 2024 09:30:00 +0000\r\n\
         Message-ID: <weekly@tern.example>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/related; boundary=\"rel\"\r\n\r\n\
         --rel\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n\
         --rel\r\nContent-Type: image/png\r\nContent-ID: <logo@tern>\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n\
iVBORw0KGgoAAAANSUhEUgAAADAAAAAgCAYAAABU1PscAAAHNElEQVR4nBXPsQrCBgIA0PuSDjdk\r\n\
cHBwcHBwcHBwcHBwCFSKhUClWAicFAuBSrEQaCgWApXDg0Cl5CBwcnjgkCFDOBwcHBz8mbvn8D7g\r\n\
/eWL8L//+ysBHbr06DNgyIgxE6bMmBOyYEnEijUxG7Yk7NiTknEg58iJgjMlFReu3KhpaLnz4MmL\r\n\
N3/54ksBAjp06dFnwJARYyZMmTEnZMGSiBVrYjZsSdixJyXjQM6REwVnSiouXLlR09By58GTF+8v\r\n\
P4GvBAjo0KVHnwFDRoyZMGXGnJAFSyJWrInZsCVhx56UjAM5R04UnCmpuHDlRk1Dy50HT168v/oE\r\n\
vhYgoEOXHn0GDBkxZsKUGXNCFiyJWLEmZsOWhB17UjIO5Bw5UXCmpOLClRs1DS13Hjx58f76E4gE\r\n\
COjQpUefAUNGjJkwZcackAVLIlasidmwJWHHnpSMAzlHThScKam4cOVGTUPLnQdPXryjT+AbAQI6\r\n\
dOnRZ8CQEWMmTJkxJ2TBkogVa2I2bEnYsScl40DOkRMFZ0oqLly5UdPQcufBkxfvbz6BbwUI6NCl\r\n\
R58BQ0aMmTBlxpyQBUsiVqyJ2bAlYceelIwDOUdOFJwpqbhw5UZNQ8udB09evL/9BL4TIKBDlx59\r\n\
BgwZMWbClBlzQhYsiVixJmbDloQde1IyDuQcOVFwpqTiwpUbNQ0tdx48efH+7hOIBQjo0KVHnwFD\r\n\
RoyZMGXGnJAFSyJWrInZsCVhx56UjAM5R04UnCmpuHDlRk1Dy50HT16840/gbwIEdOjSo8+AISPG\r\n\
TJgyY07IgiURK9bEbNiSsGNPSsaBnCMnCs6UVFy4cqOmoeXOgycv3n/7BL4XIKBDlx59BgwZMWbC\r\n\
lBlzQhYsiVixJmbDloQde1IyDuQcOVFwpqTiwpUbNQ0tdx48efH+/hP4QYCADl169BkwZMSYCVNm\r\n\
zAlZsCRixZqYDVsSduxJyTiQc+REwZmSigtXbtQ0tNx58OTF+4dPIBEgoEOXHn0GDBkxZsKUGXNC\r\n\
FiyJWLEmZsOWhB17UjIO5Bw5UXCmpOLClRs1DS13Hjx58U4+gR8FCOjQpUefAUNGjJkwZcackAVL\r\n\
IlasidmwJWHHnpSMAzlHThScKam4cOVGTUPLnQdPXrx//AR+EiCgQ5cefQYMGTFmwpQZc0IWLIlY\r\n\
sSZmw5aEHXtSMg7kHDlRcKak4sKVGzUNLXcePHnx/ukT+FmAgA5devQZMGTEmAlTZswJWbAkYsWa\r\n\
mA1bEnbsSck4kHPkRMGZkooLV27UNLTcefDkxfvnTyAVIKBDlx59BgwZMWbClBlzQhYsiVixJmbD\r\n\
loQde1IyDuQcOVFwpqTiwpUbNQ0tdx48efFOP4FfBAjo0KVHnwFDRoyZMGXGnJAFSyJWrInZsCVh\r\n\
x56UjAM5R04UnCmpuHDlRk1Dy50HT168f/kEfhUgoEOXHn0GDBkxZsKUGXNCFiyJWLEmZsOWhB17\r\n\
UjIO5Bw5UXCmpOLClRs1DS13Hjx58f71E/hNgIAOXXr0GTBkxJgJU2bMCVmwJGLFmpgNWxJ27EnJ\r\n\
OJBz5ETBmZKKC1du1DS03Hnw5MX7t08gFyCgQ5cefQYMGTFmwpQZc0IWLIlYsSZmw5aEHXtSMg7k\r\n\
HDlRcKak4sKVGzUNLXcePHnxzj+B3wUI6NClR58BQ0aMmTBlxpyQBUsiVqyJ2bAlYceelIwDOUdO\r\n\
FJwpqbhw5UZNQ8udB09evH//BP4uQECHLj36DBgyYsyEKTPmhCxYErFiTcyGLQk79qRkHMg5cqLg\r\n\
TEnFhSs3ahpa7jx48uL990/gHwIEdOjSo8+AISPGTJgyY07IgiURK9bEbNiSsGNPSsaBnCMnCs6U\r\n\
VFy4cqOmoeXOgycv3v/4BAoBAjp06dFnwJARYyZMmTEnZMGSiBVrYjZsSdixJyXjQM6REwVnSiou\r\n\
XLlR09By58GTF+/iE/hDgIAOXXr0GTBkxJgJU2bMCVmwJGLFmpgNWxJ27EnJOJBz5ETBmZKKC1du\r\n\
1DS03Hnw5MX7j0/gTwECOnTp0WfAkBFjJkyZMSdkwZKIFWtiNmxJ2LEnJeNAzpETBWdKKi5cuVHT\r\n\
0HLnwZMX7z8/gX8KENChS48+A4aMGDNhyow5IQuWRKxYE7NhS8KOPSkZB3KOnCg4U1Jx4cqNmoaW\r\n\
Ow+evHj/8xOoBAjo0KVHnwFDRoyZMGXGnJAFSyJWrInZsCVhx56UjAM5R04UnCmpuHDlRk1Dy50H\r\n\
T168q0/gXwIEdOjSo8+AISPGTJgyY07IgiURK9bEbNiSsGNPSsaBnCMnCs6UVFy4cqOmoeXOgycv\r\n\
3v/6BP4tQECHLj36DBgyYsyEKTPmhCxYErFiTcyGLQk79qRkHMg5cqLgTEnFhSs3ahpa7jx48uL9\r\n\
70/gPwIEdOjSo8+AISPGTJgyY07IgiURK9bEbNiSsGNPSsaBnCMnCs6UVFy4cqOmoeXOgycv3vwf\r\n\
yq/F8W7ORnMAAAAASUVORK5CYII=\r\n\
         --rel--\r\n"
    )
    .into_bytes()
}

/// Stores `raws` in `folder` as a sync would: rows with uids from `first_uid`, flags by
/// position (every third read, every eighth flagged), bodies cached.
pub fn fill(store: &mut Store, folder: FolderId, raws: &[Vec<u8>], first_uid: u32) {
    let rows: Vec<NewMessage> = raws
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            let summary = mime::summarize(raw, NOW - 86_400);
            let mut flags = Flags::empty();
            if i % 3 == 2 {
                flags.insert(Flags::SEEN);
            }
            if i % 8 == 5 {
                flags.insert(Flags::FLAGGED);
            }
            NewMessage {
                uid: first_uid + i as u32,
                flags,
                ..summary.message
            }
        })
        .collect();
    store.insert_messages(folder, &rows).unwrap();
    let mut bodies = Vec::new();
    for (i, raw) in raws.iter().enumerate() {
        let id = store
            .message_by_uid(folder, first_uid + i as u32)
            .unwrap()
            .unwrap()
            .id;
        bodies.push((id, raw.as_slice(), mime::body_text_for_index(raw)));
    }
    let refs: Vec<(i64, &[u8], &str)> = bodies
        .iter()
        .map(|(id, raw, text)| (*id, *raw, text.as_str()))
        .collect();
    store.put_bodies(&refs).unwrap();
}

/// A profile at `dir` with one account ("Alice") whose Inbox holds `inbox` corpus
/// messages and the HTML newsletter, and whose Archive holds a few; with `second`, a
/// second account ("Bob") with a small Inbox.
pub fn profile(dir: &Path, inbox: usize, second: bool) -> Profile {
    let profile = Profile::open(Some(dir.to_path_buf())).unwrap();
    let mut accounts = vec![account(ACCOUNT, "Alice", "alice@example.org")];
    if second {
        accounts.push(account(SECOND_ACCOUNT, "Bob", "bob@example.net"));
    }
    Config {
        accounts,
        ..Config::default()
    }
    .save(&profile.config_path())
    .unwrap();
    let mut store = Store::open(&profile.store_path()).unwrap();
    store.sync_folder_list(ACCOUNT, &folder_list()).unwrap();
    let inbox_id = store
        .folder_by_role(ACCOUNT, FolderRole::Inbox)
        .unwrap()
        .unwrap()
        .id;
    let mut raws = tern_testenv::corpus::messages(0..inbox);
    raws.push(html_message());
    fill(&mut store, inbox_id, &raws, 1);
    let archive = store
        .folder_by_role(ACCOUNT, FolderRole::Archive)
        .unwrap()
        .unwrap()
        .id;
    fill(
        &mut store,
        archive,
        &tern_testenv::corpus::messages(1000..1005),
        1,
    );
    // One message the server refused, waiting in the Outbox for the user.
    let envelope = Envelope {
        from: "alice@example.org".into(),
        to: vec!["nobody@nowhere.example".into()],
        smtputf8: false,
    };
    let failed = store
        .outbox_add(&NewOutgoing {
            account: ACCOUNT,
            message_id: "sent-1@example.org",
            subject: "Minutes of Monday",
            raw: b"From: Alice <alice@example.org>\r\nTo: nobody@nowhere.example\r\n\
                   Subject: Minutes of Monday\r\nMessage-ID: <sent-1@example.org>\r\n\
                   Date: Mon, 24 Jun 2024 09:00:00 +0000\r\n\r\nHello\r\n",
            bcc_header: None,
            envelope: &envelope,
        })
        .unwrap();
    store
        .outbox_transition(
            failed,
            &[OutboxState::Queued],
            OutboxState::Failed,
            Some("550 5.1.1 <nobody@nowhere.example>: Recipient address rejected"),
            None,
            true,
        )
        .unwrap();
    if second {
        store
            .sync_folder_list(SECOND_ACCOUNT, &folder_list())
            .unwrap();
        let bob = store
            .folder_by_role(SECOND_ACCOUNT, FolderRole::Inbox)
            .unwrap()
            .unwrap()
            .id;
        fill(
            &mut store,
            bob,
            &tern_testenv::corpus::messages(2000..2010),
            1,
        );
    }
    profile
}

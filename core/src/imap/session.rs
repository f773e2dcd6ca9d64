//! A logged-in IMAP session and the commands the sync engine uses.

use super::ImapError;
use super::connection::{Connection, Done, Io};
use super::encode::{mailbox, quoted, uid_set};
use super::fetch::{self, FetchedFlags, HEADER_FIELDS};
use crate::store::{Flags, FolderRole, NewMessage};
use base64::Engine as _;
use imap_proto::rfc4315::UidSetMember;
use imap_proto::{
    AttributeValue, Capability, MailboxDatum, NameAttribute, Response, ResponseCode, Status,
};
use std::collections::HashSet;
use std::ops::RangeInclusive;
use std::time::Duration;

/// A folder as LIST reports it (name already decoded from modified UTF-7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedFolder {
    pub name: String,
    pub delimiter: Option<char>,
    pub role: Option<FolderRole>,
    pub subscribed: bool,
    pub selectable: bool,
}

/// What SELECT told us about a folder.
#[derive(Clone, Debug, Default)]
pub struct Selected {
    pub exists: u32,
    pub uidvalidity: Option<u32>,
    pub uidnext: Option<u32>,
    pub highestmodseq: Option<u64>,
    /// From QRESYNC: messages expunged since the known modseq.
    pub vanished: Vec<RangeInclusive<u32>>,
    /// From QRESYNC: flags changed since the known modseq.
    pub changed: Vec<FetchedFlags>,
}

pub struct Session {
    conn: Connection<Box<dyn Io>>,
    caps: HashSet<String>,
    qresync: bool,
    selected: Option<String>,
}

impl Session {
    pub(super) fn new(conn: Connection<Box<dyn Io>>) -> Self {
        Session {
            conn,
            caps: HashSet::new(),
            qresync: false,
            selected: None,
        }
    }

    /// Whether the server advertised `cap` (case-insensitive, e.g. "MOVE", "AUTH=PLAIN").
    pub fn has(&self, cap: &str) -> bool {
        self.caps.contains(&cap.to_ascii_uppercase())
    }

    /// Whether the server files a copy of each message submitted over its SMTP in its Sent
    /// folder itself, so a client must not upload another: Gmail does, and says it is
    /// Gmail with `X-GM-EXT-1`.
    pub fn files_sent_mail(&self) -> bool {
        self.has("X-GM-EXT-1")
    }

    /// Everything the server advertised, upper-cased.
    pub fn capabilities(&self) -> Vec<String> {
        let mut caps: Vec<String> = self.caps.iter().cloned().collect();
        caps.sort();
        caps
    }

    /// True once QRESYNC is enabled: SELECT reports VANISHED and changed flags.
    pub fn qresync(&self) -> bool {
        self.qresync
    }

    pub(super) async fn refresh_capabilities(&mut self) -> Result<(), ImapError> {
        let mut caps = HashSet::new();
        self.conn
            .run("CAPABILITY", |r| {
                if let Response::Capabilities(list) = r {
                    caps.extend(list.iter().map(cap_name));
                }
            })
            .await?;
        self.caps = caps;
        Ok(())
    }

    pub(super) async fn login(&mut self, user: &str, password: &str) -> Result<(), ImapError> {
        if user.contains(['\r', '\n', '\0']) || password.contains(['\r', '\n', '\0']) {
            return Err(ImapError::InvalidString);
        }
        let result = if self.has("AUTH=PLAIN") {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
            if self.has("SASL-IR") {
                self.conn
                    .run(&format!("AUTHENTICATE PLAIN {token}"), |_| {})
                    .await
            } else {
                let tag = self.conn.send("AUTHENTICATE PLAIN").await?;
                self.wait_continuation().await?;
                self.conn.write(format!("{token}\r\n").as_bytes()).await?;
                self.conn.finish(&tag, |_| {}).await
            }
        } else if self.has("LOGINDISABLED") {
            return Err(ImapError::AuthFailed(
                "the server offers no login method over this connection".into(),
            ));
        } else {
            let command = format!("LOGIN {} {}", quoted(user)?, quoted(password)?);
            self.conn.run(&command, |_| {}).await
        };
        match result {
            Ok(done) => {
                // Capabilities change with login; take the reply's list, else ask again.
                if let Some(ResponseCode::Capabilities(list)) = &done.code {
                    self.caps = list.iter().map(cap_name).collect();
                } else {
                    self.refresh_capabilities().await?;
                }
                Ok(())
            }
            Err(ImapError::No(text) | ImapError::Bad(text)) => Err(ImapError::AuthFailed(text)),
            Err(e) => Err(e),
        }
    }

    pub(super) async fn after_login(&mut self) -> Result<(), ImapError> {
        if self.has("QRESYNC") {
            let mut enabled = false;
            self.conn
                .run("ENABLE QRESYNC", |r| {
                    if let Response::Capabilities(list) = r {
                        enabled |= list.iter().any(|c| cap_name(c) == "QRESYNC");
                    }
                })
                .await?;
            self.qresync = enabled;
        }
        Ok(())
    }

    async fn wait_continuation(&mut self) -> Result<(), ImapError> {
        loop {
            match self.conn.read_response().await? {
                Some(Response::Continue(_)) => return Ok(()),
                Some(Response::Done { outcome, .. }) => {
                    let text = outcome
                        .information
                        .map(|s| s.into_owned())
                        .unwrap_or_default();
                    return Err(ImapError::No(text));
                }
                _ => continue,
            }
        }
    }

    /// All folders, with SPECIAL-USE roles and subscription state.
    ///
    /// The caller deletes local folders missing from this list, so it must be complete:
    /// if a line could not be read, the plain LIST is tried; if that too is unreadable,
    /// this fails rather than return a partial list.
    pub async fn list(&mut self) -> Result<Vec<ListedFolder>, ImapError> {
        let extended = self.has("LIST-EXTENDED");
        let command = if extended && self.has("SPECIAL-USE") {
            r#"LIST "" "*" RETURN (SUBSCRIBED SPECIAL-USE)"#
        } else if extended {
            r#"LIST "" "*" RETURN (SUBSCRIBED)"#
        } else {
            r#"LIST "" "*""#
        };
        if let Some(folders) = self.list_complete(command).await? {
            return Ok(folders);
        }
        let mut folders = self
            .list_complete(r#"LIST "" "*""#)
            .await?
            .ok_or_else(|| ImapError::Protocol("the folder list could not be read".into()))?;
        let mut subscribed = HashSet::new();
        self.conn
            .run(r#"LSUB "" "*""#, |r| {
                if let Response::MailboxData(MailboxDatum::List(list)) = r {
                    subscribed.insert(super::encode::utf7_decode(&list.name));
                }
            })
            .await?;
        for f in &mut folders {
            f.subscribed = subscribed.contains(&f.name);
        }
        Ok(folders)
    }

    /// Runs one LIST command; None if any of its lines could not be parsed.
    async fn list_complete(
        &mut self,
        command: &str,
    ) -> Result<Option<Vec<ListedFolder>>, ImapError> {
        let skipped_before = self.conn.skipped();
        let mut folders = Vec::new();
        self.conn
            .run(command, |r| {
                if let Response::MailboxData(MailboxDatum::List(list)) = r {
                    folders.push(listed(
                        &list.name,
                        list.delimiter.as_deref(),
                        &list.name_attributes,
                    ));
                }
            })
            .await?;
        Ok((self.conn.skipped() == skipped_before).then_some(folders))
    }

    /// SELECTs a folder. With QRESYNC and a known (UIDVALIDITY, HIGHESTMODSEQ), the
    /// server reports what vanished and changed since then in the same round trip.
    pub async fn select(
        &mut self,
        name: &str,
        known: Option<(u32, u64)>,
    ) -> Result<Selected, ImapError> {
        let mut command = format!("SELECT {}", mailbox(name)?);
        match known {
            Some((uidvalidity, modseq)) if self.qresync && modseq > 0 => {
                command.push_str(&format!(" (QRESYNC ({uidvalidity} {modseq}))"));
            }
            _ if self.has("CONDSTORE") => command.push_str(" (CONDSTORE)"),
            _ => {}
        }
        let mut selected = Selected::default();
        self.selected = None;
        self.conn
            .run(&command, |r| match r {
                Response::MailboxData(MailboxDatum::Exists(n)) => selected.exists = n,
                Response::Data { outcome, .. } => match outcome.code {
                    Some(ResponseCode::UidValidity(v)) => selected.uidvalidity = Some(v),
                    Some(ResponseCode::UidNext(v)) => selected.uidnext = Some(v),
                    Some(ResponseCode::HighestModSeq(v)) => selected.highestmodseq = Some(v),
                    _ => {}
                },
                Response::Vanished { uids, .. } => selected.vanished.extend(normalise(uids)),
                Response::Fetch(_, attrs) => selected.changed.extend(fetch::flags_from(&attrs)),
                _ => {}
            })
            .await?;
        self.selected = Some(name.to_owned());
        Ok(selected)
    }

    /// The selected folder, if any.
    pub fn selected(&self) -> Option<&str> {
        self.selected.as_deref()
    }

    /// The FETCH items of a message row.
    fn header_items(&self) -> String {
        let modseq = if self.has("CONDSTORE") { " MODSEQ" } else { "" };
        format!(
            "(UID FLAGS INTERNALDATE RFC822.SIZE BODYSTRUCTURE{modseq} BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})])"
        )
    }

    /// Sends a header FETCH for a sequence range without waiting (for pipelining);
    /// collect with [`Session::finish_headers`].
    pub async fn send_headers_by_seq(&mut self, from: u32, to: u32) -> Result<String, ImapError> {
        let items = self.header_items();
        self.conn.send(&format!("FETCH {from}:{to} {items}")).await
    }

    /// Sends a header FETCH for UIDs `from:*`.
    pub async fn send_headers_by_uid(&mut self, from: u32) -> Result<String, ImapError> {
        let items = self.header_items();
        self.conn.send(&format!("UID FETCH {from}:* {items}")).await
    }

    /// Sends a header FETCH for exactly these UIDs.
    pub async fn send_headers_by_uid_set(&mut self, uids: &[u32]) -> Result<String, ImapError> {
        let items = self.header_items();
        self.conn
            .send(&format!("UID FETCH {} {items}", uid_set(uids)))
            .await
    }

    /// Reads the replies to a header FETCH into `out`.
    pub async fn finish_headers(
        &mut self,
        tag: &str,
        out: &mut Vec<NewMessage>,
    ) -> Result<(), ImapError> {
        self.conn
            .finish(tag, |r| {
                if let Response::Fetch(_, attrs) = r {
                    out.extend(fetch::message_from(&attrs));
                }
            })
            .await
            .map(drop)
    }

    /// Flags of every message (or those changed since `modseq`), plus, with QRESYNC,
    /// the UIDs that vanished since then.
    pub async fn flags_since(
        &mut self,
        modseq: Option<u64>,
    ) -> Result<(Vec<FetchedFlags>, Vec<RangeInclusive<u32>>), ImapError> {
        let mut command = String::from("UID FETCH 1:* (UID FLAGS");
        if self.has("CONDSTORE") {
            command.push_str(" MODSEQ");
        }
        command.push(')');
        if let Some(m) = modseq.filter(|_| self.has("CONDSTORE")) {
            if self.qresync {
                command.push_str(&format!(" (CHANGEDSINCE {m} VANISHED)"));
            } else {
                command.push_str(&format!(" (CHANGEDSINCE {m})"));
            }
        }
        let mut changed = Vec::new();
        let mut vanished = Vec::new();
        self.conn
            .run(&command, |r| match r {
                Response::Fetch(_, attrs) => changed.extend(fetch::flags_from(&attrs)),
                Response::Vanished { uids, .. } => vanished.extend(normalise(uids)),
                _ => {}
            })
            .await?;
        Ok((changed, vanished))
    }

    /// Every UID in the selected folder, ascending.
    pub async fn all_uids(&mut self) -> Result<Vec<u32>, ImapError> {
        let mut uids = Vec::new();
        self.conn
            .run("UID SEARCH ALL", |r| {
                if let Response::MailboxData(MailboxDatum::Search(found)) = r {
                    uids.extend(found);
                }
            })
            .await?;
        uids.sort_unstable();
        Ok(uids)
    }

    /// (UID, size) of the messages whose Message-ID is exactly `message_id` (without angle
    /// brackets). SEARCH HEADER matches substrings, so each candidate's header is checked.
    pub async fn find_message_id(
        &mut self,
        message_id: &str,
    ) -> Result<Vec<(u32, u32)>, ImapError> {
        let mut candidates = Vec::new();
        let wanted = quoted(&format!("<{message_id}>"))?;
        self.conn
            .run(&format!("UID SEARCH HEADER Message-ID {wanted}"), |r| {
                if let Response::MailboxData(MailboxDatum::Search(found)) = r {
                    candidates.extend(found);
                }
            })
            .await?;
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let command = format!(
            "UID FETCH {} (UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])",
            uid_set(&candidates)
        );
        let mut exact = Vec::new();
        self.conn
            .run(&command, |r| {
                if let Response::Fetch(_, attrs) = r
                    && let Some((uid, size, id)) = fetch::message_id_from(&attrs)
                    && id == message_id
                {
                    exact.push((uid, size));
                }
            })
            .await?;
        Ok(exact)
    }

    /// The raw RFC 5322 bytes of a message, without setting \Seen.
    pub async fn fetch_body(&mut self, uid: u32) -> Result<Option<Vec<u8>>, ImapError> {
        let mut body = None;
        self.conn
            .run(&format!("UID FETCH {uid} (UID BODY.PEEK[])"), |r| {
                if let Response::Fetch(_, attrs) = r {
                    for attr in attrs {
                        if let AttributeValue::BodySection { data: Some(d), .. } = attr {
                            body = Some(d.into_owned());
                        }
                    }
                }
            })
            .await?;
        Ok(body)
    }

    /// Adds and removes system flags on messages of the selected folder.
    pub async fn store_flags(
        &mut self,
        uids: &[u32],
        add: Flags,
        remove: Flags,
    ) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uid_set(uids);
        if add != Flags::empty() {
            let command = format!("UID STORE {set} +FLAGS.SILENT {}", fetch::flag_list(add));
            self.conn.run(&command, |_| {}).await?;
        }
        if remove != Flags::empty() {
            let command = format!("UID STORE {set} -FLAGS.SILENT {}", fetch::flag_list(remove));
            self.conn.run(&command, |_| {}).await?;
        }
        Ok(())
    }

    /// Copies messages; returns (source uid, new uid) pairs when the server says (UIDPLUS).
    pub async fn copy(&mut self, uids: &[u32], to: &str) -> Result<Vec<(u32, u32)>, ImapError> {
        let command = format!("UID COPY {} {}", uid_set(uids), mailbox(to)?);
        let done = self.conn.run(&command, |_| {}).await?;
        Ok(copyuid(done.code.as_ref(), uids.len()))
    }

    /// Moves messages (MOVE, or COPY + delete + expunge); returns (old, new) UID pairs.
    pub async fn move_to(&mut self, uids: &[u32], to: &str) -> Result<Vec<(u32, u32)>, ImapError> {
        if !self.has("MOVE") {
            let pairs = self.copy(uids, to).await?;
            self.expunge(uids).await?;
            return Ok(pairs);
        }
        let command = format!("UID MOVE {} {}", uid_set(uids), mailbox(to)?);
        let mut pairs = Vec::new();
        let done = self
            .conn
            .run(&command, |r| {
                if let Response::Data { outcome, .. } = r {
                    pairs.extend(copyuid(outcome.code.as_ref(), uids.len()));
                }
            })
            .await?;
        pairs.extend(copyuid(done.code.as_ref(), uids.len()));
        Ok(pairs)
    }

    /// Permanently removes messages (only these: UID EXPUNGE where the server has UIDPLUS).
    pub async fn expunge(&mut self, uids: &[u32]) -> Result<(), ImapError> {
        self.store_flags(uids, Flags::DELETED, Flags::empty())
            .await?;
        if self.has("UIDPLUS") {
            let command = format!("UID EXPUNGE {}", uid_set(uids));
            self.conn.run(&command, |_| {}).await?;
            return Ok(());
        }
        // A plain EXPUNGE removes every \Deleted message of the folder: only send it when
        // those are exactly ours, never taking another client's marked mail with it.
        let mut deleted = Vec::new();
        self.conn
            .run("UID SEARCH DELETED", |r| {
                if let Response::MailboxData(MailboxDatum::Search(found)) = r {
                    deleted.extend(found);
                }
            })
            .await?;
        let mut ours = uids.to_vec();
        ours.sort_unstable();
        deleted.sort_unstable();
        if deleted == ours {
            self.conn.run("EXPUNGE", |_| {}).await?;
        }
        Ok(())
    }

    /// Appends a message; returns (UIDVALIDITY, UID) when the server says (UIDPLUS).
    pub async fn append(
        &mut self,
        folder: &str,
        flags: Flags,
        raw: &[u8],
    ) -> Result<Option<(u32, u32)>, ImapError> {
        let plus = self.has("LITERAL+");
        let head = format!(
            "APPEND {} {} {{{}{}}}",
            mailbox(folder)?,
            fetch::flag_list(flags),
            raw.len(),
            if plus { "+" } else { "" }
        );
        let tag = self.conn.send(&head).await?;
        if !plus {
            self.wait_continuation().await?;
        }
        self.conn.write(raw).await?;
        self.conn.write(b"\r\n").await?;
        let done = self.conn.finish(&tag, |_| {}).await?;
        Ok(match done.code {
            Some(ResponseCode::AppendUid(validity, set)) => {
                set.first().map(|m| (validity, first_uid(m)))
            }
            _ => None,
        })
    }

    pub async fn create(&mut self, name: &str) -> Result<(), ImapError> {
        self.conn
            .run(&format!("CREATE {}", mailbox(name)?), |_| {})
            .await?;
        self.conn
            .run(&format!("SUBSCRIBE {}", mailbox(name)?), |_| {})
            .await
            .map(drop)
    }

    pub async fn rename(&mut self, from: &str, to: &str) -> Result<(), ImapError> {
        let command = format!("RENAME {} {}", mailbox(from)?, mailbox(to)?);
        self.conn.run(&command, |_| {}).await.map(drop)
    }

    pub async fn delete(&mut self, name: &str) -> Result<(), ImapError> {
        if self.selected.as_deref() == Some(name) {
            self.conn.run("UNSELECT", |_| {}).await.ok();
            self.selected = None;
        }
        self.conn
            .run(&format!("DELETE {}", mailbox(name)?), |_| {})
            .await
            .map(drop)
    }

    pub async fn noop(&mut self) -> Result<(), ImapError> {
        self.conn.run("NOOP", |_| {}).await.map(drop)
    }

    /// Waits in IDLE until the server reports a change or `wait` passes. True on a change.
    pub async fn idle(&mut self, wait: Duration) -> Result<bool, ImapError> {
        let tag = self.conn.send("IDLE").await?;
        self.wait_continuation().await?;
        // One deadline for the whole wait: keep-alives must not extend it forever.
        let deadline = tokio::time::Instant::now() + wait;
        let mut changed = false;
        while let Ok(read) = tokio::time::timeout_at(deadline, self.conn.read_response()).await {
            match read? {
                Some(
                    Response::MailboxData(MailboxDatum::Exists(_))
                    | Response::Expunge(_)
                    | Response::Vanished { .. }
                    | Response::Fetch(..),
                ) => {
                    changed = true;
                    break;
                }
                // The server ended IDLE itself: the command is over.
                Some(Response::Done { tag: t, status, .. }) if t.0 == tag => {
                    return match status {
                        Status::Ok => Ok(changed),
                        _ => Err(ImapError::Bye("the server ended IDLE".into())),
                    };
                }
                Some(Response::Data {
                    status: Status::Bye,
                    outcome,
                }) => {
                    let text = outcome
                        .information
                        .map(|s| s.into_owned())
                        .unwrap_or_default();
                    return Err(ImapError::Bye(text));
                }
                _ => continue,
            }
        }
        self.conn.write(b"DONE\r\n").await?;
        self.conn
            .finish(&tag, |r| {
                changed |= matches!(
                    r,
                    Response::MailboxData(MailboxDatum::Exists(_))
                        | Response::Expunge(_)
                        | Response::Vanished { .. }
                        | Response::Fetch(..)
                );
            })
            .await?;
        Ok(changed)
    }

    pub async fn logout(mut self) -> Result<(), ImapError> {
        match self.conn.run("LOGOUT", |_| {}).await {
            Ok(_) | Err(ImapError::Bye(_)) | Err(ImapError::Closed) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Lets a test or the engine check a command's tagged reply.
    pub async fn raw(&mut self, command: &str) -> Result<Done, ImapError> {
        self.conn.run(command, |_| {}).await
    }
}

fn cap_name(c: &Capability<'_>) -> String {
    match c {
        Capability::Imap4rev1 => "IMAP4REV1".into(),
        Capability::Auth(m) => format!("AUTH={}", m.to_ascii_uppercase()),
        Capability::Atom(a) => a.to_ascii_uppercase(),
    }
}

fn listed(name: &str, delimiter: Option<&str>, attrs: &[NameAttribute<'_>]) -> ListedFolder {
    let name = super::encode::utf7_decode(name);
    let mut folder = ListedFolder {
        role: None,
        delimiter: delimiter.and_then(|d| d.chars().next()),
        subscribed: false,
        selectable: true,
        name,
    };
    for attr in attrs {
        match attr {
            NameAttribute::NoSelect => folder.selectable = false,
            NameAttribute::Drafts => folder.role = Some(FolderRole::Drafts),
            NameAttribute::Sent => folder.role = Some(FolderRole::Sent),
            NameAttribute::Trash => folder.role = Some(FolderRole::Trash),
            NameAttribute::Junk => folder.role = Some(FolderRole::Junk),
            NameAttribute::Archive => folder.role = Some(FolderRole::Archive),
            NameAttribute::Extension(e) => match e.to_ascii_lowercase().as_str() {
                "\\subscribed" => folder.subscribed = true,
                "\\nonexistent" => folder.selectable = false,
                _ => {}
            },
            _ => {}
        }
    }
    if folder.name.eq_ignore_ascii_case("INBOX") {
        folder.role = Some(FolderRole::Inbox);
    }
    folder
}

/// Server ranges may run backwards (`10:5`) and be huge (`1:4000000000`): keep them as
/// ranges, each low:high, and never expand them.
fn normalise(ranges: Vec<RangeInclusive<u32>>) -> impl Iterator<Item = RangeInclusive<u32>> {
    ranges.into_iter().map(|r| {
        let (a, b) = (*r.start(), *r.end());
        a.min(b)..=a.max(b)
    })
}

fn first_uid(m: &UidSetMember) -> u32 {
    match m {
        UidSetMember::Uid(u) => *u,
        UidSetMember::UidRange(r) => *r.start(),
    }
}

fn members(set: &[UidSetMember]) -> impl Iterator<Item = u32> + '_ {
    set.iter().flat_map(|m| match m {
        UidSetMember::Uid(u) => *u..=*u,
        UidSetMember::UidRange(r) => r.clone(),
    })
}

/// (source, new) UID pairs from COPYUID; never more than we asked to copy, whatever
/// ranges the server sends.
fn copyuid(code: Option<&ResponseCode<'_>>, asked: usize) -> Vec<(u32, u32)> {
    match code {
        Some(ResponseCode::CopyUid(_, from, to)) => {
            members(from).zip(members(to)).take(asked).collect()
        }
        _ => Vec::new(),
    }
}

//! Threads, computed locally and incrementally (the linking half of JWZ threading; the tree
//! shape is left to the view, which has each message's In-Reply-To).
//!
//! Every Message-ID a message has or references is mapped to a thread in `thread_link` (keyed
//! by a hash, see `link_key`; merged threads are redirected by `thread_alias`). A new
//! message joins the threads of all those ids, merging them when it links several, so order
//! of arrival does not matter: a reply first creates links for its parent's id, and the parent
//! finds them when it arrives. Only a message with no reply headers at all may join by subject.

use std::cell::RefCell;
use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::ids::Ids;
use super::{StoreError, ThreadId};

/// How far apart in time two messages may be to join by subject alone.
const SUBJECT_WINDOW_SECS: i64 = 30 * 24 * 60 * 60;

/// What threading needs from a message, worked out once, without the database.
pub(super) struct ThreadInput {
    pub date: i64,
    /// The normalised Subject (it is stored and looked up).
    pub subject: SubjectKey,
    /// In-Reply-To or References present.
    reply_headers: bool,
    /// The `thread_link` keys of every Message-ID the message has or references, once each.
    keys: Vec<i64>,
}

/// The subject columns stored with a message.
pub(super) struct SubjectKey {
    /// Normalised subject, None when nothing is left after normalising.
    pub key: Option<String>,
    /// 0: an original ("x"); 1: a reply ("Re: x"); 2: a reply without reply headers, which
    /// an original arriving later may join.
    pub kind: u8,
}

impl ThreadInput {
    /// `account` scopes the link keys: a Message-ID links only within one account.
    pub fn new(
        account: &str,
        message_id: Option<&str>,
        in_reply_to: Option<&str>,
        references: &[String],
        subject: &str,
        date: i64,
    ) -> ThreadInput {
        let reply_headers = in_reply_to.is_some_and(|s| !s.trim().is_empty())
            || references.iter().any(|s| !s.trim().is_empty());
        let (key, reply_looking) = normalize_subject(subject);
        let subject = SubjectKey {
            kind: match (reply_looking, reply_headers) {
                (false, _) => 0,
                (true, true) => 1,
                (true, false) => 2,
            },
            key: (!key.is_empty()).then_some(key),
        };
        let mut keys: Vec<i64> = Vec::with_capacity(references.len() + 2);
        let all = message_id
            .into_iter()
            .chain(in_reply_to)
            .chain(references.iter().map(String::as_str));
        for id in all.map(clean_id).filter(|id| !id.is_empty()) {
            let key = link_key(account, id);
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        ThreadInput {
            date,
            subject,
            reply_headers,
            keys,
        }
    }

    fn has_reply_headers(&self) -> bool {
        self.reply_headers
    }
}

/// Strips angle brackets and whitespace a sloppy header may still carry.
pub(super) fn clean_id(id: &str) -> &str {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
}

/// The `thread_link` key of a Message-ID in an account: 64-bit FNV-1a of both. An integer
/// key keeps the table small (it takes a random insert per id); a collision (odds ~1e-9 at
/// 200,000 ids) would only join two threads. Stored on disk: never change the function.
pub(super) fn link_key(account: &str, message_id: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in account.bytes().chain([0xff]).chain(message_id.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h as i64
}

/// The live thread a (possibly merged-away) thread id now belongs to.
pub(super) fn resolve(conn: &Connection, mut thread: ThreadId) -> Result<ThreadId, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT target FROM thread_alias WHERE thread = ?1")?;
    // Merges re-point older aliases at the new target, so chains are one step; the bound
    // only guards against a corrupt cycle.
    for _ in 0..64 {
        match stmt.query_row([thread], |r| r.get(0)).optional()? {
            Some(t) => thread = t,
            None => break,
        }
    }
    Ok(thread)
}

/// The thread a Message-ID is linked to in an account, if any.
pub(super) fn linked_thread(
    conn: &Connection,
    account: &str,
    message_id: &str,
) -> Result<Option<ThreadId>, StoreError> {
    let t: Option<ThreadId> = conn
        .prepare_cached("SELECT thread FROM thread_link WHERE key = ?1")?
        .query_row([link_key(account, message_id)], |r| r.get(0))
        .optional()?;
    t.map(|t| resolve(conn, t)).transpose()
}

/// Assigns thread ids within one account.
pub(super) struct Threader<'a> {
    account: &'a str,
    /// What a batch read ahead ([`Threader::read_ahead`]); None: every lookup asks the store.
    ahead: RefCell<Option<ReadAhead>>,
}

/// The lookups a batch of messages will make, answered by one query each instead of one per
/// message, and kept current as the batch links, merges and inserts.
struct ReadAhead {
    /// The live thread of each key read ahead or linked since; None: not linked.
    links: HashMap<i64, Option<ThreadId>>,
    /// Whether a reply without reply headers (subject_kind 2) may be stored with a subject
    /// key read ahead: the only rows a message without reply headers that does not look
    /// like a reply can join, and rare, so most such messages skip the subject lookup.
    headerless: HashMap<String, bool>,
    /// Links made since, written by [`Threader::write_links`]: in key order, a batch's
    /// random keys touch each page of the table once.
    new_links: Vec<(i64, ThreadId)>,
}

impl<'a> Threader<'a> {
    pub fn new(account: &'a str) -> Threader<'a> {
        Threader {
            account,
            ahead: RefCell::new(None),
        }
    }

    /// The account whose threads this assigns.
    pub fn account(&self) -> &str {
        self.account
    }

    /// Reads ahead what [`Threader::assign`] will look up for these messages (a batch about
    /// to be inserted, in the same transaction), in two queries.
    pub fn read_ahead<'m>(
        &self,
        conn: &Connection,
        messages: impl Iterator<Item = &'m ThreadInput> + Clone,
    ) -> Result<(), StoreError> {
        let mut keys: Vec<i64> = messages
            .clone()
            .flat_map(|m| m.keys.iter().copied())
            .collect();
        // Ascending: the lookups walk the index in order.
        keys.sort_unstable();
        keys.dedup();
        let mut links: HashMap<i64, Option<ThreadId>> = keys.iter().map(|&k| (k, None)).collect();
        let found = conn
            .prepare_cached(
                "SELECT l.key, coalesce(a.target, l.thread)
                 FROM json_each(?1) AS j
                 JOIN thread_link AS l ON l.key = j.value
                 LEFT JOIN thread_alias AS a ON a.thread = l.thread",
            )?
            .query_map([serde_json::to_string(&keys)?], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, ThreadId>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        for (key, thread) in found {
            links.insert(key, Some(thread));
        }
        let mut subjects: Vec<&str> = messages
            .filter(|m| !m.has_reply_headers())
            .filter_map(|m| m.subject.key.as_deref())
            .collect();
        subjects.sort_unstable();
        subjects.dedup();
        let mut headerless: HashMap<String, bool> =
            subjects.iter().map(|s| (s.to_string(), false)).collect();
        let found: Vec<String> = conn
            .prepare_cached(
                "SELECT DISTINCT subject_key FROM message
                 WHERE subject_key IN (SELECT value FROM json_each(?1)) AND subject_kind = 2",
            )?
            .query_map([serde_json::to_string(&subjects)?], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for key in found {
            headerless.insert(key, true);
        }
        *self.ahead.borrow_mut() = Some(ReadAhead {
            links,
            headerless,
            new_links: Vec::new(),
        });
        Ok(())
    }

    /// The thread for a message about to be inserted; records its links.
    pub fn assign(
        &self,
        conn: &Connection,
        ids_alloc: &mut Ids,
        msg: &ThreadInput,
    ) -> Result<ThreadId, StoreError> {
        let keys = &msg.keys;

        // Links name a thread that may since have been merged: resolve it on the way (aliases
        // are one step: see merge).
        let mut found: Vec<ThreadId> = Vec::new();
        // Keys that already have a link: inserting them again would be a no-op.
        let mut linked: Vec<i64> = Vec::new();
        {
            let ahead = self.ahead.borrow();
            let mut lookup = None;
            for key in keys {
                let thread = match ahead.as_ref().and_then(|a| a.links.get(key)) {
                    Some(known) => *known,
                    None => {
                        let stmt = match &mut lookup {
                            Some(stmt) => stmt,
                            None => lookup.insert(conn.prepare_cached(
                                "SELECT coalesce(a.target, l.thread) FROM thread_link l
                                 LEFT JOIN thread_alias a ON a.thread = l.thread
                                 WHERE l.key = ?1",
                            )?),
                        };
                        stmt.query_row([key], |r| r.get(0)).optional()?
                    }
                };
                if let Some(t) = thread {
                    linked.push(*key);
                    if !found.contains(&t) {
                        found.push(t);
                    }
                }
            }
        }

        let thread = match found.iter().min() {
            Some(&keep) => {
                for &other in found.iter().filter(|&&t| t != keep) {
                    merge(conn, keep, other)?;
                    if let Some(ahead) = self.ahead.borrow_mut().as_mut() {
                        for t in ahead.links.values_mut().flatten() {
                            if *t == other {
                                *t = keep;
                            }
                        }
                    }
                }
                keep
            }
            None if !msg.has_reply_headers() => match self.by_subject(conn, msg)? {
                Some(t) => t,
                None => ids_alloc.thread(),
            },
            None => ids_alloc.thread(),
        };

        // Existing links keep their (possibly aliased) thread: lookups resolve it.
        let new = keys.iter().filter(|k| !linked.contains(k));
        match self.ahead.borrow_mut().as_mut() {
            Some(ahead) => {
                for &key in new {
                    ahead.links.insert(key, Some(thread));
                    ahead.new_links.push((key, thread));
                }
                if let (Some(key), 2) = (&msg.subject.key, msg.subject.kind) {
                    ahead.headerless.insert(key.clone(), true);
                }
            }
            None => write_links(conn, new.map(|&key| (key, thread)))?,
        }
        Ok(thread)
    }

    /// Writes the links made since [`Threader::read_ahead`]; must run before the batch's
    /// transaction commits.
    pub fn write_links(&self, conn: &Connection) -> Result<(), StoreError> {
        if let Some(ahead) = self.ahead.borrow_mut().as_mut() {
            ahead.new_links.sort_unstable();
            write_links(conn, ahead.new_links.drain(..))?;
        }
        Ok(())
    }

    /// The subject fallback for a message without reply headers: "Re: x" joins the nearest
    /// "x" or "Re: x" of the account within the window; a plain "x" joins only an earlier-
    /// arrived header-less "Re: x" (its reply that came first) whose thread has no original
    /// "x" yet. So two plain "Hello"s never meet, not even through one "Re: Hello".
    fn by_subject(
        &self,
        conn: &Connection,
        msg: &ThreadInput,
    ) -> Result<Option<ThreadId>, StoreError> {
        let Some(key) = msg.subject.key.as_deref() else {
            return Ok(None);
        };
        // Without reply headers, kind 2 is "looks like a reply" (see SubjectKey).
        let reply_looking = msg.subject.kind == 2;
        let no_headerless = self
            .ahead
            .borrow()
            .as_ref()
            .is_some_and(|a| a.headerless.get(key) == Some(&false));
        if no_headerless && !reply_looking {
            return Ok(None);
        }
        // The nearest candidate in time. Originals and proper replies can be thousands for one
        // subject (a daily notification), so they are found with two index probes (one each
        // way from the date); header-less replies are few and are ranged over directly.
        let lo = msg.date.saturating_sub(SUBJECT_WINDOW_SECS);
        let hi = msg.date.saturating_add(SUBJECT_WINDOW_SECS);
        let mut best: Option<(i64, ThreadId)> = None;
        let mut consider = |found: Option<(ThreadId, i64)>| {
            if let Some((thread, date)) = found {
                let distance = (date - msg.date).abs();
                if best.is_none_or(|(d, _)| distance < d) {
                    best = Some((distance, thread));
                }
            }
        };
        let mut probes: Vec<(u8, i64, i64, &str)> = Vec::with_capacity(5);
        if !no_headerless {
            probes.push((2, lo, hi, "abs(m.date - ?7)"));
        }
        if reply_looking {
            for kind in [0, 1] {
                probes.push((kind, lo, msg.date, "m.date DESC"));
                probes.push((kind, msg.date, hi, "m.date ASC"));
            }
        }
        // Most subjects have no candidate at all: a bare index probe says so for a fraction of
        // the full query's cost (its folder list and sorter are set up per run).
        let mut any = conn.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM message
             WHERE subject_key = ?1 AND subject_kind = ?2 AND date BETWEEN ?3 AND ?4)",
        )?;
        for (kind, from, to, order) in probes {
            if !any.query_row(params![key, kind, from, to], |r| r.get::<_, bool>(0))? {
                continue;
            }
            let sql = format!(
                "SELECT m.thread, m.date FROM message m
                 WHERE m.subject_key = ?1 AND m.subject_kind = ?2 AND m.date BETWEEN ?3 AND ?4
                   AND +m.folder IN (SELECT id FROM folder WHERE account = ?5)
                   AND (?6 OR NOT EXISTS (
                       SELECT 1 FROM message o
                       WHERE o.thread = m.thread AND o.subject_key = ?1 AND o.subject_kind = 0))
                 ORDER BY {order} LIMIT 1"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let row = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?));
            let found = if kind == 2 {
                let p = params![key, kind, from, to, self.account, reply_looking, msg.date];
                stmt.query_row(p, row).optional()?
            } else {
                let p = params![key, kind, from, to, self.account, reply_looking];
                stmt.query_row(p, row).optional()?
            };
            consider(found);
        }
        Ok(best.map(|(_, t)| t))
    }
}

/// Inserts `thread_link` rows. One row per statement: an INSERT ... SELECT would need a
/// statement journal.
fn write_links(
    conn: &Connection,
    links: impl Iterator<Item = (i64, ThreadId)>,
) -> Result<(), StoreError> {
    let mut link = conn.prepare_cached(
        "INSERT INTO thread_link (key, thread) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
    )?;
    for (key, thread) in links {
        link.execute(params![key, thread])?;
    }
    Ok(())
}

/// Folds thread `other` into `keep`: a message just linked the two. Messages move at once;
/// links (many, unindexed by thread) are redirected through an alias instead.
fn merge(conn: &Connection, keep: ThreadId, other: ThreadId) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE message SET thread = ?1 WHERE thread = ?2")?
        .execute([keep, other])?;
    conn.prepare_cached("UPDATE thread_alias SET target = ?1 WHERE target = ?2")?
        .execute([keep, other])?;
    conn.prepare_cached("INSERT OR REPLACE INTO thread_alias (thread, target) VALUES (?1, ?2)")?
        .execute([other, keep])?;
    Ok(())
}

/// Prefixes that mark a reply or forward, in the languages mail clients commonly write them.
const REPLY_PREFIXES: &[&str] = &["re", "fwd", "fw", "aw", "sv", "wg", "antw", "vs", "tr"];

/// Lower-cased subject without reply prefixes, leading `[list]` tags and extra whitespace;
/// and whether any reply prefix was stripped.
pub(super) fn normalize_subject(subject: &str) -> (String, bool) {
    let mut s = subject.trim();
    let mut reply = false;
    loop {
        if let Some(rest) = s.strip_prefix('[')
            && let Some(end) = rest.find(']')
        {
            let after = rest[end + 1..].trim_start();
            // "[tag]" alone is the subject itself, not a tag.
            if !after.is_empty() {
                s = after;
                continue;
            }
        }
        if let Some(rest) = strip_reply_prefix(s) {
            s = rest.trim_start();
            reply = true;
            continue;
        }
        break;
    }
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        // Char by char (not str::to_lowercase, which treats a final sigma apart): keys are
        // stored, so the mapping must never change. ASCII, the common case, goes bytewise.
        if word.is_ascii() {
            let start = out.len();
            out.push_str(word);
            out[start..].make_ascii_lowercase();
        } else {
            out.extend(word.chars().flat_map(char::to_lowercase));
        }
    }
    (out, reply)
}

/// "Re:", "RE :", "Re[2]:", "Re(2):", "Fwd:", "AW:" ... followed by the rest of the subject.
fn strip_reply_prefix(s: &str) -> Option<&str> {
    let word_len = s
        .char_indices()
        .find(|(_, c)| !c.is_ascii_alphabetic())
        .map_or(s.len(), |(i, _)| i);
    let word = &s[..word_len];
    if !REPLY_PREFIXES.iter().any(|p| word.eq_ignore_ascii_case(p)) {
        return None;
    }
    let mut rest = &s[word_len..];
    for (open, close) in [('[', ']'), ('(', ')')] {
        if let Some(inner) = rest.strip_prefix(open)
            && let Some(end) = inner.find(close)
            && inner[..end].chars().all(|c| c.is_ascii_digit())
        {
            rest = &inner[end + 1..];
        }
    }
    let rest = rest.trim_start();
    rest.strip_prefix(':')
        .or_else(|| rest.strip_prefix('\u{ff1a}'))
}

#[cfg(test)]
mod tests {
    use super::normalize_subject;

    #[test]
    fn subjects() {
        assert_eq!(normalize_subject("Hello"), ("hello".into(), false));
        assert_eq!(normalize_subject("Re: Hello"), ("hello".into(), true));
        assert_eq!(
            normalize_subject("RE[2]: Fwd:  Hello   World"),
            ("hello world".into(), true)
        );
        assert_eq!(normalize_subject("[list] AW: x"), ("x".into(), true));
        assert_eq!(normalize_subject("Re : x"), ("x".into(), true));
        assert_eq!(normalize_subject("Rex: x"), ("rex: x".into(), false));
        assert_eq!(normalize_subject("[tag]"), ("[tag]".into(), false));
        assert_eq!(normalize_subject("Re:"), ("".into(), true));
        assert_eq!(normalize_subject("Ré: été"), ("ré: été".into(), false));
        // Char by char, as stored keys always were: no final-sigma rule.
        assert_eq!(normalize_subject("ΟΔΟΣ Road"), ("οδοσ road".into(), false));
    }
}

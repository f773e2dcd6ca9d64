//! Replies and forwards, made from the raw bytes of a received message.
//!
//! The original is read through [`crate::mime::parse`], so a message it cannot parse
//! still gives a reply (quoting its source) rather than nothing.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Local};

use super::address::format_address;
use super::build::cap_references;
use super::{Attachment, Compose, ForwardedMessage};
use crate::account::{Account, Identity};
use crate::mime::{self, Address, MessageView, Parsed};

/// Who a reply goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyKind {
    /// The sender (its Reply-To when it has one).
    Sender,
    /// The sender and every other recipient, the user's own addresses left out.
    All,
}

/// Subject prefixes of replies in common languages, compared without case.
const REPLY_PREFIXES: &[&str] = &[
    "re", "aw", "sv", "vs", "antw", "odp", "rif", "回复", "回覆", "答复",
];
/// Subject prefixes of forwards.
const FORWARD_PREFIXES: &[&str] = &[
    "fwd", "fw", "wg", "tr", "rv", "enc", "doorst", "转发", "轉寄",
];

const FORWARD_SEPARATOR: &str = "---------- Forwarded message ----------";

/// A reply to `original_raw`: addressed per `kind`, written from the identity the
/// original was sent to, threaded (In-Reply-To, References) and quoting the original.
pub fn reply(original_raw: &[u8], kind: ReplyKind, account: &Account) -> Compose {
    let view = view_of(original_raw);
    let own = own_addresses(account);
    let is_own = |a: &Address| own.contains(&a.email.to_lowercase());

    // To the Reply-To, else the From; when that is the user (a reply to a message they
    // sent), to the original recipients instead.
    let mut primary: Vec<&Address> = if view.reply_to.iter().any(usable) {
        view.reply_to.iter().collect()
    } else {
        view.from.iter().collect()
    };
    if primary.iter().filter(|a| usable(a)).all(|a| is_own(a)) {
        primary = view.to.iter().collect();
    }
    let mut recipients = Recipients::default();
    let mut to = Vec::new();
    let mut cc = Vec::new();
    for address in &primary {
        recipients.add(&mut to, address, &is_own);
    }
    // A note the user sent to themselves: the reply goes to them too, not to nobody.
    if to.is_empty() {
        for address in primary {
            recipients.add(&mut to, address, &|_| false);
        }
    }
    if kind == ReplyKind::All {
        for address in &view.to {
            recipients.add(&mut to, address, &is_own);
        }
        for address in &view.cc {
            recipients.add(&mut cc, address, &is_own);
        }
    }

    let mut references = if view.references.is_empty() {
        view.in_reply_to.iter().cloned().collect()
    } else {
        view.references.clone()
    };
    if let Some(id) = &view.message_id
        && !references.contains(id)
    {
        references.push(id.clone());
    }

    let quoted = quote(view.text.as_deref().unwrap_or_default());
    Compose {
        account: account.id.clone(),
        from: identity_for(&view, account),
        to: to.join(", "),
        cc: cc.join(", "),
        subject: format!("Re: {}", strip_prefixes(&view.subject, REPLY_PREFIXES)),
        body: format!("\n\n{}\n{quoted}", attribution(&view)),
        in_reply_to: view.message_id.clone(),
        references: cap_references(references),
        ..Compose::default()
    }
}

/// A forward with the original's text in the body under a "Forwarded message" block,
/// and its attachments carried over.
pub fn forward_inline(original_raw: &[u8], account: &Account) -> Compose {
    let view = view_of(original_raw);
    let mut block = format!("{FORWARD_SEPARATOR}\n");
    block.push_str(&format!("From: {}\n", address_text(&view.from)));
    if let Some(date) = view.date.and_then(local_time) {
        block.push_str(&format!("Date: {}\n", date.to_rfc2822()));
    }
    block.push_str(&format!("Subject: {}\n", view.subject));
    block.push_str(&format!("To: {}\n", address_text(&view.to)));
    if !view.cc.is_empty() {
        block.push_str(&format!("Cc: {}\n", address_text(&view.cc)));
    }
    let text = view.text.as_deref().unwrap_or_default().trim_end();

    let attachments = view
        .attachments
        .iter()
        .filter_map(|a| {
            let data = mime::attachment_bytes(original_raw, a.index)?;
            Some(carried_attachment(a, data))
        })
        .collect();
    Compose {
        account: account.id.clone(),
        from: identity_for(&view, account),
        subject: forward_subject(&view.subject),
        body: format!("\n\n{block}\n{text}\n"),
        attachments,
        ..Compose::default()
    }
}

/// A forward with the original attached whole, as message/rfc822.
pub fn forward_as_attachment(original_raw: &[u8], account: &Account) -> Compose {
    let view = view_of(original_raw);
    Compose {
        account: account.id.clone(),
        from: identity_for(&view, account),
        subject: forward_subject(&view.subject),
        forwarded: Some(ForwardedMessage {
            subject: view.subject.clone(),
            raw: Arc::new(original_raw.to_vec()),
        }),
        ..Compose::default()
    }
}

/// An attachment of the original, as a file of the forward. Text parts come from
/// [`mime::attachment_bytes`] as UTF-8, and say so.
fn carried_attachment(part: &mime::Attachment, data: Vec<u8>) -> Attachment {
    let mut name = part
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| format!("attachment-{}", part.index));
    if part.mime_type == "message/rfc822" && !name.to_lowercase().ends_with(".eml") {
        name.push_str(".eml");
    }
    let content_type = if part.mime_type.starts_with("text/") {
        format!("{}; charset=utf-8", part.mime_type)
    } else {
        part.mime_type.clone()
    };
    Attachment {
        name,
        content_type,
        content_id: None,
        data: Arc::new(data),
    }
}

fn forward_subject(subject: &str) -> String {
    format!("Fwd: {}", strip_prefixes(subject, FORWARD_PREFIXES))
}

/// The parsed original; one that cannot be parsed is its source as text.
fn view_of(raw: &[u8]) -> MessageView {
    match mime::parse(raw) {
        Parsed::View(view) => view,
        Parsed::Source { text, .. } => MessageView {
            from: Vec::new(),
            to: Vec::new(),
            cc: Vec::new(),
            bcc: Vec::new(),
            reply_to: Vec::new(),
            subject: String::new(),
            date: None,
            message_id: None,
            in_reply_to: None,
            references: Vec::new(),
            text: Some(text),
            html: None,
            attachments: Vec::new(),
        },
    }
}

/// The account's own addresses, lower-cased.
fn own_addresses(account: &Account) -> HashSet<String> {
    std::iter::once(account.email.as_str())
        .chain(account.identities.iter().map(|i| i.email.as_str()))
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty())
        .collect()
}

/// The identity the original was addressed to, else the account's first one.
fn identity_for(view: &MessageView, account: &Account) -> Identity {
    let addressed = view
        .to
        .iter()
        .chain(&view.cc)
        .chain(&view.bcc)
        .chain(&view.from);
    for address in addressed {
        let email = address.email.to_lowercase();
        if let Some(identity) = account
            .identities
            .iter()
            .find(|i| i.email.trim().to_lowercase() == email)
        {
            return identity.clone();
        }
    }
    account
        .identities
        .first()
        .cloned()
        .unwrap_or_else(|| Identity {
            name: account.display_name.clone(),
            email: account.email.clone(),
            ..Identity::default()
        })
}

/// An address a reply can go to (not a group name or an empty `<>`).
fn usable(address: &Address) -> bool {
    address.email.contains('@')
}

/// Recipients of a reply, each once (compared without case).
#[derive(Default)]
struct Recipients {
    seen: HashSet<String>,
}

impl Recipients {
    fn add(
        &mut self,
        list: &mut Vec<String>,
        address: &Address,
        is_own: &impl Fn(&Address) -> bool,
    ) {
        if usable(address) && !is_own(address) && self.seen.insert(address.email.to_lowercase()) {
            list.push(format_address(address.name.as_deref(), &address.email));
        }
    }
}

fn address_text(list: &[Address]) -> String {
    list.iter()
        .map(|a| format_address(a.name.as_deref(), &a.email))
        .collect::<Vec<_>>()
        .join(", ")
}

fn local_time(unix: i64) -> Option<DateTime<Local>> {
    DateTime::from_timestamp(unix, 0).map(|t| t.with_timezone(&Local))
}

/// "On <date>, <name> wrote:", the date in the user's time zone.
fn attribution(view: &MessageView) -> String {
    let who = view
        .from
        .first()
        .map(|a| {
            a.name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| a.email.clone())
        })
        .unwrap_or_else(|| "The sender".to_string());
    match view.date.and_then(local_time) {
        Some(date) => format!("On {}, {who} wrote:", date.format("%a, %-d %b %Y at %H:%M")),
        None => format!("{who} wrote:"),
    }
}

/// Every line behind `> ` (`>` before a line already quoted, or an empty one).
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for line in text.trim_end().lines() {
        if line.is_empty() || line.starts_with('>') {
            out.push('>');
        } else {
            out.push_str("> ");
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The subject without any leading run of `prefixes` (`Re: RE: Re[2]: AW: x` → `x`).
fn strip_prefixes<'a>(subject: &'a str, prefixes: &[&str]) -> &'a str {
    let mut rest = subject.trim();
    while let Some(next) = strip_one_prefix(rest, prefixes) {
        rest = next.trim_start();
    }
    rest
}

fn strip_one_prefix<'a>(s: &'a str, prefixes: &[&str]) -> Option<&'a str> {
    for prefix in prefixes {
        let Some(head) = s.get(..prefix.len()) else {
            continue;
        };
        if head.to_lowercase() != *prefix {
            continue;
        }
        let mut rest = &s[prefix.len()..];
        // A reply counter: Re[2]: or Re(2):
        if let Some(inner) = rest.strip_prefix(['[', '(']) {
            let after = inner.trim_start_matches(|c: char| c.is_ascii_digit());
            if after.len() < inner.len()
                && let Some(after) = after.strip_prefix([']', ')'])
            {
                rest = after;
            }
        }
        let rest = rest.trim_start_matches(' ');
        if let Some(after) = rest.strip_prefix([':', '：']) {
            return Some(after);
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reply_prefixes_do_not_pile_up() {
        for subject in [
            "x",
            "Re: x",
            "Re: Re: x",
            "RE: x",
            "Re[2]: x",
            "AW: x",
            "re:x",
            "Sv: RE : x",
            "回复：x",
        ] {
            assert_eq!(strip_prefixes(subject, REPLY_PREFIXES), "x", "{subject}");
        }
        assert_eq!(strip_prefixes("Fwd: x", REPLY_PREFIXES), "Fwd: x");
        assert_eq!(strip_prefixes("Rebate: x", REPLY_PREFIXES), "Rebate: x");
        assert_eq!(strip_prefixes("Fwd: FW: x", FORWARD_PREFIXES), "x");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a\n\n> b\nc\n\n"), "> a\n>\n>> b\n> c\n");
    }
}

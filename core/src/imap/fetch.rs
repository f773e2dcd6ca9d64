//! Turning FETCH responses into the store's message rows.

use crate::store::{Address, Flags, NewMessage};
use imap_proto::{AttributeValue, BodyStructure};
use std::borrow::Cow;

/// The header fields a message row needs; fetched instead of ENVELOPE so that mail-parser
/// decodes every header the same way (RFC 2047 in any charset, raw 8-bit bytes).
pub const HEADER_FIELDS: &str =
    "DATE SUBJECT FROM TO CC BCC REPLY-TO MESSAGE-ID IN-REPLY-TO REFERENCES";

/// A message's flags as a FETCH reported them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedFlags {
    pub uid: u32,
    pub flags: Flags,
    pub keywords: Vec<String>,
    pub modseq: u64,
}

/// Splits IMAP flags into the system flags we track and keywords.
pub fn parse_flags(list: &[Cow<'_, str>]) -> (Flags, Vec<String>) {
    let mut flags = Flags::empty();
    let mut keywords = Vec::new();
    for flag in list {
        match flag.to_ascii_lowercase().as_str() {
            "\\seen" => flags.insert(Flags::SEEN),
            "\\answered" => flags.insert(Flags::ANSWERED),
            "\\flagged" => flags.insert(Flags::FLAGGED),
            "\\deleted" => flags.insert(Flags::DELETED),
            "\\draft" => flags.insert(Flags::DRAFT),
            "\\recent" => {}
            _ if flag.starts_with('\\') => {}
            _ => keywords.push(flag.to_string()),
        }
    }
    (flags, keywords)
}

/// The IMAP spelling of system flags, for STORE and APPEND.
pub fn flag_list(flags: Flags) -> String {
    let mut names = Vec::new();
    for (flag, name) in [
        (Flags::SEEN, "\\Seen"),
        (Flags::ANSWERED, "\\Answered"),
        (Flags::FLAGGED, "\\Flagged"),
        (Flags::DELETED, "\\Deleted"),
        (Flags::DRAFT, "\\Draft"),
    ] {
        if flags.contains(flag) {
            names.push(name);
        }
    }
    format!("({})", names.join(" "))
}

/// Flags (and UID, MODSEQ) from a FETCH; None without a UID.
pub fn flags_from(attrs: &[AttributeValue<'_>]) -> Option<FetchedFlags> {
    let mut uid = None;
    let mut flags = None;
    let mut modseq = 0;
    for attr in attrs {
        match attr {
            AttributeValue::Uid(u) => uid = Some(*u),
            AttributeValue::Flags(list) => flags = Some(parse_flags(list)),
            AttributeValue::ModSeq(m) => modseq = *m,
            _ => {}
        }
    }
    let (flags, keywords) = flags?;
    Some(FetchedFlags {
        uid: uid?,
        flags,
        keywords,
        modseq,
    })
}

/// A full header FETCH (UID FLAGS INTERNALDATE RFC822.SIZE BODYSTRUCTURE MODSEQ and the
/// header fields) as a new store row. None without a UID.
pub fn message_from(attrs: &[AttributeValue<'_>]) -> Option<NewMessage> {
    let mut msg = NewMessage {
        uid: 0,
        flags: Flags::empty(),
        keywords: Vec::new(),
        modseq: 0,
        internal_date: 0,
        size: 0,
        date: None,
        subject: String::new(),
        from: Vec::new(),
        to: Vec::new(),
        cc: Vec::new(),
        bcc: Vec::new(),
        reply_to: Vec::new(),
        message_id: None,
        in_reply_to: None,
        references: Vec::new(),
        has_attachment: false,
    };
    // A FETCH without the header section is an unsolicited flag update from another
    // client, not a message row (its change is reported again by MODSEQ later).
    if !attrs
        .iter()
        .any(|a| matches!(a, AttributeValue::BodySection { data: Some(_), .. }))
    {
        return None;
    }
    let mut uid = None;
    for attr in attrs {
        match attr {
            AttributeValue::Uid(u) => uid = Some(*u),
            AttributeValue::Flags(list) => (msg.flags, msg.keywords) = parse_flags(list),
            AttributeValue::ModSeq(m) => msg.modseq = *m,
            AttributeValue::Rfc822Size(s) => msg.size = *s,
            AttributeValue::InternalDate(d) => msg.internal_date = internal_date(d).unwrap_or(0),
            AttributeValue::BodyStructure(body) => msg.has_attachment = has_attachment(body),
            AttributeValue::BodySection {
                data: Some(data), ..
            } => apply_headers(&mut msg, data),
            _ => {}
        }
    }
    msg.uid = uid?;
    Some(msg)
}

/// (UID, size, Message-ID without angle brackets) from a FETCH of the Message-ID header.
pub fn message_id_from(attrs: &[AttributeValue<'_>]) -> Option<(u32, u32, String)> {
    let mut uid = None;
    let mut size = 0;
    let mut id = None;
    for attr in attrs {
        match attr {
            AttributeValue::Uid(u) => uid = Some(*u),
            AttributeValue::Rfc822Size(s) => size = *s,
            AttributeValue::BodySection { data: Some(d), .. } => {
                let text = String::from_utf8_lossy(d);
                let value = text
                    .split_once(':')
                    .map(|(_, v)| v.trim())
                    .unwrap_or_default();
                id = Some(
                    value
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_owned(),
                );
            }
            _ => {}
        }
    }
    Some((uid?, size, id?))
}

/// IMAP INTERNALDATE, e.g. ` 7-Feb-2024 10:00:00 +0100`, as unix seconds.
fn internal_date(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_str(text.trim(), "%d-%b-%Y %H:%M:%S %z")
        .ok()
        .map(|d| d.timestamp())
}

/// Fills the header-derived fields. mail-parser runs panic-isolated: a header block it
/// chokes on leaves the fields empty rather than taking the sync down.
fn apply_headers(msg: &mut NewMessage, raw: &[u8]) {
    let parsed = std::panic::catch_unwind(|| {
        let parser = mail_parser::MessageParser::new();
        let headers = parser.parse_headers(raw)?;
        let addresses = |a: Option<&mail_parser::Address<'_>>| -> Vec<Address> {
            a.map(|a| {
                a.iter()
                    .filter_map(|addr| {
                        Some(Address {
                            name: addr.name().map(str::to_owned).filter(|n| !n.is_empty()),
                            email: addr.address()?.to_owned(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
        };
        let ids = |v: &mail_parser::HeaderValue<'_>| -> Vec<String> {
            match v {
                mail_parser::HeaderValue::Text(t) => vec![t.to_string()],
                mail_parser::HeaderValue::TextList(list) => {
                    list.iter().map(|t| t.to_string()).collect()
                }
                _ => Vec::new(),
            }
        };
        Some((
            headers.date().map(|d| d.to_timestamp()),
            headers.subject().unwrap_or_default().to_owned(),
            addresses(headers.from()),
            addresses(headers.to()),
            addresses(headers.cc()),
            addresses(headers.bcc()),
            addresses(headers.reply_to()),
            headers.message_id().map(str::to_owned),
            ids(headers.in_reply_to()).into_iter().next(),
            ids(headers.references()),
        ))
    });
    if let Ok(Some((date, subject, from, to, cc, bcc, reply_to, id, in_reply_to, refs))) = parsed {
        msg.date = date;
        msg.subject = subject;
        msg.from = from;
        msg.to = to;
        msg.cc = cc;
        msg.bcc = bcc;
        msg.reply_to = reply_to;
        msg.message_id = id;
        msg.in_reply_to = in_reply_to;
        msg.references = refs;
    }
}

/// Whether the message carries something the user would call an attachment: a part marked
/// as one, a named non-text part, or an attached message.
fn has_attachment(body: &BodyStructure<'_>) -> bool {
    match body {
        BodyStructure::Multipart { bodies, .. } => bodies.iter().any(has_attachment),
        BodyStructure::Message { .. } => true,
        BodyStructure::Basic { common, other, .. } | BodyStructure::Text { common, other, .. } => {
            let disposition = common.disposition.as_ref();
            if disposition.is_some_and(|d| d.ty.eq_ignore_ascii_case("attachment")) {
                return true;
            }
            let named = |params: &imap_proto::BodyParams<'_>| {
                params.as_ref().is_some_and(|p| {
                    p.iter().any(|(k, _)| {
                        let k = k.to_ascii_lowercase();
                        k == "name" || k == "filename" || k.starts_with("filename*")
                    })
                })
            };
            let is_text = common.ty.ty.eq_ignore_ascii_case("text");
            let inline_image = common.ty.ty.eq_ignore_ascii_case("image")
                && other.id.is_some()
                && !disposition.is_some_and(|d| d.ty.eq_ignore_ascii_case("attachment"));
            !is_text
                && !inline_image
                && (named(&common.ty.params)
                    || disposition.is_some_and(|d| named(&d.params))
                    || common.ty.ty.eq_ignore_ascii_case("application"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_dates_parse() {
        assert_eq!(
            internal_date(" 7-Feb-2024 10:00:00 +0100"),
            Some(1707296400)
        );
        assert_eq!(internal_date("17-Jul-1996 02:44:25 -0700"), Some(837596665));
        assert_eq!(internal_date("garbage"), None);
    }

    #[test]
    fn flags_split_into_system_flags_and_keywords() {
        let list: Vec<Cow<'_, str>> = vec![
            "\\Seen".into(),
            "\\Flagged".into(),
            "$Label1".into(),
            "\\Recent".into(),
        ];
        let (flags, keywords) = parse_flags(&list);
        assert!(flags.contains(Flags::SEEN) && flags.contains(Flags::FLAGGED));
        assert!(!flags.contains(Flags::ANSWERED));
        assert_eq!(keywords, vec!["$Label1".to_string()]);
        assert_eq!(flag_list(flags), "(\\Seen \\Flagged)");
    }
}

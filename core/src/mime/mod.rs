//! Incoming messages as the GUI shows them: mail-parser's parse turned into a
//! [`MessageView`], with headers decoded, HTML sanitised and attachments listed.
//!
//! Parsing never panics outward: mail-parser runs under `catch_unwind`, and anything it
//! cannot handle comes back as [`Parsed::Source`], the raw message as text.
//!
//! Inline images: a `cid:X` image in the HTML whose Content-ID matches a part of the
//! message becomes `tern-part:INDEX` ([`html::PART_SCHEME`]), where INDEX is that part's
//! [`Attachment::index`]; the GUI loads it with [`attachment_bytes`]. Nothing else in the
//! sanitised HTML refers to anything outside the message, but for remote images held back
//! as `tern-remote:` placeholders ([`html::REMOTE_SCHEME`]) that only the user's consent
//! turns into a request.

mod depth;
mod headers;
pub mod html;
mod repair;
mod summary;
mod text;

pub use summary::{Summary, summarize};

use std::borrow::Cow;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use mail_parser::{
    Encoding, HeaderName, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};
use serde::{Deserialize, Serialize};

/// Most bytes of text [`body_text_for_index`] returns.
pub const INDEX_TEXT_LIMIT: usize = 64 * 1024;
/// Most bytes of plain text rendered from an HTML body for the view.
const VIEW_TEXT_LIMIT: usize = 1024 * 1024;

/// Why a message is shown as source instead of as a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MimeError {
    /// The parser found no headers: the bytes are not a message (or are empty).
    #[error("not a message")]
    NotAMessage,
    /// The parser panicked on this input.
    #[error("parser failed")]
    ParserPanicked,
}

/// The outcome of [`parse`]: a message to show, or its source when it cannot be parsed.
// A view is built once per opened message, never held in bulk, so its size is no concern.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Parsed {
    View(MessageView),
    /// The raw bytes as text (invalid UTF-8 replaced), and a [`MimeError`] as text.
    Source {
        text: String,
        reason: String,
    },
}

/// A message as the reader sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageView {
    pub from: Vec<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub bcc: Vec<Address>,
    pub reply_to: Vec<Address>,
    /// Decoded and flattened to one line; cut to 1,000 characters.
    pub subject: String,
    /// Unix seconds, UTC; `None` when missing or not a real date.
    pub date: Option<i64>,
    /// Message ids are kept without angle brackets.
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// The plain-text body (line ends are `\n`); rendered from the HTML when there is
    /// only HTML. `None` when the message has no body text.
    pub text: Option<String>,
    /// The HTML body, sanitised; `None` when the message has no HTML part.
    pub html: Option<SafeHtml>,
    /// Every part that is not body text, nested messages included.
    pub attachments: Vec<Attachment>,
}

/// A mailbox: an optional display name and an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub name: Option<String>,
    pub email: String,
}

/// Sanitised HTML that loads nothing from the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafeHtml {
    pub html: String,
    /// Remote image URLs that were removed, for the user to allow.
    pub remote_images: Vec<String>,
    /// Link targets kept in the HTML (http, https and mailto only).
    pub links: Vec<String>,
}

/// A part of the message the reader can open or save.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The part's number, for [`attachment_bytes`] and `tern-part:` URLs.
    pub index: usize,
    /// The file name (directories stripped), or a nested message's subject.
    pub name: Option<String>,
    /// Lower-case `type/subtype`.
    pub mime_type: String,
    /// Decoded size in bytes (what [`attachment_bytes`] returns).
    pub size: u64,
    /// The Content-ID without angle brackets.
    pub content_id: Option<String>,
    /// True when the HTML body shows this part in place.
    pub inline: bool,
}

/// Parses a raw message (RFC 5322 bytes) into what the GUI shows.
pub fn parse(raw: &[u8]) -> Parsed {
    match isolate(|| build(raw, true)).and_then(|r| r) {
        Ok(view) => Parsed::View(view),
        Err(e) => Parsed::Source {
            text: String::from_utf8_lossy(raw).into_owned(),
            reason: e.to_string(),
        },
    }
}

/// The decoded contents of part `index` (an [`Attachment::index`]). Text parts come back
/// as UTF-8, whatever charset they were sent in.
pub fn attachment_bytes(raw: &[u8], index: usize) -> Option<Vec<u8>> {
    isolate(|| {
        with_message(raw, |message, raw| {
            let part = message.parts.get(index)?;
            part_bytes(part, raw).map(Cow::into_owned)
        })
        .ok()
        .flatten()
    })
    .ok()
    .flatten()
}

/// Plain text of the message body for the full-text index, at most
/// [`INDEX_TEXT_LIMIT`] bytes: the text part, or the HTML without its tags.
pub fn body_text_for_index(raw: &[u8]) -> String {
    let mut text = match isolate(|| build(raw, false)).and_then(|r| r) {
        Ok(view) => view.text.unwrap_or_default(),
        // Still searchable as source.
        Err(_) => String::from_utf8_lossy(raw.get(..INDEX_TEXT_LIMIT).unwrap_or(raw)).into_owned(),
    };
    text::truncate_bytes(&mut text, INDEX_TEXT_LIMIT);
    text
}

/// Runs `f`, turning a panic into an error.
fn isolate<T>(f: impl FnOnce() -> T) -> Result<T, MimeError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| MimeError::ParserPanicked)
}

/// Parses `raw` after the repairs mail-parser needs and hands the message and the bytes
/// its offsets refer to to `f`. [`parse`] and [`attachment_bytes`] both come through
/// here, so part indexes always agree.
fn with_message<T>(raw: &[u8], f: impl FnOnce(&Message<'_>, &[u8]) -> T) -> Result<T, MimeError> {
    let raw = headers::normalise_header_block(raw);
    let parser = MessageParser::default();
    let message = parser.parse(&raw[..]).ok_or(MimeError::NotAMessage)?;
    if let Some(fixed) = repair::repair_boundary(&message, &raw) {
        drop(message);
        if let Some(message) = parser.parse(&fixed[..]) {
            return Ok(f(&message, &fixed));
        }
        let message = parser.parse(&raw[..]).ok_or(MimeError::NotAMessage)?;
        return Ok(f(&message, &raw));
    }
    Ok(f(&message, &raw))
}

/// Builds the view; `with_html` false skips sanitising (the index needs only text).
fn build(raw: &[u8], with_html: bool) -> Result<MessageView, MimeError> {
    with_message(raw, |message, raw| build_view(message, raw, with_html))?
}

fn build_view(
    message: &Message<'_>,
    raw: &[u8],
    with_html: bool,
) -> Result<MessageView, MimeError> {
    if !headers::has_real_header(message) {
        return Err(MimeError::NotAMessage);
    }

    let limit = if with_html {
        VIEW_TEXT_LIMIT
    } else {
        INDEX_TEXT_LIMIT
    };
    let (html, inline_parts) = if with_html {
        match body_html(message, raw) {
            Some((html, used)) => (Some(html), used),
            None => (None, Vec::new()),
        }
    } else {
        (None, Vec::new())
    };
    let mut text = body_text(message, raw, limit);
    if text.is_none() && html.is_none() {
        text = unstructured_body(message, raw, limit);
    }
    let attachments = message
        .attachments
        .iter()
        .filter_map(|&id| attachment(message, raw, id as usize, &inline_parts))
        .collect();

    let id_of = |name: HeaderName<'static>| -> Vec<String> {
        message.header(name).map(headers::ids).unwrap_or_default()
    };
    let mut references = id_of(HeaderName::References);
    references.truncate(headers::MAX_REFERENCES);

    Ok(MessageView {
        from: headers::addresses(message, HeaderName::From),
        to: headers::addresses(message, HeaderName::To),
        cc: headers::addresses(message, HeaderName::Cc),
        bcc: headers::addresses(message, HeaderName::Bcc),
        reply_to: headers::addresses(message, HeaderName::ReplyTo),
        subject: headers::subject(message),
        date: headers::date(message),
        message_id: id_of(HeaderName::MessageId).into_iter().next(),
        in_reply_to: id_of(HeaderName::InReplyTo).into_iter().next(),
        references,
        text,
        html,
        attachments,
    })
}

/// The text bodies joined, or the HTML rendered as text when there is no text part.
fn body_text(message: &Message<'_>, raw: &[u8], limit: usize) -> Option<String> {
    let mut pieces = Vec::new();
    for &id in &message.text_body {
        let Some(part) = message.parts.get(id as usize) else {
            continue;
        };
        match &part.body {
            PartType::Text(t) => pieces.push(plain_text(part, t, raw)),
            PartType::Html(h) => pieces.push(text::html_to_text(
                &repair::decoded_text(part, h, raw),
                limit,
            )),
            _ => {}
        }
    }
    if pieces.iter().all(|p| p.trim().is_empty()) {
        pieces.clear();
        for &id in &message.html_body {
            if let Some(part) = message.parts.get(id as usize)
                && let PartType::Html(h) = &part.body
            {
                pieces.push(text::html_to_text(
                    &repair::decoded_text(part, h, raw),
                    limit,
                ));
            }
        }
    }
    let mut out = pieces
        .iter()
        .map(|p| p.trim_end())
        .filter(|p| !p.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    text::truncate_bytes(&mut out, limit);
    (!out.trim().is_empty()).then_some(out)
}

/// A multipart whose structure could not be found at all: its body as text beats
/// showing nothing.
fn unstructured_body(message: &Message<'_>, raw: &[u8], limit: usize) -> Option<String> {
    let root = message.parts.first()?;
    let multipart = root
        .content_type()
        .is_some_and(|c| c.ctype().eq_ignore_ascii_case("multipart"));
    match &root.body {
        PartType::Text(t) if multipart => {
            let mut out = plain_text(root, t, raw);
            text::truncate_bytes(&mut out, limit);
            Some(out.trim_end().to_string()).filter(|t| !t.trim().is_empty())
        }
        _ => None,
    }
}

/// A text part with `\n` line ends, no control characters, and flowed lines joined.
fn plain_text(part: &MessagePart<'_>, text: &str, raw: &[u8]) -> String {
    let text = repair::decoded_text(part, text, raw);
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let text: String = text
        .chars()
        .filter(|&c| c == '\n' || c == '\t' || !c.is_control())
        .collect();
    let ct = part.content_type();
    let attr = |name: &str| {
        ct.and_then(|c| c.attribute(name))
            .map(str::to_ascii_lowercase)
    };
    if attr("format").as_deref() == Some("flowed") {
        text::unflow(&text, attr("delsp").as_deref() == Some("yes"))
    } else {
        text
    }
}

/// The HTML bodies sanitised and joined, with the parts they show inline; `None` when no
/// body part is HTML.
fn body_html(message: &Message<'_>, raw: &[u8]) -> Option<(SafeHtml, Vec<usize>)> {
    let parts: Vec<(usize, &MessagePart<'_>)> = message
        .html_body
        .iter()
        .filter_map(|&id| Some((id as usize, message.parts.get(id as usize)?)))
        .collect();
    if !parts
        .iter()
        .any(|(_, p)| matches!(p.body, PartType::Html(_)))
    {
        return None;
    }
    let cids: HashMap<String, usize> = message
        .parts
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some((content_id(p)?, i)))
        .collect();
    let mut out = SafeHtml {
        html: String::new(),
        remote_images: Vec::new(),
        links: Vec::new(),
    };
    let mut used = Vec::new();
    for (id, part) in parts {
        match &part.body {
            PartType::Html(h) => {
                let clean = html::sanitise(&repair::decoded_text(part, h, raw), &cids);
                out.html.push_str(&clean.html);
                extend_unique(&mut out.remote_images, clean.remote_images);
                extend_unique(&mut out.links, clean.links);
                extend_unique(&mut used, clean.used_parts);
            }
            PartType::Text(t) => out
                .html
                .push_str(&text::text_to_html(&plain_text(part, t, raw))),
            // An image between body parts (Apple Mail style) is shown where it stands.
            PartType::Binary(_) | PartType::InlineBinary(_)
                if mime_type(part).starts_with("image/") =>
            {
                out.html
                    .push_str(&format!("<img src=\"{}:{id}\">", html::PART_SCHEME));
                extend_unique(&mut used, vec![id]);
            }
            _ => {}
        }
    }
    out.html = out.html.trim().to_string();
    Some((out, used))
}

fn extend_unique<T: PartialEq>(into: &mut Vec<T>, items: Vec<T>) {
    for item in items {
        if !into.contains(&item) {
            into.push(item);
        }
    }
}

/// The attachment entry for part `id`, if it is a leaf part.
fn attachment(
    message: &Message<'_>,
    raw: &[u8],
    id: usize,
    inline: &[usize],
) -> Option<Attachment> {
    let part = message.parts.get(id)?;
    let name = match &part.body {
        PartType::Multipart(_) => return None,
        PartType::Message(nested) => Some(headers::subject(nested))
            .filter(|s| !s.is_empty())
            .or_else(|| file_name(part, raw)),
        _ => file_name(part, raw),
    };
    Some(Attachment {
        index: id,
        name,
        mime_type: mime_type(part),
        size: part_bytes(part, raw).map_or(0, |b| b.len() as u64),
        content_id: content_id(part),
        inline: inline.contains(&id),
    })
}

/// The part's file name without any directory a sender put in it.
fn file_name(part: &MessagePart<'_>, raw: &[u8]) -> Option<String> {
    let name = repair::rfc2231_param(part, raw, HeaderName::ContentDisposition, "filename")
        .or_else(|| repair::rfc2231_param(part, raw, HeaderName::ContentType, "name"))
        .or_else(|| part.attachment_name().map(str::to_string))?;
    let name = headers::display_text(&name);
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    (!base.is_empty() && base != "." && base != "..").then(|| base.to_string())
}

fn content_id(part: &MessagePart<'_>) -> Option<String> {
    let id = part.content_id()?.trim();
    let id = id.trim_start_matches('<').trim_end_matches('>').trim();
    (!id.is_empty()).then(|| id.to_string())
}

/// Lower-case `type/subtype`, guessed from the body kind when the header is missing.
fn mime_type(part: &MessagePart<'_>) -> String {
    if let Some(ct) = part.content_type() {
        let subtype = ct.subtype().unwrap_or(match ct.ctype() {
            "text" => "plain",
            _ => "octet-stream",
        });
        return format!("{}/{}", ct.ctype(), subtype).to_ascii_lowercase();
    }
    match part.body {
        PartType::Html(_) => "text/html",
        PartType::Text(_) => "text/plain",
        PartType::Message(_) => "message/rfc822",
        PartType::Multipart(_) => "multipart/mixed",
        PartType::Binary(_) | PartType::InlineBinary(_) => "application/octet-stream",
    }
    .to_string()
}

/// The decoded bytes of a leaf part.
fn part_bytes<'a>(part: &'a MessagePart<'a>, raw: &'a [u8]) -> Option<Cow<'a, [u8]>> {
    match &part.body {
        // A part mail-parser could not decode is kept as text even when it is a zip.
        PartType::Text(_) | PartType::Html(_) if !mime_type(part).starts_with("text/") => {
            Some(repair::decoded_contents(part))
        }
        PartType::Text(t) | PartType::Html(t) => Some(match repair::decoded_text(part, t, raw) {
            Cow::Borrowed(t) => Cow::Borrowed(t.as_bytes()),
            Cow::Owned(t) => Cow::Owned(t.into_bytes()),
        }),
        PartType::Binary(_) | PartType::InlineBinary(_) => Some(repair::decoded_contents(part)),
        // mail-parser 0.11 gives an unencoded nested message the whole outer message as
        // its raw bytes; its offsets are right, so take the slice.
        PartType::Message(_) if part.encoding == Encoding::None => raw
            .get(part.offset_body as usize..part.offset_end as usize)
            .map(Cow::Borrowed),
        PartType::Message(m) => Some(Cow::Borrowed(m.raw_message())),
        PartType::Multipart(_) => None,
    }
}

#[cfg(test)]
mod tests;

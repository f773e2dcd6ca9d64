//! [`Compose::build`]: the outgoing message as the bytes submitted over SMTP.
//!
//! lettre's part builder makes the MIME tree: it picks 7bit (ASCII with short lines),
//! quoted-printable or base64 for the text parts, makes their line ends CRLF and writes
//! the multipart framing. The message header is ours (see `header.rs` for why), and so
//! are the part headers that carry user text (file names, Content-ID), handed to lettre
//! already encoded. Attachments always go as base64: lettre would send an ASCII file as
//! 7bit with its bare LFs left in (Postfix refuses those, and the bytes would not arrive
//! as they were). A forwarded message (message/rfc822) may only be 7bit or 8bit (RFC
//! 2046 5.2.1), so it goes as it is, with nothing changed but line ends made CRLF; one
//! that cannot (a NUL, a line over 998 octets) falls back to base64, which readers take.

use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use lettre::message::header::{
    ContentTransferEncoding, ContentType, Header, HeaderName, HeaderValue,
};
use lettre::message::{Body, MultiPart, SinglePart};

use super::address::{check_email, parse_addresses, wire_form};
use super::header::{self, Field, has_line_break};
use super::html::{InlineImage, text_to_html};
use super::{Attachment, Built, Compose, ComposeError};
use crate::store::Address;

/// Most ids in a References header we write: the first (the thread's root) and the
/// latest ones.
pub(super) const MAX_REFERENCES: usize = 20;
/// Attachment names are cut to this (keeping the extension), so a parameter line stays
/// well under 998 octets even percent-encoded.
const MAX_FILE_NAME_BYTES: usize = 255;
const MAX_MESSAGE_ID_LEN: usize = 250;
/// RFC 5322 2.1.1, without the CRLF.
const MAX_LINE: usize = 998;

impl Compose {
    /// The message as submitted: headers encoded and folded, the body in MIME parts,
    /// CRLF everywhere, no line over 998 octets, no Bcc header (it comes back apart in
    /// [`Built::bcc_header`] for the Sent copy). `now` is the Date, written in UTC so the
    /// message does not tell the sender's time zone.
    ///
    /// An In-Reply-To or References id that is not a plain ASCII message id is left out
    /// (they are threading hints), but one with a line break is an error like any other.
    pub fn build(&self, now: DateTime<Utc>) -> Result<Built, ComposeError> {
        self.build_message(now, true)
    }

    /// [`Compose::build`] for the copy of a draft in the Drafts folder: a draft may have no
    /// recipient yet.
    pub fn build_draft(&self, now: DateTime<Utc>) -> Result<Built, ComposeError> {
        self.build_message(now, false)
    }

    fn build_message(
        &self,
        now: DateTime<Utc>,
        need_recipients: bool,
    ) -> Result<Built, ComposeError> {
        self.check_injection()?;

        let from_email = self.from.email.trim();
        if from_email.is_empty() {
            return Err(ComposeError::MissingFrom);
        }
        check_email(from_email).map_err(|reason| ComposeError::BadAddress {
            input: from_email.to_string(),
            reason: reason.to_string(),
        })?;
        let from_wire = wire_form(from_email);
        let to = parse_addresses(&self.to)?;
        let cc = parse_addresses(&self.cc)?;
        let bcc = parse_addresses(&self.bcc)?;
        let reply_to = parse_addresses(self.reply_to_text())?;

        let mut seen = HashSet::new();
        let recipients: Vec<String> = to
            .iter()
            .chain(&cc)
            .chain(&bcc)
            .map(|a| wire_form(&a.email))
            .filter(|email| seen.insert(email.to_lowercase()))
            .collect();
        if need_recipients && recipients.is_empty() {
            return Err(ComposeError::NoRecipients);
        }
        let needs_smtputf8 = std::iter::once(from_email)
            .chain(
                to.iter()
                    .chain(&cc)
                    .chain(&bcc)
                    .chain(&reply_to)
                    .map(|a| a.email.as_str()),
            )
            .any(|email| {
                !email
                    .rsplit_once('@')
                    .map_or(email, |(local, _)| local)
                    .is_ascii()
            });

        let domain = from_wire.rsplit_once('@').map_or("localhost", |(_, d)| d);
        let message_id = new_message_id(domain);

        let mut head = String::new();
        let mut date = Field::new("Date");
        header::unstructured(&mut date, &now.to_rfc2822());
        head.push_str(&date.finish());
        let from_name = self.from.name.trim();
        let mut from = Field::new("From");
        header::address_list(&mut from, &[(Some(from_name), from_wire.as_str())]);
        head.push_str(&from.finish());
        for (name, list) in [("Reply-To", &reply_to), ("To", &to), ("Cc", &cc)] {
            if !list.is_empty() {
                head.push_str(&address_field(name, list));
            }
        }
        let mut subject = Field::new("Subject");
        header::unstructured(&mut subject, &self.subject);
        head.push_str(&subject.finish());
        head.push_str(&id_field("Message-ID", std::slice::from_ref(&message_id)));
        if let Some(id) = self.in_reply_to.as_deref().and_then(clean_message_id) {
            head.push_str(&id_field("In-Reply-To", &[id]));
        }
        let references = cap_references(
            self.references
                .iter()
                .filter_map(|r| clean_message_id(r))
                .collect(),
        );
        if !references.is_empty() {
            head.push_str(&id_field("References", &references));
        }
        head.push_str(&format!(
            "User-Agent: Tern/{}\r\nMIME-Version: 1.0\r\n",
            env!("CARGO_PKG_VERSION")
        ));

        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&self.mime_tree()?.formatted());
        check_wire_format(&bytes)?;

        Ok(Built {
            message_id,
            envelope_from: from_wire,
            recipients,
            needs_8bitmime: !bytes.is_ascii(),
            bytes,
            bcc_header: (!bcc.is_empty()).then(|| address_field("Bcc", &bcc)),
            needs_smtputf8,
        })
    }

    /// The Reply-To as typed: the compose's own when set, else the identity's.
    fn reply_to_text(&self) -> &str {
        match &self.reply_to {
            Some(text) => text,
            None => self.from.reply_to.as_deref().unwrap_or_default(),
        }
    }

    /// Refuses CR, LF and NUL in every value that goes into a header.
    fn check_injection(&self) -> Result<(), ComposeError> {
        let mut fields: Vec<(&str, &str)> = vec![
            ("Subject", &self.subject),
            ("From", &self.from.name),
            ("From", &self.from.email),
            ("To", &self.to),
            ("Cc", &self.cc),
            ("Bcc", &self.bcc),
            ("Reply-To", self.reply_to_text()),
        ];
        if let Some(id) = &self.in_reply_to {
            fields.push(("In-Reply-To", id));
        }
        fields.extend(self.references.iter().map(|r| ("References", r.as_str())));
        for attachment in &self.attachments {
            fields.push(("Content-Type", &attachment.content_type));
            if let Some(id) = &attachment.content_id {
                fields.push(("Content-ID", id));
            }
        }
        match fields.into_iter().find(|(_, value)| has_line_break(value)) {
            Some((field, _)) => Err(ComposeError::HeaderInjection {
                field: field.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// text; or alternative(text, html) with the inline images in related(html, ...);
    /// inside mixed(..., attachments, forwarded message) when there are any.
    fn mime_tree(&self) -> Result<Tree, ComposeError> {
        let text = normalise_text(&self.body);
        let text_part = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(text.clone());
        let (inline, attached): (Vec<&Attachment>, Vec<&Attachment>) =
            self.attachments.iter().partition(|a| {
                self.html_alternative
                    && a.content_id.is_some()
                    && !mime_type(&a.content_type).0.starts_with("message/")
            });

        let body = if self.html_alternative {
            let ids = inline
                .iter()
                .map(|a| clean_content_id(a.content_id.as_deref().unwrap_or_default()))
                .collect::<Result<Vec<_>, _>>()?;
            let images: Vec<InlineImage<'_>> = inline
                .iter()
                .zip(&ids)
                .map(|(a, id)| InlineImage {
                    content_id: id,
                    alt: &a.name,
                })
                .collect();
            let html_part = SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(text_to_html(&text, &images));
            let html = if inline.is_empty() {
                Tree::Single(html_part)
            } else {
                let mut related = MultiPart::related().singlepart(html_part);
                for attachment in &inline {
                    related = related.singlepart(attachment_part(attachment, true)?.0);
                }
                Tree::Multi(related)
            };
            Tree::Multi(html.add_to(MultiPart::alternative().singlepart(text_part)))
        } else {
            Tree::Single(text_part)
        };

        let mut parts = Vec::new();
        let mut eight_bit = false;
        for attachment in &attached {
            let (part, is_8bit) = attachment_part(attachment, false)?;
            eight_bit |= is_8bit;
            parts.push(part);
        }
        if let Some(forwarded) = &self.forwarded {
            let subject = forwarded.subject.trim();
            let name = format!(
                "{}.eml",
                if subject.is_empty() {
                    "message"
                } else {
                    subject
                }
            );
            let (part, is_8bit) = message_part(&file_name(&name), &forwarded.raw);
            eight_bit |= is_8bit;
            parts.push(part);
        }
        if parts.is_empty() {
            return Ok(body);
        }
        let mut mixed = MultiPart::mixed();
        if eight_bit {
            // A multipart holding an 8-bit part must say so (RFC 2045 6.4).
            mixed = mixed.header(ContentTransferEncoding::EightBit);
        }
        let mut mixed = body.add_to(mixed.build());
        for part in parts {
            mixed = mixed.singlepart(part);
        }
        Ok(Tree::Multi(mixed))
    }
}

/// The top of the MIME tree: lettre keeps its own part enum private.
enum Tree {
    Single(SinglePart),
    Multi(MultiPart),
}

impl Tree {
    fn add_to(self, parent: MultiPart) -> MultiPart {
        match self {
            Tree::Single(part) => parent.singlepart(part),
            Tree::Multi(part) => parent.multipart(part),
        }
    }

    fn formatted(&self) -> Vec<u8> {
        match self {
            Tree::Single(part) => {
                // lettre ends a part with a CRLF that belongs to the next boundary; a
                // message of one part has none, and the text already ends in a line end.
                let mut bytes = part.formatted();
                if bytes.ends_with(b"\r\n\r\n") {
                    bytes.truncate(bytes.len() - 2);
                }
                bytes
            }
            Tree::Multi(part) => part.formatted(),
        }
    }
}

/// Part headers we encode ourselves, handed to lettre as they are.
macro_rules! pre_encoded_header {
    ($type:ident, $name:literal) => {
        #[derive(Clone)]
        struct $type(String);

        impl Header for $type {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($name)
            }

            fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok(Self(s.to_string()))
            }

            fn display(&self) -> HeaderValue {
                HeaderValue::dangerous_new_pre_encoded(Self::name(), self.0.clone(), self.0.clone())
            }
        }
    };
}

pre_encoded_header!(PartContentType, "Content-Type");
pre_encoded_header!(PartContentDisposition, "Content-Disposition");
pre_encoded_header!(PartContentId, "Content-ID");

/// A file part; the flag says it is 8-bit.
fn attachment_part(
    attachment: &Attachment,
    inline: bool,
) -> Result<(SinglePart, bool), ComposeError> {
    let (essence, charset) = mime_type(&attachment.content_type);
    let name = file_name(&attachment.name);
    if essence.starts_with("message/") {
        return Ok(message_part(&name, &attachment.data));
    }
    let mut content_type = Field::new("Content-Type");
    content_type.glue(" ");
    content_type.glue(&essence);
    if let Some(charset) = charset {
        header::param(&mut content_type, "charset", &charset);
    }
    header::param_encoded_words(&mut content_type, "name", &name);
    let mut builder = SinglePart::builder()
        .header(PartContentType(content_type.into_value()))
        .header(PartContentDisposition(disposition(
            if inline { "inline" } else { "attachment" },
            &name,
        )));
    if let Some(id) = &attachment.content_id {
        builder = builder.header(PartContentId(format!("<{}>", clean_content_id(id)?)));
    }
    let body = Body::new_with_encoding(attachment.data.to_vec(), ContentTransferEncoding::Base64)
        .unwrap_or_else(Body::new);
    Ok((builder.body(body), false))
}

/// A message/rfc822 part kept as it is (line ends made CRLF); the flag says it is 8-bit.
fn message_part(name: &str, raw: &[u8]) -> (SinglePart, bool) {
    let mut content_type = Field::new("Content-Type");
    content_type.glue(" message/rfc822");
    header::param_encoded_words(&mut content_type, "name", name);
    let builder = SinglePart::builder()
        .header(PartContentType(content_type.into_value()))
        .header(PartContentDisposition(disposition("attachment", name)));

    let content = crlf_line_ends(raw);
    let fits = !content.contains(&0)
        && content
            .split(|&b| b == b'\n')
            .all(|line| line.len() <= MAX_LINE + 1);
    if !fits {
        let body = Body::new_with_encoding(raw.to_vec(), ContentTransferEncoding::Base64)
            .unwrap_or_else(Body::new);
        return (builder.body(body), false);
    }
    let encoding = if content.is_ascii() {
        ContentTransferEncoding::SevenBit
    } else {
        ContentTransferEncoding::EightBit
    };
    // Checked above: CRLF only, no NUL, no long line; exactly what 7bit/8bit allow.
    let body = Body::dangerous_pre_encoded(content, encoding);
    (
        builder.body(body),
        encoding == ContentTransferEncoding::EightBit,
    )
}

fn disposition(kind: &str, name: &str) -> String {
    let mut field = Field::new("Content-Disposition");
    field.glue(" ");
    field.glue(kind);
    header::param(&mut field, "filename", name);
    field.into_value()
}

/// `type/subtype` (lower case; application/octet-stream when not a valid one, or a
/// multipart, which a file cannot be) and the charset parameter if any.
fn mime_type(content_type: &str) -> (String, Option<String>) {
    let mut pieces = content_type.split(';');
    let essence = pieces
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let valid = essence
        .split_once('/')
        .is_some_and(|(kind, sub)| is_token(kind) && is_token(sub) && kind != "multipart");
    let charset = pieces
        .filter_map(|p| p.split_once('='))
        .find(|(key, _)| key.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, value)| value.trim().trim_matches('"').to_string())
        .filter(|value| is_token(value));
    if valid {
        (essence, charset)
    } else {
        ("application/octet-stream".to_string(), None)
    }
}

/// RFC 2045 token.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
}

/// A name fit for a file: no control characters or path separators, at most 255 bytes
/// with the extension kept.
fn file_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_control() || c == '/' || c == '\\' {
                '_'
            } else {
                c
            }
        })
        .collect();
    let clean = clean.trim();
    if clean.is_empty() {
        return "attachment".to_string();
    }
    if clean.len() <= MAX_FILE_NAME_BYTES {
        return clean.to_string();
    }
    let extension = clean
        .rsplit_once('.')
        .map(|(_, ext)| ext)
        .filter(|ext| ext.len() <= 16);
    let mut cut = MAX_FILE_NAME_BYTES - extension.map_or(0, |ext| ext.len() + 1);
    while !clean.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = clean[..cut].to_string();
    if let Some(ext) = extension {
        out.push('.');
        out.push_str(ext);
    }
    out
}

/// A Content-ID without `<>`: printable ASCII, no spaces or brackets.
fn clean_content_id(id: &str) -> Result<String, ComposeError> {
    let bare = id.trim().trim_start_matches('<').trim_end_matches('>');
    let ok = !bare.is_empty()
        && bare.len() <= MAX_MESSAGE_ID_LEN
        && bare
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"<>\"\\".contains(&b));
    if ok {
        Ok(bare.to_string())
    } else {
        Err(ComposeError::BadContentId { id: id.to_string() })
    }
}

/// A message id without `<>` when it is one we can write; `None` otherwise.
fn clean_message_id(id: &str) -> Option<String> {
    let bare = id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    let ok = !bare.is_empty()
        && bare.len() <= MAX_MESSAGE_ID_LEN
        && bare
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>');
    ok.then(|| bare.to_string())
}

/// At most [`MAX_REFERENCES`] ids: the first (the thread's root) and the latest ones.
pub(super) fn cap_references(mut ids: Vec<String>) -> Vec<String> {
    if ids.len() > MAX_REFERENCES {
        let latest = ids.split_off(ids.len() - (MAX_REFERENCES - 1));
        ids.truncate(1);
        ids.extend(latest);
    }
    ids
}

fn address_field(name: &str, list: &[Address]) -> String {
    let wire: Vec<(Option<String>, String)> = list
        .iter()
        .map(|a| (a.name.clone(), wire_form(&a.email)))
        .collect();
    let refs: Vec<(Option<&str>, &str)> = wire
        .iter()
        .map(|(name, email)| (name.as_deref(), email.as_str()))
        .collect();
    let mut field = Field::new(name);
    header::address_list(&mut field, &refs);
    field.finish()
}

fn id_field(name: &str, ids: &[String]) -> String {
    let mut field = Field::new(name);
    for id in ids {
        field.push(" ", &format!("<{id}>"));
    }
    field.finish()
}

/// Text as typed with its line ends as `\n` (lettre makes them CRLF), no NUL, and a
/// line end at the end.
fn normalise_text(text: &str) -> String {
    let mut text = text
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\0', "");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// Bare CR and bare LF made CRLF; everything else untouched.
fn crlf_line_ends(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 40);
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'\r' if raw.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 2;
                continue;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// Random enough to be unique: the process's random hasher keys, the time and a
/// counter. The id is no secret, so no cryptographic generator is needed.
fn new_message_id(domain: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let state = std::collections::hash_map::RandomState::new();
    let high = state.hash_one((nanos, count, std::process::id()));
    let low = std::collections::hash_map::RandomState::new().hash_one((count, nanos, high));
    format!("{high:016x}{low:016x}@{domain}")
}

/// The last guard before bytes leave: CRLF only, no NUL, no line over 998 octets.
fn check_wire_format(bytes: &[u8]) -> Result<(), ComposeError> {
    let mut line_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\n' => {
                if i == 0 || bytes[i - 1] != b'\r' {
                    return Err(ComposeError::Malformed(format!("bare LF at byte {i}")));
                }
                if i - 1 - line_start > MAX_LINE {
                    return Err(ComposeError::Malformed(format!(
                        "line over 998 octets at byte {line_start}"
                    )));
                }
                line_start = i + 1;
            }
            b'\r' if bytes.get(i + 1) != Some(&b'\n') => {
                return Err(ComposeError::Malformed(format!("bare CR at byte {i}")));
            }
            0 => return Err(ComposeError::Malformed(format!("NUL at byte {i}"))),
            _ => {}
        }
    }
    if bytes.len() - line_start > MAX_LINE {
        return Err(ComposeError::Malformed("last line over 998 octets".into()));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn references_keep_the_root_and_the_latest() {
        let ids: Vec<String> = (0..30).map(|i| format!("{i}@x")).collect();
        let capped = cap_references(ids);
        assert_eq!(capped.len(), MAX_REFERENCES);
        assert_eq!(capped[0], "0@x");
        assert_eq!(capped[1], "11@x");
        assert_eq!(capped.last().unwrap(), "29@x");
    }

    #[test]
    fn line_ends_become_crlf() {
        assert_eq!(
            crlf_line_ends(b"a\nb\r\nc\rd\n\n"),
            b"a\r\nb\r\nc\r\nd\r\n\r\n"
        );
    }

    #[test]
    fn wire_check_catches_what_postfix_refuses() {
        assert!(check_wire_format(b"a\r\nb\r\n").is_ok());
        assert!(check_wire_format(b"a\nb").is_err());
        assert!(check_wire_format(b"a\rb").is_err());
        assert!(check_wire_format(b"a\0").is_err());
        assert!(check_wire_format(&[b'x'; 999]).is_err());
        assert!(check_wire_format(&[b'x'; 998]).is_ok());
    }

    #[test]
    fn odd_types_become_octet_stream() {
        assert_eq!(mime_type("Text/Plain; charset=\"utf-8\"").0, "text/plain");
        assert_eq!(
            mime_type("text/plain; charset=utf-8").1.as_deref(),
            Some("utf-8")
        );
        assert_eq!(mime_type("multipart/mixed").0, "application/octet-stream");
        assert_eq!(mime_type("nonsense").0, "application/octet-stream");
    }

    #[test]
    fn long_names_keep_their_extension() {
        let name = file_name(&format!("{}.pdf", "é".repeat(300)));
        assert!(name.len() <= MAX_FILE_NAME_BYTES);
        assert!(name.ends_with("é.pdf"));
        assert_eq!(file_name("../a\nb.txt"), ".._a_b.txt");
    }

    #[test]
    fn message_ids_are_unique() {
        let ids: HashSet<String> = (0..1000).map(|_| new_message_id("x.org")).collect();
        assert_eq!(ids.len(), 1000);
    }
}

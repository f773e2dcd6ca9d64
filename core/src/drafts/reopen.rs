//! A message Tern built, read back into the compose model it was built from, so that one
//! the server refused can be fixed and sent again.
//!
//! The outbox keeps the submitted bytes, not the compose model, so the model is rebuilt
//! from the structure `Compose::build` writes: the text part (inside multipart/alternative
//! with an HTML part when the HTML alternative was on, its inline images in
//! multipart/related), then the attachments in multipart/mixed, the forwarded message
//! last. Attachment bytes are the base64 body decoded, so they come back byte for byte
//! whatever their type (mail-parser would convert a text file's charset).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use base64::Engine as _;
use mail_parser::{Encoding, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders};

use crate::account::{Account, Identity};
use crate::compose::{Attachment, Compose, ForwardedMessage, format_address, parse_addresses};

/// The compose model of `raw`, a message built by `Compose::build` as its Sent copy (the
/// Bcc line on top). `envelope_recipients` are the SMTP recipients: any that To, Cc and
/// Bcc do not name is a blind copy too (it may only be an address, with no name).
///
/// The parser runs isolated: bytes it cannot read (or that make it panic) give a draft
/// holding them as text, so the user still has every word to resend.
pub fn compose_from_sent(raw: &[u8], envelope_recipients: &[String], account: &Account) -> Compose {
    let parsed = std::panic::catch_unwind(AssertUnwindSafe(|| {
        MessageParser::default()
            .parse(raw)
            .map(|message| from_message(&message, raw, envelope_recipients, account))
    }));
    match parsed {
        Ok(Some(compose)) => compose,
        _ => Compose {
            account: account.id.clone(),
            from: default_identity(account),
            body: String::from_utf8_lossy(raw).into_owned(),
            ..Compose::default()
        },
    }
}

/// [`compose_from_sent`] of a parsed message; its offsets point into `raw`.
fn from_message(
    message: &Message<'_>,
    raw: &[u8],
    envelope_recipients: &[String],
    account: &Account,
) -> Compose {
    let mut compose = Compose {
        account: account.id.clone(),
        from: identity(message, account),
        ..Compose::default()
    };
    compose.to = address_text(message.to());
    compose.cc = address_text(message.cc());
    let mut bcc: Vec<String> = list(message.bcc())
        .into_iter()
        .map(|(name, email)| format_address(name.as_deref(), &email))
        .collect();
    let mut named: Vec<String> = [message.to(), message.cc(), message.bcc()]
        .into_iter()
        .flat_map(list)
        .map(|(_, email)| email.to_lowercase())
        .collect();
    for recipient in envelope_recipients {
        let lower = recipient.to_lowercase();
        if !named.contains(&lower) {
            named.push(lower);
            bcc.push(recipient.clone());
        }
    }
    compose.bcc = bcc.join(", ");
    compose.reply_to = reply_to(message, &compose.from);
    compose.subject = message.subject().unwrap_or_default().to_owned();
    compose.in_reply_to = ids(message.in_reply_to()).into_iter().next();
    compose.references = ids(message.references());

    let mut body = Body::default();
    body.read(message, 0, raw);
    compose.body = body.text.unwrap_or_default();
    compose.html_alternative = body.html;
    compose.attachments = body.attachments;
    compose.forwarded = body.forwarded;
    compose
}

/// The identity the message was written as: the account's identity with its From
/// address (keeping its signature and Reply-To), else the From as it stands.
fn identity(message: &Message<'_>, account: &Account) -> Identity {
    let Some((name, email)) = list(message.from()).into_iter().next() else {
        return default_identity(account);
    };
    if let Some(known) = account
        .identities
        .iter()
        .find(|i| i.email.trim().eq_ignore_ascii_case(&email))
    {
        return known.clone();
    }
    Identity {
        name: name.unwrap_or_default(),
        email,
        ..Identity::default()
    }
}

fn default_identity(account: &Account) -> Identity {
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

/// The compose's Reply-To: `None` when the message has the identity's own (so a later
/// change to the identity applies), else what the message has (`Some("")`: none).
fn reply_to(message: &Message<'_>, identity: &Identity) -> Option<String> {
    let sent: Vec<String> = list(message.reply_to())
        .into_iter()
        .map(|(_, email)| email.to_lowercase())
        .collect();
    let own: Vec<String> = parse_addresses(identity.reply_to.as_deref().unwrap_or_default())
        .unwrap_or_default()
        .into_iter()
        .map(|a| a.email.to_lowercase())
        .collect();
    if sent == own {
        return None;
    }
    Some(address_text(message.reply_to()))
}

/// (name, address) of every mailbox in a header, groups flattened.
fn list(address: Option<&mail_parser::Address<'_>>) -> Vec<(Option<String>, String)> {
    let Some(address) = address else {
        return Vec::new();
    };
    address
        .iter()
        .filter_map(|a| {
            let email = a.address()?.trim().to_owned();
            let name = a
                .name()
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty() && *n != email);
            (!email.is_empty()).then_some((name, email))
        })
        .collect()
}

/// An address header as the user types it: `Name <a@x>, b@y`.
fn address_text(address: Option<&mail_parser::Address<'_>>) -> String {
    list(address)
        .into_iter()
        .map(|(name, email)| format_address(name.as_deref(), &email))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Message ids without angle brackets.
fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    let clean = |s: &str| {
        s.trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_owned()
    };
    match value {
        HeaderValue::Text(id) => vec![clean(id)],
        HeaderValue::TextList(ids) => ids.iter().map(|id| clean(id)).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|id| !id.is_empty())
    .collect()
}

/// What the MIME tree holds, as the compose model has it.
#[derive(Default)]
struct Body {
    text: Option<String>,
    html: bool,
    attachments: Vec<Attachment>,
    forwarded: Option<ForwardedMessage>,
}

impl Body {
    /// Reads part `id` of `message`, whose offsets point into `raw`.
    fn read(&mut self, message: &Message<'_>, id: usize, raw: &[u8]) {
        let Some(part) = message.parts.get(id) else {
            return;
        };
        let (kind, subtype) = essence(part);
        match &part.body {
            mail_parser::PartType::Multipart(children) => {
                let children: Vec<usize> = children.iter().map(|&c| c as usize).collect();
                let Some((&first, rest)) = children.split_first() else {
                    return;
                };
                match subtype.as_str() {
                    // The body first, then the files; a forwarded message is last.
                    "mixed" => {
                        self.read(message, first, raw);
                        for (n, &child) in rest.iter().enumerate() {
                            let last = n + 1 == rest.len();
                            self.file(message, child, raw, last);
                        }
                    }
                    "alternative" => {
                        self.html = true;
                        for &child in &children {
                            self.read(message, child, raw);
                        }
                    }
                    // The HTML, then the images it shows.
                    "related" => {
                        self.read(message, first, raw);
                        for &child in rest {
                            self.file(message, child, raw, false);
                        }
                    }
                    _ => {
                        for &child in &children {
                            self.read(message, child, raw);
                        }
                    }
                }
            }
            mail_parser::PartType::Text(text)
                if kind == "text" && subtype == "plain" && self.text.is_none() =>
            {
                self.text = Some(typed_text(text));
            }
            // The HTML part is generated from the text: nothing of its own to keep.
            mail_parser::PartType::Html(_) => {}
            _ if self.text.is_none() && kind == "text" => {
                self.text = Some(typed_text(&String::from_utf8_lossy(part.contents())));
            }
            _ => self.file(message, id, raw, false),
        }
    }

    /// Part `id` as an attachment, or as the forwarded message when `last` and it is the
    /// message/rfc822 part `Compose::build` names after its subject.
    fn file(&mut self, message: &Message<'_>, id: usize, raw: &[u8], last: bool) {
        let Some(part) = message.parts.get(id) else {
            return;
        };
        let (kind, subtype) = essence(part);
        let data = decoded_body(part, raw);
        let name = part.attachment_name().unwrap_or_default().to_owned();
        if last && kind == "message" && subtype == "rfc822" {
            let subject = MessageParser::default()
                .parse_headers(&data[..])
                .and_then(|m| m.subject().map(|s| s.trim().to_owned()))
                .unwrap_or_default();
            if name == forwarded_file_name(&subject) {
                self.forwarded = Some(ForwardedMessage {
                    subject,
                    raw: Arc::new(data),
                });
                return;
            }
        }
        let mut content_type = format!("{kind}/{subtype}");
        if let Some(charset) = part.content_type().and_then(|c| c.attribute("charset")) {
            content_type.push_str(&format!("; charset={charset}"));
        }
        let content_id = part
            .content_id()
            .map(|id| id.trim().trim_start_matches('<').trim_end_matches('>'))
            .filter(|id| !id.is_empty())
            .map(str::to_owned);
        self.attachments.push(Attachment {
            name: if name.is_empty() {
                "attachment".to_owned()
            } else {
                name
            },
            content_type,
            content_id,
            data: Arc::new(data),
        });
    }
}

/// Lower-case type and subtype; text/plain when the part has no Content-Type.
fn essence(part: &MessagePart<'_>) -> (String, String) {
    match part.content_type() {
        Some(ct) => (
            ct.ctype().to_ascii_lowercase(),
            ct.subtype().unwrap_or_default().to_ascii_lowercase(),
        ),
        None => ("text".to_owned(), "plain".to_owned()),
    }
}

/// The text as typed: `\n` line ends, without the final line end the builder adds.
fn typed_text(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    match text.strip_suffix('\n') {
        Some(typed) => typed.to_owned(),
        None => text,
    }
}

/// The part's body with the transfer encoding undone, straight from the raw bytes.
fn decoded_body(part: &MessagePart<'_>, raw: &[u8]) -> Vec<u8> {
    let body = raw
        .get(part.offset_body as usize..part.offset_end as usize)
        .unwrap_or_default();
    match part.encoding {
        Encoding::Base64 => {
            let clean: Vec<u8> = body
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            base64::engine::general_purpose::STANDARD
                .decode(&clean)
                .unwrap_or_else(|_| part.contents().to_vec())
        }
        Encoding::QuotedPrintable => part.contents().to_vec(),
        // 7bit or 8bit as it stands (the offsets leave out the boundary's line end).
        Encoding::None => body.to_vec(),
    }
}

/// The file name `Compose::build` gives a forwarded message.
fn forwarded_file_name(subject: &str) -> String {
    let subject = if subject.is_empty() {
        "message"
    } else {
        subject
    };
    format!("{subject}.eml")
        .chars()
        .map(|c| {
            if c.is_control() || c == '/' || c == '\\' {
                '_'
            } else {
                c
            }
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn account() -> Account {
        Account {
            id: "acc".into(),
            email: "alice@example.org".into(),
            identities: vec![Identity {
                name: "Ålice Ünderwood".into(),
                email: "alice@example.org".into(),
                reply_to: Some("desk@example.org".into()),
                signature: "Alice".into(),
            }],
            ..Account::default()
        }
    }

    /// Builds `compose` and reads it back as the outbox would.
    fn round_trip(compose: &Compose) -> Compose {
        let built = compose.build(chrono::Utc::now()).unwrap();
        let mut raw = built.bcc_header.clone().unwrap_or_default().into_bytes();
        raw.extend_from_slice(&built.bytes);
        compose_from_sent(&raw, &built.recipients, &account())
    }

    fn full() -> Compose {
        let text_file = "Grüße\nzweite Zeile ohne CR\n".as_bytes().to_vec();
        let binary: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        Compose {
            account: "acc".into(),
            from: account().identities[0].clone(),
            to: "Bøb Tester <bob@example.org>, carol@example.org".into(),
            cc: "\"Doe, Jane\" <jane@example.net>".into(),
            bcc: "Secret Sam <sam@example.com>".into(),
            reply_to: Some("Other Desk <other@example.org>".into()),
            subject: format!(
                "Ein sehr langer Betreff — {}",
                "Überlänge ".repeat(12).trim()
            ),
            body: format!(
                "Hello Bob,\n.a line starting with a dot\n{}\n\n-- \nAlice",
                "a long line of Grüße ".repeat(20)
            ),
            html_alternative: false,
            attachments: vec![
                Attachment {
                    name: "Übersicht 2026 — café.pdf".into(),
                    content_type: "application/pdf".into(),
                    content_id: None,
                    data: Arc::new(binary),
                },
                Attachment {
                    name: "notes.txt".into(),
                    content_type: "text/plain; charset=iso-8859-1".into(),
                    content_id: None,
                    data: Arc::new(text_file),
                },
            ],
            in_reply_to: Some("parent@example.org".into()),
            references: vec!["root@example.org".into(), "parent@example.org".into()],
            forwarded: None,
        }
    }

    #[test]
    fn every_field_comes_back_as_written() {
        let compose = full();
        assert_eq!(round_trip(&compose), compose);
    }

    #[test]
    fn the_html_alternative_and_inline_images_come_back() {
        let mut compose = full();
        compose.html_alternative = true;
        compose.reply_to = None;
        compose.attachments.insert(
            0,
            Attachment {
                name: "logo.png".into(),
                content_type: "image/png".into(),
                content_id: Some("logo@tern".into()),
                data: Arc::new(vec![0x89, b'P', b'N', b'G', 0, 1, 2, 3]),
            },
        );
        assert_eq!(round_trip(&compose), compose);
    }

    #[test]
    fn a_forwarded_message_comes_back_as_a_forward() {
        let original =
            b"From: x@example.org\r\nSubject: Quarterly report\r\n\r\nNumbers.\r\n".to_vec();
        let compose = Compose {
            account: "acc".into(),
            from: account().identities[0].clone(),
            to: "bob@example.org".into(),
            subject: "Fwd: Quarterly report".into(),
            body: "See below.".into(),
            forwarded: Some(ForwardedMessage {
                subject: "Quarterly report".into(),
                raw: Arc::new(original),
            }),
            ..Compose::default()
        };
        assert_eq!(round_trip(&compose), compose);
    }

    #[test]
    fn a_forward_sent_as_base64_and_an_attached_message_come_back() {
        // A NUL makes the builder send the forwarded message as base64.
        let original = b"From: x@example.org\r\nSubject: Binary\r\n\r\nA\0B\r\n".to_vec();
        let attached = b"From: y@example.org\r\nSubject: Other\r\n\r\nHi\r\n".to_vec();
        let compose = Compose {
            account: "acc".into(),
            from: account().identities[0].clone(),
            to: "bob@example.org".into(),
            subject: "Fwd: Binary".into(),
            body: "See below.".into(),
            attachments: vec![Attachment {
                name: "saved.eml".into(),
                content_type: "message/rfc822".into(),
                content_id: None,
                data: Arc::new(attached),
            }],
            forwarded: Some(ForwardedMessage {
                subject: "Binary".into(),
                raw: Arc::new(original),
            }),
            ..Compose::default()
        };
        assert_eq!(round_trip(&compose), compose);
    }

    #[test]
    fn the_identity_without_a_reply_to_is_written_as_none() {
        let mut compose = full();
        compose.reply_to = Some(String::new());
        assert_eq!(round_trip(&compose).reply_to, Some(String::new()));
        compose.reply_to = None;
        assert_eq!(round_trip(&compose).reply_to, None);
    }

    #[test]
    fn blind_copies_only_in_the_envelope_are_kept() {
        let compose = full();
        let built = compose.build(chrono::Utc::now()).unwrap();
        // The Bcc line lost: the envelope still names the blind recipient.
        let back = compose_from_sent(&built.bytes, &built.recipients, &account());
        assert_eq!(back.bcc, "sam@example.com");
    }
}

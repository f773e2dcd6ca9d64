//! The store row of a message known only by its bytes (a POP3 download): what an IMAP
//! server reports in ENVELOPE and BODYSTRUCTURE, read from the message itself, and the text
//! the full-text index gets, from one parse.
//!
//! Like [`super::parse`], this never panics outward: a message mail-parser cannot read (no
//! headers, binary junk, a parser panic) still gets a row, with an empty subject and no
//! addresses, and its bytes as index text. The reader then shows it as source.

use mail_parser::{Message, MimeHeaders, PartType};

use super::{Address, INDEX_TEXT_LIMIT, MessageView, MimeError, build_view, isolate, text};
use crate::store::{self, Flags, NewMessage};

/// A Received date further than this past the download time is a broken clock's.
const MAX_RECEIVED_SKEW_SECS: i64 = 24 * 60 * 60;

/// A message's store row and its searchable body text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// `uid` 0, flags empty (unread): the caller decides both.
    pub message: NewMessage,
    /// At most [`INDEX_TEXT_LIMIT`] bytes, like [`super::body_text_for_index`].
    pub index_text: String,
}

/// Reads the row of `raw`. `arrived` (unix seconds, usually the download time) is the
/// internal date unless the topmost Received header gives a sane earlier one.
pub fn summarize(raw: &[u8], arrived: i64) -> Summary {
    let size = u32::try_from(raw.len()).unwrap_or(u32::MAX);
    let read = isolate(|| {
        super::with_message(raw, |message, bytes| {
            let view = build_view(message, bytes, false)?;
            Ok::<_, MimeError>((view, has_attachment(message), received(message)))
        })
    });
    match read {
        Ok(Ok(Ok((view, has_attachment, received)))) => {
            let internal_date = received
                .filter(|&d| d > 0 && d <= arrived.saturating_add(MAX_RECEIVED_SKEW_SECS))
                .unwrap_or(arrived);
            from_view(view, has_attachment, internal_date, size)
        }
        _ => Summary {
            message: NewMessage {
                internal_date: arrived,
                size,
                ..empty_row()
            },
            // Still searchable as source.
            index_text: super::body_text_for_index(raw),
        },
    }
}

fn empty_row() -> NewMessage {
    NewMessage {
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
    }
}

fn from_view(view: MessageView, has_attachment: bool, internal_date: i64, size: u32) -> Summary {
    let addresses = |list: Vec<Address>| -> Vec<store::Address> {
        list.into_iter()
            .map(|a| store::Address {
                name: a.name,
                email: a.email,
            })
            .collect()
    };
    let mut index_text = view.text.unwrap_or_default();
    text::truncate_bytes(&mut index_text, INDEX_TEXT_LIMIT);
    Summary {
        message: NewMessage {
            internal_date,
            size,
            date: view.date,
            subject: view.subject,
            from: addresses(view.from),
            to: addresses(view.to),
            cc: addresses(view.cc),
            bcc: addresses(view.bcc),
            reply_to: addresses(view.reply_to),
            message_id: view.message_id,
            in_reply_to: view.in_reply_to,
            references: view.references,
            has_attachment,
            ..empty_row()
        },
        index_text,
    }
}

/// The date of the topmost Received header: when the last server took the message in.
fn received(message: &Message<'_>) -> Option<i64> {
    message
        .received_all()
        .next()?
        .date()
        .filter(|d| d.is_valid())
        .map(|d| d.to_timestamp())
}

/// The rule IMAP sync applies to BODYSTRUCTURE (imap/fetch.rs), on the parsed parts, so a
/// message gets the same paperclip whichever protocol fetched it: a part marked as an
/// attachment, a named or `application/*` non-text part that is no inline image, or an
/// attached message.
fn has_attachment(message: &Message<'_>) -> bool {
    message.parts.iter().any(|part| {
        let disposition = part.content_disposition();
        let attachment = disposition.is_some_and(|d| d.ctype().eq_ignore_ascii_case("attachment"));
        match part.body {
            PartType::Multipart(_) => false,
            PartType::Message(_) => true,
            _ if attachment => true,
            _ => {
                let ctype = part.content_type().map(|c| c.ctype());
                let is = |t: &str| ctype.is_some_and(|c| c.eq_ignore_ascii_case(t));
                let is_text = ctype.is_none() || is("text");
                let inline_image = is("image") && part.content_id().is_some();
                !is_text && !inline_image && (part.attachment_name().is_some() || is("application"))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_fills_its_row() {
        let raw = b"Received: from mx by inbound; Tue, 02 Jan 2024 10:00:05 +0000\r\n\
From: Bob <bob@example.org>\r\n\
To: Alice <alice@example.org>, carol@example.org\r\n\
Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n\
Date: Tue, 02 Jan 2024 10:00:00 +0000\r\n\
Message-ID: <one@example.org>\r\n\
In-Reply-To: <zero@example.org>\r\n\
References: <first@example.org> <zero@example.org>\r\n\
Content-Type: multipart/mixed; boundary=b\r\n\
\r\n\
--b\r\n\
Content-Type: text/plain\r\n\
\r\n\
The quarterly figures.\r\n\
--b\r\n\
Content-Type: application/pdf; name=r.pdf\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0=\r\n\
--b--\r\n";
        let s = summarize(raw, 2_000_000_000);
        let m = &s.message;
        assert_eq!(m.subject, "Grüße");
        assert_eq!(m.from[0].email, "bob@example.org");
        assert_eq!(m.from[0].name.as_deref(), Some("Bob"));
        assert_eq!(m.to.len(), 2);
        assert_eq!(m.date, Some(1_704_189_600));
        assert_eq!(m.internal_date, 1_704_189_605, "the Received date");
        assert_eq!(m.message_id.as_deref(), Some("one@example.org"));
        assert_eq!(m.in_reply_to.as_deref(), Some("zero@example.org"));
        assert_eq!(m.references.len(), 2);
        assert_eq!(m.size as usize, raw.len());
        assert!(m.has_attachment);
        assert!(m.flags.is_empty());
        assert!(
            s.index_text.contains("quarterly figures"),
            "{}",
            s.index_text
        );
    }

    #[test]
    fn inline_images_and_plain_text_are_no_attachments() {
        let raw = b"From: a@example.org\r\nSubject: pic\r\n\
Content-Type: multipart/related; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/html\r\n\r\n<img src=\"cid:p\">\r\n\
--b\r\nContent-Type: image/png\r\nContent-ID: <p>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0=\r\n\
--b--\r\n";
        assert!(!summarize(raw, 0).message.has_attachment);
        let plain = b"From: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n";
        let s = summarize(plain, 1_000);
        assert!(!s.message.has_attachment);
        assert_eq!(
            s.message.internal_date, 1_000,
            "no Received: the arrival time"
        );
    }

    #[test]
    fn a_future_received_date_is_not_believed() {
        let raw = b"Received: by x; Sat, 01 Jan 2950 00:00:00 +0000\r\nSubject: s\r\n\r\nb\r\n";
        assert_eq!(summarize(raw, 1_000_000).message.internal_date, 1_000_000);
    }

    #[test]
    fn junk_still_gets_a_row() {
        let mut junk: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        junk.extend_from_slice(b"\r\n");
        for raw in [
            &junk[..],
            b"",
            b"no headers at all, just words\r\n",
            &[0u8; 100],
        ] {
            let s = summarize(raw, 42);
            assert_eq!(s.message.size as usize, raw.len());
            assert_eq!(s.message.internal_date, 42);
            assert!(s.message.subject.is_empty() && s.message.from.is_empty());
        }
        let s = summarize(b"no headers at all, just words\r\n", 42);
        assert!(s.index_text.contains("just words"), "{}", s.index_text);
    }
}

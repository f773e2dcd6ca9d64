//! The message being written ([`Compose`]) and how it becomes RFC 5322 bytes ready for
//! submission ([`Compose::build`]).
//!
//! - `address`: what the user typed in To/Cc/Bcc, parsed and checked;
//! - `header`: header fields encoded (RFC 2047, RFC 2231) and folded by hand;
//! - `build`: the MIME tree (lettre's part builder) and the final checks;
//! - [`html`]: the text/html alternative generated from the plain text;
//! - [`mod@reply`]: replies and forwards made from a received message.
//!
//! Every value the user typed that ends up in a header is checked for CR, LF and NUL
//! first: such a value is refused ([`ComposeError::HeaderInjection`]), never passed on.

mod address;
mod build;
mod header;
pub mod html;
pub mod reply;

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::account::Identity;

pub use address::{format_address, parse_addresses};
pub use reply::{ReplyKind, forward_as_attachment, forward_inline, reply};

/// A message being written, as the composer holds it (and as drafts store it; the bytes
/// of attachments are stored separately).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Compose {
    /// The account id.
    pub account: String,
    pub from: Identity,
    /// Address lists as the user typed them: `Ann <a@x>, b@y`.
    pub to: String,
    pub cc: String,
    pub bcc: String,
    /// Overrides the identity's reply-to when `Some` (an empty string means none).
    pub reply_to: Option<String>,
    pub subject: String,
    /// Plain text as typed; the signature is in it once the composer inserted it
    /// ([`Compose::with_signature`]).
    pub body: String,
    /// Also send a text/html part generated from `body`.
    pub html_alternative: bool,
    pub attachments: Vec<Attachment>,
    /// Message-ID of the message replied to, without `<>`.
    pub in_reply_to: Option<String>,
    /// Thread ancestry, oldest first, without `<>`.
    pub references: Vec<String>,
    /// Forward-as-attachment: the original, attached as message/rfc822.
    pub forwarded: Option<ForwardedMessage>,
}

/// A file attached to the message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub name: String,
    /// `type/subtype`, optionally with a `charset` parameter.
    pub content_type: String,
    /// Set for an image the HTML part shows inline (sent in multipart/related).
    pub content_id: Option<String>,
    /// Drafts store the bytes separately.
    #[serde(skip)]
    pub data: Arc<Vec<u8>>,
}

/// The original message of a forward-as-attachment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct ForwardedMessage {
    /// Its subject, which names the attached file.
    pub subject: String,
    #[serde(skip)]
    pub raw: Arc<Vec<u8>>,
}

/// A message ready for submission.
#[derive(Clone, Debug, PartialEq)]
pub struct Built {
    /// The Message-ID, without `<>`: random, at the From domain.
    pub message_id: String,
    /// MAIL FROM: the identity's address.
    pub envelope_from: String,
    /// RCPT TO: To, Cc and Bcc addresses, each once (compared case-insensitively).
    pub recipients: Vec<String>,
    /// The message as submitted: CRLF line ends, no line over 998 octets, no Bcc header.
    pub bytes: Vec<u8>,
    /// `Bcc: ...\r\n` (encoded, folded) to put in front of `bytes` for the Sent copy.
    pub bcc_header: Option<String>,
    /// An address has a non-ASCII local part: submission needs SMTPUTF8.
    /// (Non-ASCII domains are sent in their ASCII form and need nothing.)
    pub needs_smtputf8: bool,
    /// `bytes` holds 8-bit data (a forwarded message that is not ASCII, or a UTF-8
    /// address): submit with BODY=8BITMIME.
    pub needs_8bitmime: bool,
}

/// Why a message cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    #[error("the message has no recipients")]
    NoRecipients,
    #[error("the sender identity has no address")]
    MissingFrom,
    #[error("“{input}” is not a valid address: {reason}")]
    BadAddress { input: String, reason: String },
    /// A line break or NUL in a value that goes into a header.
    #[error("the {field} field contains a line break or NUL character")]
    HeaderInjection { field: String },
    #[error("“{id}” cannot be used as a Content-ID")]
    BadContentId { id: String },
    #[error("cannot read {path}: {message}")]
    Io { path: String, message: String },
    /// The builder produced something unfit for submission; a bug, never the user's fault.
    #[error("the message could not be built: {0}")]
    Malformed(String),
}

/// RFC 3676 signature separator line.
pub const SIGNATURE_SEPARATOR: &str = "-- ";

impl Compose {
    /// The body with the identity's signature appended after a `-- ` line, unless it is
    /// already there (so calling this again changes nothing).
    pub fn with_signature(mut self) -> Compose {
        let signature = self.from.signature.trim_end().replace("\r\n", "\n");
        if signature.trim().is_empty() {
            return self;
        }
        let block = format!("{SIGNATURE_SEPARATOR}\n{signature}");
        let body = self.body.replace("\r\n", "\n");
        let present = body == block
            || body.starts_with(&format!("{block}\n"))
            || body.contains(&format!("\n{block}\n"))
            || body.ends_with(&format!("\n{block}"));
        if !present {
            self.body = format!("{body}\n\n{block}");
        }
        self
    }
}

impl Attachment {
    /// Reads a file to attach; the name is the file's name, the type guessed from its
    /// extension.
    pub fn from_file(path: &Path) -> Result<Attachment, ComposeError> {
        let data = std::fs::read(path).map_err(|e| ComposeError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "attachment".to_string());
        Ok(Attachment {
            content_type: content_type_for_name(&name).to_string(),
            name,
            content_id: None,
            data: Arc::new(data),
        })
    }
}

/// The MIME type for a file name, by extension; `application/octet-stream` when unknown.
pub fn content_type_for_name(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "text" | "log" | "md" => "text/plain",
        "csv" => "text/csv",
        "htm" | "html" => "text/html",
        "ics" => "text/calendar",
        "vcf" => "text/vcard",
        "xml" => "application/xml",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "tar" => "application/x-tar",
        "7z" => "application/x-7z-compressed",
        "rtf" => "application/rtf",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ppt" => "application/vnd.ms-powerpoint",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt" => "application/vnd.oasis.opendocument.text",
        "ods" => "application/vnd.oasis.opendocument.spreadsheet",
        "odp" => "application/vnd.oasis.opendocument.presentation",
        "eml" => "message/rfc822",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "heic" => "image/heic",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_appended_once() {
        let compose = Compose {
            body: "Hello".into(),
            from: Identity {
                signature: "Ann\nACME".into(),
                ..Identity::default()
            },
            ..Compose::default()
        };
        let once = compose.with_signature();
        assert_eq!(once.body, "Hello\n\n-- \nAnn\nACME");
        let twice = once.clone().with_signature();
        assert_eq!(twice.body, once.body);
    }

    #[test]
    fn empty_signature_changes_nothing() {
        let compose = Compose {
            body: "Hello".into(),
            ..Compose::default()
        };
        assert_eq!(compose.clone().with_signature(), compose);
    }

    #[test]
    fn types_by_extension() {
        assert_eq!(content_type_for_name("Übersicht.PDF"), "application/pdf");
        assert_eq!(content_type_for_name("noext"), "application/octet-stream");
        assert_eq!(content_type_for_name("a.tar.gz"), "application/gzip");
    }
}

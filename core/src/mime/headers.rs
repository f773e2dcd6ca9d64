//! Header decoding on top of mail-parser: raw 8-bit bytes, addresses, message ids, dates.

use std::borrow::Cow;

use mail_parser::{HeaderName, HeaderValue, Message};

use super::Address;

/// Longest subject kept for display, in characters; a longer one is cut and ends in '…'.
pub(crate) const MAX_SUBJECT_CHARS: usize = 1000;
/// Most addresses kept per address header; a hostile header can hold millions.
pub(crate) const MAX_ADDRESSES: usize = 1000;
/// Most ids kept from a References header.
pub(crate) const MAX_REFERENCES: usize = 500;

/// Rewrites the top-level header block so that raw 8-bit bytes which are not UTF-8 are
/// read as windows-1252 (a superset of latin-1 for printable characters).
///
/// mail-parser turns such bytes into U+FFFD, losing the text. Only the header block is
/// touched, so body offsets, part numbers and bodies are the same as in the raw message;
/// `parse` and `attachment_bytes` both call this, so part indexes agree.
///
/// A message that is all headers and lacks a final line break gets one: mail-parser
/// 0.11 drops a last header (a Message-ID, say) that runs into the end of the input.
pub(crate) fn normalise_header_block(raw: &[u8]) -> Cow<'_, [u8]> {
    let end = header_block_end(raw);
    let Some(head) = raw.get(..end) else {
        return Cow::Borrowed(raw);
    };
    let unterminated = end == raw.len() && !raw.is_empty() && !raw.ends_with(b"\n");
    if std::str::from_utf8(head).is_ok() && !unterminated {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 8 + 2);
    out.extend_from_slice(utf8_or_cp1252(head).as_bytes());
    out.extend_from_slice(raw.get(end..).unwrap_or_default());
    if unterminated {
        out.extend_from_slice(b"\r\n");
    }
    Cow::Owned(out)
}

/// Offset just past the header block (the empty line stays with the body), or the whole
/// input when there is no empty line.
fn header_block_end(raw: &[u8]) -> usize {
    let mut pos = 0;
    while pos < raw.len() {
        let line_end = raw[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |p| pos + p + 1);
        let line = &raw[pos..line_end];
        if line == b"\n" || line == b"\r\n" {
            return pos;
        }
        pos = line_end;
    }
    raw.len()
}

/// Keeps valid UTF-8 runs and decodes each invalid byte as windows-1252.
pub(crate) fn utf8_or_cp1252(mut bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 16);
    loop {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                let bad = e.error_len().unwrap_or(rest.len()).max(1).min(rest.len());
                let (bad_bytes, rest) = rest.split_at(bad);
                let (decoded, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bad_bytes);
                out.push_str(&decoded);
                bytes = rest;
            }
        }
    }
}

/// Makes a header value safe to show on one line: line breaks, tabs and other control
/// characters become spaces, runs of spaces collapse, ends are trimmed.
pub(crate) fn display_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() || c.is_control() {
            space = !out.is_empty();
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Cuts `s` to at most `max` characters, marking the cut with '…'.
pub(crate) fn truncate_chars(s: String, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => {
            let mut t = s;
            t.truncate(cut);
            t.push('…');
            t
        }
        None => s,
    }
}

/// The subject, decoded and cut to a displayable length.
pub(crate) fn subject(message: &Message<'_>) -> String {
    let parsed = message.subject().unwrap_or_default();
    let subject = match message.header_raw(HeaderName::Subject) {
        // mail-parser reads encoded words in charsets it does not know as UTF-8.
        Some(raw) if parsed.contains('\u{FFFD}') && raw.contains("=?") => {
            Cow::Owned(decode_encoded_words(raw, false))
        }
        _ => Cow::Borrowed(parsed),
    };
    truncate_chars(display_text(&subject), MAX_SUBJECT_CHARS)
}

/// RFC 2047 encoded words decoded with our charset fallback; anything that is not a
/// well-formed encoded word stays as written. With `quote`, decoded text outside a quoted
/// string is put in one, so the result still parses as an address list.
pub(crate) fn decode_encoded_words(s: &str, quote: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut in_quotes = false;
    // Whitespace seen since the last encoded word, dropped if another one follows.
    let mut pending_space = String::new();
    let mut after_word = false;
    while !rest.is_empty() {
        if let Some((decoded, len)) = rest.starts_with("=?").then(|| encoded_word(rest)).flatten() {
            if !after_word {
                out.push_str(&pending_space);
            }
            pending_space.clear();
            if quote && !in_quotes {
                // Adjacent words share one quoted string.
                if after_word && out.ends_with('"') {
                    out.pop();
                } else {
                    out.push('"');
                }
            }
            for c in decoded.chars() {
                if quote && (c == '"' || c == '\\') {
                    out.push('\\');
                }
                out.push(c);
            }
            if quote && !in_quotes {
                out.push('"');
            }
            after_word = true;
            rest = rest.get(len..).unwrap_or_default();
            continue;
        }
        let Some(c) = rest.chars().next() else {
            break;
        };
        rest = rest.get(c.len_utf8()..).unwrap_or_default();
        if c.is_whitespace() {
            pending_space.push(c);
            continue;
        }
        out.push_str(&pending_space);
        pending_space.clear();
        after_word = false;
        if c == '"' {
            in_quotes = !in_quotes;
        }
        out.push(c);
    }
    out.push_str(&pending_space);
    out
}

/// Decodes the encoded word at the start of `s`, returning its text and length.
fn encoded_word(s: &str) -> Option<(String, usize)> {
    let body = s.strip_prefix("=?")?;
    let end = body.find("?=")?;
    let word = body.get(..end)?;
    if word.contains(char::is_whitespace) {
        return None;
    }
    let mut parts = word.splitn(3, '?');
    let (charset, encoding, text) = (parts.next()?, parts.next()?, parts.next()?);
    // RFC 2231 allows a language after '*': "utf-8*en".
    let charset = charset.split('*').next().unwrap_or_default();
    let bytes = match encoding {
        "B" | "b" => base64_word(text)?,
        "Q" | "q" => q_word(text),
        _ => return None,
    };
    Some((
        super::repair::decode_charset(&bytes, Some(charset)),
        end + 4,
    ))
}

fn base64_word(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut n) = (0u32, 0);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        n += 1;
        if n == 4 {
            out.extend_from_slice(&acc.to_be_bytes()[1..]);
            (acc, n) = (0, 0);
        }
    }
    match n {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&((acc >> 2) as u16).to_be_bytes()),
        _ => {}
    }
    Some(out)
}

fn q_word(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
                continue;
            }
            (b'_', _) => out.push(b' '),
            (b, _) => out.push(b),
        }
        i += 1;
    }
    out
}

/// Every address in every occurrence of `name` (groups flattened), in order.
pub(crate) fn addresses(message: &Message<'_>, name: HeaderName<'static>) -> Vec<Address> {
    let out = address_list(message, name.clone());
    if !out
        .iter()
        .any(|a| a.name.as_deref().is_some_and(|n| n.contains('\u{FFFD}')))
    {
        return out;
    }
    // An encoded word in a charset mail-parser does not know: decode the words here and
    // let mail-parser read the structure of the result.
    let mut header = Vec::new();
    for h in message.headers().iter().filter(|h| h.name == name) {
        let raw = message
            .raw_message()
            .get(h.offset_start as usize..h.offset_end as usize);
        let value = utf8_or_cp1252(raw.unwrap_or_default());
        header.extend_from_slice(format!("{}:", name.as_str()).as_bytes());
        header.extend_from_slice(decode_encoded_words(value.trim_end(), true).as_bytes());
        header.extend_from_slice(b"\r\n");
    }
    header.extend_from_slice(b"\r\n");
    match mail_parser::MessageParser::default().parse(&header[..]) {
        Some(fixed) => address_list(&fixed, name),
        None => out,
    }
}

fn address_list(message: &Message<'_>, name: HeaderName<'static>) -> Vec<Address> {
    let mut out = Vec::new();
    for value in message.header_values(name) {
        let Some(list) = value.as_address() else {
            continue;
        };
        for addr in list.iter() {
            if out.len() >= MAX_ADDRESSES {
                return out;
            }
            let email = display_text(addr.address().unwrap_or_default());
            if email.is_empty() {
                // A group name or a bare phrase: nothing the user could write to.
                continue;
            }
            let name = addr
                .name()
                .map(display_text)
                .filter(|n| !n.is_empty() && *n != email);
            out.push(Address { name, email });
        }
    }
    out
}

/// Message ids held in a header value, without angle brackets.
pub(crate) fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    let clean = |s: &str| {
        display_text(s.trim().trim_start_matches('<').trim_end_matches('>')).replace(' ', "")
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

/// The Date header as unix seconds in UTC, when it is a real date.
pub(crate) fn date(message: &Message<'_>) -> Option<i64> {
    if let Some(d) = message.date().filter(|d| d.is_valid()) {
        return Some(d.to_timestamp());
    }
    // mail-parser 0.11 rejects dates without seconds ("26 May 2024 10:00 GMT"), which
    // RFC 5322 allows; chrono reads those. A date with no zone is taken as UTC.
    let raw = message.header_raw(HeaderName::Date)?;
    let text = display_text(&strip_comments(raw));
    chrono::DateTime::parse_from_rfc2822(&text)
        .or_else(|_| chrono::DateTime::parse_from_rfc2822(&format!("{text} +0000")))
        .ok()
        .map(|d| d.timestamp())
}

/// Removes parenthesised comments ("(PDT)") from a header value.
fn strip_comments(s: &str) -> String {
    let mut depth = 0usize;
    s.chars()
        .filter(|&c| match c {
            '(' => {
                depth += 1;
                false
            }
            ')' => {
                depth = depth.saturating_sub(1);
                false
            }
            _ => depth == 0,
        })
        .collect()
}

/// True when at least one top-level header has a well-formed name (printable ASCII, no
/// colon): without one, the input is not a message and is better shown as source.
pub(crate) fn has_real_header(message: &Message<'_>) -> bool {
    message.headers().iter().any(|h| {
        let name = h.name();
        !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b) && b != b':')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_header_bytes_become_text() {
        let raw = b"Subject: caf\xe9 \xe2\x82\xac\r\n\r\nbody \xe9\r\n";
        let out = normalise_header_block(raw);
        assert!(out.starts_with("Subject: café €\r\n\r\n".as_bytes()));
        // The body is left alone.
        assert!(out.ends_with(b"body \xe9\r\n"));
    }

    #[test]
    fn utf8_headers_are_borrowed() {
        let raw = "Subject: café\n\nx".as_bytes();
        assert!(matches!(normalise_header_block(raw), Cow::Borrowed(_)));
    }

    #[test]
    fn cp1252_specials() {
        assert_eq!(
            utf8_or_cp1252(b"\x93quoted\x94 \x80"),
            "\u{201c}quoted\u{201d} €"
        );
    }

    #[test]
    fn encoded_words_fall_back_to_cp1252() {
        assert_eq!(
            decode_encoded_words("=?unknown-8bit?Q?Bj=F6rn?= x", false),
            "Björn x"
        );
        assert_eq!(
            decode_encoded_words("=?utf-8?q?a?= =?utf-8?b?w6k=?= <a@b>", true),
            "\"aé\" <a@b>"
        );
        assert_eq!(
            decode_encoded_words("\"=?x?q?S=E9b?=\" <s@b>", true),
            "\"Séb\" <s@b>"
        );
        assert_eq!(
            decode_encoded_words("=?utf-8?b?bad base64?=", false),
            "=?utf-8?b?bad base64?="
        );
    }

    #[test]
    fn comments_are_stripped() {
        assert_eq!(
            strip_comments("Mon, 3 Jun (a (b)) 2024"),
            "Mon, 3 Jun  2024"
        );
    }

    #[test]
    fn display_text_flattens() {
        assert_eq!(display_text("  a\r\n\tb  \u{0}c "), "a b c");
    }

    #[test]
    fn truncation_marks_cut() {
        assert_eq!(truncate_chars("héllo".into(), 2), "hé…");
        assert_eq!(truncate_chars("hé".into(), 2), "hé");
    }
}

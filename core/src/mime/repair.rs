//! Workarounds for what mail-parser 0.11 gets wrong or gives up on.

use std::borrow::Cow;

use mail_parser::{Encoding, HeaderName, HeaderValue, Message, MessagePart, MimeHeaders, PartType};

use super::headers::utf8_or_cp1252;

/// When the top-level multipart's declared boundary never occurs in the body (a sender
/// bug), mail-parser shows the whole body as one opaque part. If the body plainly uses
/// another boundary, returns the message with its Content-Type rewritten to that one.
pub(crate) fn repair_boundary(message: &Message<'_>, raw: &[u8]) -> Option<Vec<u8>> {
    let root = message.parts.first()?;
    let ct = root.content_type()?;
    if !ct.ctype().eq_ignore_ascii_case("multipart") || matches!(root.body, PartType::Multipart(_))
    {
        return None;
    }
    let header = root
        .headers
        .iter()
        .find(|h| h.name == HeaderName::ContentType)?;
    let body = raw.get(root.offset_body as usize..)?;
    let boundary = find_boundary(body)?;
    if ct.attribute("boundary") == Some(boundary.as_str()) {
        return None;
    }
    let subtype: String = ct
        .subtype()
        .unwrap_or("mixed")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    let mut out = Vec::with_capacity(raw.len() + 64);
    out.extend_from_slice(raw.get(..header.offset_start as usize)?);
    out.extend_from_slice(format!(" multipart/{subtype}; boundary=\"{boundary}\"\r\n").as_bytes());
    out.extend_from_slice(raw.get(header.offset_end as usize..)?);
    Some(out)
}

/// The first line shaped like a MIME delimiter (`--` and a valid boundary) that is
/// followed by a header line or an empty line.
fn find_boundary(body: &[u8]) -> Option<String> {
    let mut lines = body
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .peekable();
    while let Some(line) = lines.next() {
        let Some(candidate) = line.strip_prefix(b"--") else {
            continue;
        };
        let valid = (1..=70).contains(&candidate.len())
            && !candidate.ends_with(b" ")
            && candidate
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&c));
        let next_is_header = lines.peek().is_some_and(|next| {
            next.is_empty()
                || next
                    .iter()
                    .position(|&c| c == b':')
                    .is_some_and(|p| p > 0 && !next[..p].contains(&b' '))
        });
        if valid && next_is_header {
            return String::from_utf8(candidate.to_vec()).ok();
        }
    }
    None
}

/// True when the part says it is base64 or quoted-printable but mail-parser could not
/// decode it (typically the last part of a message cut short) and kept the raw text.
fn undecoded_transfer_encoding(part: &MessagePart<'_>) -> Option<TransferEncoding> {
    if !part.is_encoding_problem {
        return None;
    }
    match part
        .content_transfer_encoding()?
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "base64" => Some(TransferEncoding::Base64),
        "quoted-printable" => Some(TransferEncoding::QuotedPrintable),
        _ => None,
    }
}

enum TransferEncoding {
    Base64,
    QuotedPrintable,
}

/// The part's bytes with the transfer encoding undone even where mail-parser gave up.
pub(crate) fn decoded_contents<'a>(part: &'a MessagePart<'a>) -> Cow<'a, [u8]> {
    match undecoded_transfer_encoding(part) {
        Some(TransferEncoding::Base64) => Cow::Owned(base64_lenient(part.contents())),
        Some(TransferEncoding::QuotedPrintable) => {
            Cow::Owned(quoted_printable_lenient(part.contents()))
        }
        None => Cow::Borrowed(part.contents()),
    }
}

/// The text of a text part, re-decoded where mail-parser got it wrong: left
/// transfer-encoded, or 8-bit text with no charset (or a wrong ASCII/UTF-8 one) read as
/// UTF-8 with U+FFFD for every latin-1 letter. `raw` is the buffer the part's offsets
/// point into.
pub(crate) fn decoded_text<'a>(
    part: &'a MessagePart<'a>,
    text: &'a str,
    raw: &[u8],
) -> Cow<'a, str> {
    let charset = part.content_type().and_then(|c| c.attribute("charset"));
    if undecoded_transfer_encoding(part).is_some() {
        return Cow::Owned(decode_charset(&decoded_contents(part), charset));
    }
    let unlabelled = charset.is_none_or(|c| {
        matches!(
            c.trim().to_ascii_lowercase().as_str(),
            "us-ascii" | "ascii" | "utf-8" | "utf8"
        )
    });
    if !text.contains('\u{FFFD}') || !unlabelled {
        return Cow::Borrowed(text);
    }
    let Some(body) = raw.get(part.offset_body as usize..part.offset_end as usize) else {
        return Cow::Borrowed(text);
    };
    let bytes = match part.encoding {
        Encoding::Base64 => base64_lenient(body),
        Encoding::QuotedPrintable => quoted_printable_lenient(body),
        Encoding::None => body.to_vec(),
    };
    Cow::Owned(utf8_or_cp1252(&bytes))
}

/// Decodes bytes in a named charset; unknown or missing charsets are read as UTF-8 with a
/// windows-1252 fallback.
pub(crate) fn decode_charset(bytes: &[u8], charset: Option<&str>) -> String {
    match charset.and_then(|c| encoding_rs::Encoding::for_label(c.trim().as_bytes())) {
        Some(enc) => enc.decode_without_bom_handling(bytes).0.into_owned(),
        None => utf8_or_cp1252(bytes),
    }
}

/// Base64 that skips anything outside the alphabet and stops at padding.
fn base64_lenient(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut n = 0;
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        n += 1;
        if n == 4 {
            out.extend_from_slice(&acc.to_be_bytes()[1..]);
            acc = 0;
            n = 0;
        }
    }
    match n {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&((acc >> 2) as u16).to_be_bytes()),
        _ => {}
    }
    out
}

/// Quoted-printable that keeps a stray `=` as it is.
fn quoted_printable_lenient(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'=' {
            let rest = input.get(i + 1..).unwrap_or_default();
            if rest.starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if rest.starts_with(b"\n") {
                i += 2;
                continue;
            }
            let hex = rest
                .get(..2)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(b) = hex {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

/// An RFC 2231 parameter (`name*=charset''value`, or continued as `name*0*=`, `name*1=`…)
/// read from the raw header. mail-parser 0.11 applies the charset only to the first
/// continuation, so later ones come out as U+FFFD.
pub(crate) fn rfc2231_param(
    part: &MessagePart<'_>,
    raw: &[u8],
    header: HeaderName<'static>,
    name: &str,
) -> Option<String> {
    let h = part.headers.iter().find(|h| h.name == header)?;
    if !matches!(h.value, HeaderValue::ContentType(_)) {
        return None;
    }
    let value = utf8_or_cp1252(raw.get(h.offset_start as usize..h.offset_end as usize)?);
    let mut segments: Vec<(u32, bool, String)> = Vec::new();
    for (key, val) in params(&value) {
        let Some(rest) = key.strip_prefix(name).and_then(|r| r.strip_prefix('*')) else {
            continue;
        };
        let (index, encoded) = match rest {
            "" => (0, true),
            r => match r.strip_suffix('*') {
                Some(n) => (n.parse().ok()?, true),
                None => (r.parse().ok()?, false),
            },
        };
        segments.push((index, encoded, val));
    }
    if segments.is_empty() {
        return None;
    }
    segments.sort_by_key(|s| s.0);
    let mut charset = None;
    let mut bytes = Vec::new();
    for (i, (_, encoded, val)) in segments.iter().enumerate() {
        let mut val = val.as_str();
        if i == 0 && *encoded {
            // charset'language'value
            let mut pieces = val.splitn(3, '\'');
            if let (Some(cs), Some(_), Some(rest)) = (pieces.next(), pieces.next(), pieces.next()) {
                charset = Some(cs.to_string()).filter(|c| !c.is_empty());
                val = rest;
            }
        }
        if *encoded {
            bytes.extend(percent_decode(val.as_bytes()));
        } else {
            bytes.extend_from_slice(val.as_bytes());
        }
    }
    Some(decode_charset(&bytes, charset.as_deref()))
}

fn percent_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let hex = s
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (s[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// The `name=value` parameters after the first `;` of a header value, names lower-cased,
/// quoted values unquoted.
fn params(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = value.chars().peekable();
    // Skip the type (or disposition) itself.
    for c in chars.by_ref() {
        if c == ';' {
            break;
        }
    }
    loop {
        let mut key = String::new();
        for c in chars.by_ref() {
            if c == '=' || c == ';' {
                break;
            }
            key.push(c);
        }
        let key = key.trim().to_ascii_lowercase();
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => val.extend(chars.next()),
                    '"' => break,
                    '\r' | '\n' => {}
                    c => val.push(c),
                }
            }
            for c in chars.by_ref() {
                if c == ';' {
                    break;
                }
            }
        } else {
            for c in chars.by_ref() {
                if c == ';' {
                    break;
                }
                val.push(c);
            }
            val = val.trim().to_string();
        }
        if !key.is_empty() {
            out.push((key, val));
        }
        if chars.peek().is_none() {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_skips_junk_and_stops_at_padding() {
        assert_eq!(
            base64_lenient(b"UEsD\r\nBBQA AAAI\nAA==\r\n--x"),
            b"PK\x03\x04\x14\x00\x00\x00\x08\x00"
        );
        assert_eq!(base64_lenient(b"YWI"), b"ab");
    }

    #[test]
    fn quoted_printable_keeps_stray_equals() {
        assert_eq!(quoted_printable_lenient(b"a=3Db=\r\nc =ZZ="), b"a=bc =ZZ=");
    }

    #[test]
    fn params_are_split_and_unquoted() {
        assert_eq!(
            params(" attachment; filename=\"a \\\"b\\\";c\";\r\n size=10"),
            vec![
                ("filename".to_string(), "a \"b\";c".to_string()),
                ("size".to_string(), "10".to_string())
            ]
        );
    }

    #[test]
    fn boundary_is_found_after_preamble() {
        let body = b"preamble\r\n-- not one\r\n--real_b\r\nContent-Type: text/plain\r\n\r\nx\r\n--real_b--\r\n";
        assert_eq!(find_boundary(body).as_deref(), Some("real_b"));
        assert_eq!(find_boundary(b"no delimiter here\r\n"), None);
    }
}

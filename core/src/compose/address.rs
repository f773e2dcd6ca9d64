//! Address lists as the user types them: `Ann Smith <a@x.org>, b@y.org, "Doe, J" <j@z>`.
//!
//! Lenient where users are (`;` as a separator, an unquoted name with a comma before an
//! `<address>`, `addr (Name)`), strict where servers are: every address is checked, and
//! the error names the piece that is wrong.

use super::ComposeError;
use crate::store::Address;

/// Longest address SMTP carries (RFC 5321 path limit less the brackets).
const MAX_ADDRESS_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;
const MAX_DOMAIN_LEN: usize = 253;

/// Parses a typed address list. Empty pieces (a trailing comma) are skipped; anything
/// else that is not an address is an error naming it.
pub fn parse_addresses(input: &str) -> Result<Vec<Address>, ComposeError> {
    let pieces = merge_split_names(split_list(input));
    let mut out = Vec::new();
    for piece in pieces {
        let piece = piece.trim();
        if piece.is_empty() {
            continue;
        }
        out.push(parse_mailbox(piece)?);
    }
    Ok(out)
}

/// `Name <email>` as the user would type it, quoting the name when it needs quotes, so
/// that [`parse_addresses`] reads it back unchanged.
pub fn format_address(name: Option<&str>, email: &str) -> String {
    let name: String = name
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let name = name.trim();
    if name.is_empty() {
        return email.to_string();
    }
    let plain = name.chars().all(|c| c == ' ' || is_atext(c));
    if plain && !name.contains("  ") {
        format!("{name} <{email}>")
    } else {
        let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
        format!("\"{escaped}\" <{email}>")
    }
}

fn bad(input: &str, reason: &str) -> ComposeError {
    ComposeError::BadAddress {
        input: input.to_string(),
        reason: reason.to_string(),
    }
}

/// Splits at `,` and `;` outside quotes, angle brackets and parentheses.
fn split_list(input: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let (mut quoted, mut escaped, mut angle, mut paren) = (false, false, false, 0usize);
    let mut start = 0;
    for (i, c) in input.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted || paren > 0 => escaped = true,
            '"' if paren == 0 => quoted = !quoted,
            '<' if !quoted && paren == 0 => angle = true,
            '>' if !quoted && paren == 0 => angle = false,
            '(' if !quoted && !angle => paren += 1,
            ')' if !quoted && !angle => paren = paren.saturating_sub(1),
            ',' | ';' if !quoted && !angle && paren == 0 => {
                pieces.push(&input[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(&input[start..]);
    pieces
}

/// `Doe, J <j@z>` splits into `Doe` and `J <j@z>`: a piece that can only be a name,
/// followed by a `Name <address>` piece, is the front of that name.
fn merge_split_names(pieces: Vec<&str>) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending: Option<&str> = None;
    for piece in pieces {
        let trimmed = piece.trim();
        let name_only = !trimmed.is_empty() && !trimmed.contains(['@', '<', '>', '"']);
        let name_and_address =
            trimmed.ends_with('>') && !trimmed.starts_with(['<', '"']) && trimmed.contains('<');
        if let Some(front) = pending.take() {
            if name_and_address {
                out.push(format!("{front},{piece}"));
                continue;
            }
            out.push(front.to_string());
        }
        if name_only {
            pending = Some(piece);
        } else {
            out.push(piece.to_string());
        }
    }
    out.extend(pending.map(str::to_string));
    out
}

/// One `Name <addr>`, `<addr>`, `addr` or `addr (Name)`.
fn parse_mailbox(piece: &str) -> Result<Address, ComposeError> {
    if piece.contains(['\r', '\n', '\0']) {
        return Err(bad(piece, "contains a line break or NUL character"));
    }
    if let Some(open) = last_unquoted(piece, '<') {
        let rest = &piece[open + 1..];
        let Some(close) = rest.find('>') else {
            return Err(bad(piece, "“<” without a closing “>”"));
        };
        if !rest[close + 1..].trim().is_empty() {
            return Err(bad(piece, "text after the “>”"));
        }
        let email = rest[..close].trim();
        check_email(email).map_err(|reason| bad(piece, reason))?;
        let name = unquote(piece[..open].trim());
        return Ok(Address {
            name: Some(name).filter(|n| !n.is_empty()),
            email: email.to_string(),
        });
    }
    if piece.ends_with(')')
        && let Some(open) = piece.find('(')
    {
        let email = piece[..open].trim();
        check_email(email).map_err(|reason| bad(piece, reason))?;
        let name = piece[open + 1..piece.len() - 1].trim().to_string();
        return Ok(Address {
            name: Some(name).filter(|n| !n.is_empty()),
            email: email.to_string(),
        });
    }
    if piece.contains('>') {
        return Err(bad(piece, "“>” without an opening “<”"));
    }
    check_email(piece).map_err(|reason| bad(piece, reason))?;
    Ok(Address {
        name: None,
        email: piece.to_string(),
    })
}

/// Byte offset of the last `c` outside double quotes.
fn last_unquoted(s: &str, c: char) -> Option<usize> {
    let (mut quoted, mut escaped, mut found) = (false, false, None);
    for (i, ch) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if ch == '\\' && quoted {
            escaped = true;
        } else if ch == '"' {
            quoted = !quoted;
        } else if ch == c && !quoted {
            found = Some(i);
        }
    }
    found
}

/// A display name without its quotes and backslash escapes; inner whitespace kept.
fn unquote(name: &str) -> String {
    if !name.contains('"') {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len());
    let (mut quoted, mut escaped) = (false, false);
    for c in name.chars() {
        if escaped {
            out.push(c);
            escaped = false;
        } else if c == '\\' && quoted {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else {
            out.push(c);
        }
    }
    out.trim().to_string()
}

/// RFC 5322 atext, plus any non-ASCII character (RFC 6532).
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "!#$%&'*+-/=?^_`{|}~".contains(c)
        || (!c.is_ascii() && !c.is_control())
}

/// Checks one bare address; the error is the reason, for the user.
pub(super) fn check_email(email: &str) -> Result<(), &'static str> {
    if email.is_empty() {
        return Err("the address is empty");
    }
    if email.contains(['\r', '\n', '\0']) {
        return Err("contains a line break or NUL character");
    }
    if email.len() > MAX_ADDRESS_LEN {
        return Err("longer than 254 bytes");
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err("no “@” in the address");
    };
    check_local(local)?;
    check_domain(domain)
}

fn check_local(local: &str) -> Result<(), &'static str> {
    if local.is_empty() {
        return Err("nothing before the “@”");
    }
    if local.len() > MAX_LOCAL_LEN {
        return Err("the part before the “@” is longer than 64 bytes");
    }
    if let Some(inner) = local.strip_prefix('"') {
        let Some(inner) = inner.strip_suffix('"') else {
            return Err("an unclosed quote before the “@”");
        };
        let mut escaped = false;
        for c in inner.chars() {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' || c.is_control() {
                return Err("a stray quote or control character before the “@”");
            }
        }
        return if escaped {
            Err("a stray backslash before the “@”")
        } else {
            Ok(())
        };
    }
    if local.chars().any(char::is_whitespace) {
        return Err("contains a space");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("misplaced “.” before the “@”");
    }
    if !local.chars().all(|c| c == '.' || is_atext(c)) {
        return Err("a character not allowed before the “@”");
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), &'static str> {
    if domain.is_empty() {
        return Err("nothing after the “@”");
    }
    if domain.chars().any(char::is_whitespace) {
        return Err("contains a space");
    }
    if let Some(literal) = domain.strip_prefix('[') {
        let ok = literal.strip_suffix(']').is_some_and(|inner| {
            !inner.is_empty()
                && inner
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".:-".contains(c))
        });
        return if ok {
            Ok(())
        } else {
            Err("a malformed address literal after the “@”")
        };
    }
    if domain.len() > MAX_DOMAIN_LEN {
        return Err("the domain is longer than 253 bytes");
    }
    for label in domain.split('.') {
        if label.is_empty() {
            return Err("misplaced “.” in the domain");
        }
        if label.len() > 63 {
            return Err("a domain label is longer than 63 bytes");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a domain label starts or ends with “-”");
        }
        if !label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && !c.is_control()))
        {
            return Err("a character not allowed in the domain");
        }
    }
    if !domain.is_ascii() && idna::domain_to_ascii(domain).is_err() {
        return Err("not a valid international domain name");
    }
    Ok(())
}

/// The address as it travels: the domain in its ASCII (A-label) form, so an
/// international domain needs no SMTPUTF8; the local part as typed.
pub(super) fn wire_form(email: &str) -> String {
    match email.rsplit_once('@') {
        Some((local, domain)) if !domain.is_ascii() => match idna::domain_to_ascii(domain) {
            Ok(ascii) => format!("{local}@{ascii}"),
            Err(_) => email.to_string(),
        },
        _ => email.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn addr(name: Option<&str>, email: &str) -> Address {
        Address {
            name: name.map(str::to_string),
            email: email.to_string(),
        }
    }

    #[test]
    fn the_usual_forms() {
        let got =
            parse_addresses(r#"Ann Smith <a@x.org>, b@y.org; "Doe, J" <j@z>, <c@d>, e@f (Eve)"#)
                .unwrap();
        assert_eq!(
            got,
            vec![
                addr(Some("Ann Smith"), "a@x.org"),
                addr(None, "b@y.org"),
                addr(Some("Doe, J"), "j@z"),
                addr(None, "c@d"),
                addr(Some("Eve"), "e@f"),
            ]
        );
    }

    #[test]
    fn unquoted_comma_in_a_name_is_joined() {
        assert_eq!(
            parse_addresses("Doe, John <j@z.org>, x@y").unwrap(),
            vec![addr(Some("Doe, John"), "j@z.org"), addr(None, "x@y")]
        );
    }

    #[test]
    fn empty_pieces_are_skipped() {
        assert_eq!(
            parse_addresses(" , a@b, ,").unwrap(),
            vec![addr(None, "a@b")]
        );
        assert!(parse_addresses("").unwrap().is_empty());
    }

    #[test]
    fn utf8_and_idn_are_allowed() {
        let got = parse_addresses("Jürgen <jürgen@bücher.example>, 用户@例子.广告").unwrap();
        assert_eq!(got[0], addr(Some("Jürgen"), "jürgen@bücher.example"));
        assert_eq!(got[1], addr(None, "用户@例子.广告"));
        assert_eq!(wire_form("a@bücher.example"), "a@xn--bcher-kva.example");
    }

    #[test]
    fn errors_name_the_bad_piece() {
        let err = parse_addresses("a@b, Bob bob.example.org, c@d").unwrap_err();
        assert_eq!(
            err,
            ComposeError::BadAddress {
                input: "Bob bob.example.org".into(),
                reason: "no “@” in the address".into()
            }
        );
        for bad_input in [
            "a@", "@b", "a@@b", "a@b..c", "<a@b", "a b@c", "a@-b", ".a@b",
        ] {
            assert!(parse_addresses(bad_input).is_err(), "{bad_input} accepted");
        }
    }

    #[test]
    fn line_breaks_and_nul_are_refused() {
        for input in ["a@b\r\nBcc: evil@x", "Ann\n <a@b>", "a\0@b"] {
            assert!(
                matches!(parse_addresses(input), Err(ComposeError::BadAddress { .. })),
                "{input:?}"
            );
        }
    }

    #[test]
    fn formatted_addresses_read_back() {
        for (name, email) in [
            (Some("Ann Smith"), "a@x.org"),
            (Some("Doe, J"), "j@z"),
            (Some("Say \"hi\" \\ there"), "h@x"),
            (Some("Ζωή Παπαδοπούλου"), "z@x.gr"),
            (None, "b@y"),
        ] {
            let text = format_address(name, email);
            assert_eq!(
                parse_addresses(&text).unwrap(),
                vec![addr(name, email)],
                "{text}"
            );
        }
    }
}

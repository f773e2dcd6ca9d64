//! `mailto:` links (RFC 6068) as the composer's starting fields.
//!
//! Only To, Cc, Bcc, Subject and Body are taken; any other header a link names is
//! ignored, so a link cannot set In-Reply-To or anything else behind the user's back.
//! Line breaks can only reach the body: in the other fields they become spaces.

/// The fields a `mailto:` link fills.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailTo {
    pub to: String,
    pub cc: String,
    pub bcc: String,
    pub subject: String,
    pub body: String,
}

/// Decodes `%XX` escapes (as UTF-8, invalid sequences replaced); `+` stays a plus, as
/// RFC 6068 says.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn one_line(s: String) -> String {
    s.replace(['\r', '\n', '\0'], " ")
}

fn append(list: &mut String, more: &str) {
    let more = more.trim();
    if more.is_empty() {
        return;
    }
    if !list.is_empty() {
        list.push_str(", ");
    }
    list.push_str(more);
}

/// The fields of `url`; anything that is not a `mailto:` link gives empty fields.
pub fn parse(url: &str) -> MailTo {
    let mut out = MailTo::default();
    let url = url.trim();
    let Some(rest) = url
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("mailto:"))
        .map(|_| &url[7..])
    else {
        return out;
    };
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    append(&mut out.to, &one_line(percent_decode(path)));
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        match key.to_ascii_lowercase().as_str() {
            "to" => append(&mut out.to, &one_line(value)),
            "cc" => append(&mut out.cc, &one_line(value)),
            "bcc" => append(&mut out.bcc, &one_line(value)),
            "subject" => out.subject = one_line(value),
            "body" => out.body = value.replace("\r\n", "\n"),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_fills_the_fields_it_names_and_no_others() {
        let m = parse(
            "MAILTO:ann@example.org,bob@example.org?cc=c%40example.org&subject=Hello%20%C3%BCber%0D%0ABcc:%20x@evil&body=Line%201%0D%0ALine%202&in-reply-to=%3Cx%40y%3E",
        );
        assert_eq!(m.to, "ann@example.org,bob@example.org");
        assert_eq!(m.cc, "c@example.org");
        assert_eq!(m.subject, "Hello über  Bcc: x@evil");
        assert_eq!(m.body, "Line 1\nLine 2");
        assert_eq!(parse("https://example.org"), MailTo::default());
        assert_eq!(parse("mailto:a@b.c?to=d@e.f").to, "a@b.c, d@e.f");
        assert_eq!(parse("mailto:%zz").to, "%zz");
    }
}

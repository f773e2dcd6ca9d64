//! The text/html alternative generated from the plain text the user wrote: escaped,
//! paragraphs and line breaks kept, `> ` quotes as `<blockquote>`, URLs as links, the
//! `-- ` signature kept. It refers to nothing outside the message: no remote image, no
//! stylesheet; inline images only as `cid:` parts of the same message.

/// An image of the message shown in the HTML part.
#[derive(Clone, Copy, Debug)]
pub struct InlineImage<'a> {
    /// Content-ID without `<>`.
    pub content_id: &'a str,
    /// Text shown when the image is not.
    pub alt: &'a str,
}

const BLOCKQUOTE: &str = "<blockquote type=\"cite\" style=\"margin:0 0 0 .8ex;border-left:2px solid #ccc;padding-left:1ex\">";

/// A whole HTML document for `text`; `images` are shown after the text, in order.
pub fn text_to_html(text: &str, images: &[InlineImage<'_>]) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = text.split('\n').collect();
    // The last `-- ` line outside quotes starts the signature (RFC 3676 4.3).
    let signature_at = lines.iter().rposition(|l| *l == "-- ");

    let mut out = String::with_capacity(text.len() * 2 + 200);
    out.push_str(
        "<!DOCTYPE html>\n<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"></head>\n<body>\n",
    );
    let mut depth = 0;
    let mut in_paragraph = false;
    for (i, line) in lines.iter().enumerate() {
        if Some(i) == signature_at {
            close_paragraph(&mut out, &mut in_paragraph);
            set_depth(&mut out, &mut depth, 0);
            out.push_str("<div class=\"signature\">\n<p>--&nbsp;");
            in_paragraph = true;
            continue;
        }
        let (line_depth, content) = quote_depth(line);
        if line_depth != depth {
            close_paragraph(&mut out, &mut in_paragraph);
            set_depth(&mut out, &mut depth, line_depth);
        }
        if content.trim().is_empty() {
            close_paragraph(&mut out, &mut in_paragraph);
            continue;
        }
        if in_paragraph {
            out.push_str("<br>\n");
        } else {
            out.push_str("<p>");
            in_paragraph = true;
        }
        push_line(&mut out, content);
    }
    close_paragraph(&mut out, &mut in_paragraph);
    set_depth(&mut out, &mut depth, 0);
    if signature_at.is_some() {
        out.push_str("</div>\n");
    }
    for image in images {
        out.push_str("<p><img src=\"cid:");
        out.push_str(&escape(image.content_id));
        out.push_str("\" alt=\"");
        out.push_str(&escape(image.alt));
        out.push_str("\"></p>\n");
    }
    out.push_str("</body></html>\n");
    out
}

fn close_paragraph(out: &mut String, in_paragraph: &mut bool) {
    if std::mem::take(in_paragraph) {
        out.push_str("</p>\n");
    }
}

fn set_depth(out: &mut String, depth: &mut usize, to: usize) {
    while *depth < to {
        out.push_str(BLOCKQUOTE);
        out.push('\n');
        *depth += 1;
    }
    while *depth > to {
        out.push_str("</blockquote>\n");
        *depth -= 1;
    }
}

/// How deeply a line is quoted (`>`, `> >`, `>>`) and the text after the markers.
fn quote_depth(line: &str) -> (usize, &str) {
    let mut depth = 0;
    let mut rest = line;
    while let Some(after) = rest.strip_prefix('>') {
        depth += 1;
        let trimmed = after.trim_start_matches(' ');
        rest = if trimmed.starts_with('>') {
            trimmed
        } else {
            after
        };
    }
    let content = if depth > 0 {
        rest.strip_prefix(' ').unwrap_or(rest)
    } else {
        rest
    };
    (depth, content)
}

/// One line: links for URLs, the rest escaped with its spacing kept.
fn push_line(out: &mut String, line: &str) {
    let line = line.replace('\t', "    ");
    let lower = line.to_ascii_lowercase();
    let mut pos = 0;
    let mut spaces = Spaces { previous: true };
    while let Some((start, end)) = next_url(&line, &lower, pos) {
        spaces.push(out, &line[pos..start]);
        let url = escape(&line[start..end]);
        out.push_str("<a href=\"");
        out.push_str(&url);
        out.push_str("\">");
        out.push_str(&url);
        out.push_str("</a>");
        spaces.previous = false;
        pos = end;
    }
    spaces.push(out, &line[pos..]);
}

/// Keeps runs of spaces visible: every space that follows a space (or starts the line)
/// becomes `&nbsp;`.
struct Spaces {
    previous: bool,
}

impl Spaces {
    fn push(&mut self, out: &mut String, text: &str) {
        for c in text.chars() {
            if c == ' ' {
                out.push_str(if self.previous { "&nbsp;" } else { " " });
                self.previous = true;
                continue;
            }
            self.previous = false;
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                c if c.is_control() => {}
                c => out.push(c),
            }
        }
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The next http, https or mailto URL at or after `from`: (start, end) byte offsets,
/// trailing punctuation left out.
fn next_url(line: &str, lower: &str, from: usize) -> Option<(usize, usize)> {
    let mut search = from;
    loop {
        let start = ["https://", "http://", "mailto:"]
            .iter()
            .filter_map(|scheme| {
                lower[search..]
                    .find(scheme)
                    .map(|i| (search + i, scheme.len()))
            })
            .min_by_key(|(i, _)| *i);
        let (start, scheme_len) = start?;
        let after_word = line[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let mut end = line[start..]
            .find(|c: char| c.is_whitespace() || c.is_control() || "<>\"'`".contains(c))
            .map_or(line.len(), |i| start + i);
        while end > start {
            let last = line[..end].chars().next_back().unwrap_or(' ');
            let unbalanced = |open: char, close: char| {
                last == close
                    && line[start..end].matches(open).count()
                        < line[start..end].matches(close).count()
            };
            if ".,;:!?".contains(last) || unbalanced('(', ')') || unbalanced('[', ']') {
                end -= last.len_utf8();
            } else {
                break;
            }
        }
        if after_word && end > start + scheme_len {
            return Some((start, end));
        }
        search = start + scheme_len;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn body(text: &str) -> String {
        let html = text_to_html(text, &[]);
        let start = html.find("<body>\n").unwrap() + 7;
        let end = html.find("</body>").unwrap();
        html[start..end].to_string()
    }

    #[test]
    fn paragraphs_and_line_breaks() {
        assert_eq!(
            body("Hello <you> & \"them\"\nsecond line\n\n\nnew paragraph"),
            "<p>Hello &lt;you&gt; &amp; &quot;them&quot;<br>\nsecond line</p>\n<p>new paragraph</p>\n"
        );
    }

    #[test]
    fn quotes_nest() {
        assert_eq!(
            body("On Monday, Ann wrote:\n> top\n> > deeper\n>> still deeper\n> back\nme"),
            format!(
                "<p>On Monday, Ann wrote:</p>\n{BLOCKQUOTE}\n<p>top</p>\n{BLOCKQUOTE}\n<p>deeper<br>\nstill deeper</p>\n</blockquote>\n<p>back</p>\n</blockquote>\n<p>me</p>\n"
            )
        );
    }

    #[test]
    fn urls_become_links() {
        assert_eq!(
            body("See https://example.org/a?b=1&c=(2). Or mailto:a@b.org, not xhttp://no"),
            "<p>See <a href=\"https://example.org/a?b=1&amp;c=(2)\">https://example.org/a?b=1&amp;c=(2)</a>. Or <a href=\"mailto:a@b.org\">mailto:a@b.org</a>, not xhttp://no</p>\n"
        );
    }

    #[test]
    fn no_script_links() {
        assert!(!body("javascript:alert(1) <script>x</script>").contains("<a"));
        assert!(!body("<script>x</script>").contains("<script"));
    }

    #[test]
    fn spaces_and_signature_are_kept() {
        assert_eq!(
            body("a  b\n  indented\n\n-- \nAnn"),
            "<p>a &nbsp;b<br>\n&nbsp;&nbsp;indented</p>\n<div class=\"signature\">\n<p>--&nbsp;<br>\nAnn</p>\n</div>\n"
        );
    }

    #[test]
    fn images_by_content_id_only() {
        let html = text_to_html(
            "x",
            &[InlineImage {
                content_id: "img1@tern",
                alt: "pic \"1\"",
            }],
        );
        assert!(html.contains("<img src=\"cid:img1@tern\" alt=\"pic &quot;1&quot;\">"));
        assert!(!html.contains("://"));
    }
}

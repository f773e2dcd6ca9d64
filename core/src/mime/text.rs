//! Plain text from HTML (for HTML-only mail and the full-text index), and HTML from
//! plain text (for a text part shown between HTML parts).
//!
//! Written by hand on html5ever's tokenizer (already built for ammonia) rather than
//! pulling in html2text, which needs another html5ever version. A token stream needs no
//! tree, so hostile nesting costs nothing.

use std::cell::RefCell;

use html5ever::TokenizerResult;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

/// Elements whose content is never text the reader should see.
fn is_hidden(tag: &str) -> bool {
    matches!(
        tag,
        "script"
            | "style"
            | "title"
            | "template"
            | "noscript"
            | "iframe"
            | "object"
            | "svg"
            | "math"
            | "select"
            | "textarea"
            | "noembed"
            | "noframes"
            | "xmp"
    )
}

/// Elements whose content the tokenizer must read as raw text, as a browser does.
fn raw_kind(tag: &str) -> Option<RawKind> {
    match tag {
        "script" => Some(RawKind::ScriptData),
        "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => Some(RawKind::Rawtext),
        "title" | "textarea" => Some(RawKind::Rcdata),
        _ => None,
    }
}

/// Elements that start and end on their own line.
fn is_block(tag: &str) -> bool {
    matches!(
        tag,
        "address"
            | "article"
            | "aside"
            | "blockquote"
            | "center"
            | "dd"
            | "details"
            | "dialog"
            | "div"
            | "dl"
            | "dt"
            | "fieldset"
            | "figcaption"
            | "figure"
            | "footer"
            | "form"
            | "header"
            | "hgroup"
            | "hr"
            | "li"
            | "main"
            | "nav"
            | "ol"
            | "section"
            | "summary"
            | "table"
            | "tr"
            | "ul"
            | "caption"
            | "thead"
            | "tbody"
            | "tfoot"
            | "body"
            | "html"
    )
}

/// Elements set off by a blank line.
fn is_paragraph(tag: &str) -> bool {
    matches!(tag, "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "pre")
}

/// Builds text while collapsing HTML whitespace the way a browser would.
#[derive(Default)]
struct Writer {
    out: String,
    /// Line breaks owed before the next text (blocks ask for 1, paragraphs for 2).
    breaks: usize,
    /// Breaks written by `<br>`, which add up instead of merging.
    hard_breaks: usize,
    space: bool,
    pre: usize,
    /// Open elements whose content is hidden, innermost last.
    hidden: Vec<String>,
    limit: usize,
}

impl Writer {
    fn block(&mut self, n: usize) {
        self.breaks = self.breaks.max(n);
        self.space = false;
    }

    fn br(&mut self) {
        self.hard_breaks += 1;
        self.space = false;
    }

    fn flush_breaks(&mut self) {
        if !self.out.is_empty() {
            let n = (self.breaks.max(self.hard_breaks)).min(2);
            for _ in 0..n {
                self.out.push('\n');
            }
            if n == 0 && self.space && !self.out.ends_with([' ', '\n']) {
                self.out.push(' ');
            }
        }
        self.breaks = 0;
        self.hard_breaks = 0;
        self.space = false;
    }

    fn text(&mut self, s: &str) {
        if self.pre > 0 {
            if !s.is_empty() {
                self.flush_breaks();
                self.out.push_str(&s.replace("\r\n", "\n"));
            }
            return;
        }
        let starts_space = s.starts_with(|c: char| c.is_whitespace());
        let ends_space = s.ends_with(|c: char| c.is_whitespace());
        self.space |= starts_space;
        let mut first = true;
        for word in s.split_whitespace() {
            if first {
                self.flush_breaks();
                first = false;
            } else {
                self.out.push(' ');
            }
            self.out.push_str(word);
        }
        if !first {
            self.space = ends_space;
        }
    }

    fn start_tag(&mut self, tag: &str, alt: Option<&str>, self_closing: bool) {
        if is_hidden(tag) {
            if !self_closing {
                self.hidden.push(tag.to_string());
            }
            return;
        }
        if tag == "body" {
            // A missing end tag in the head must not hide the whole body.
            self.hidden.clear();
        }
        if !self.hidden.is_empty() {
            return;
        }
        match tag {
            "br" => self.br(),
            "img" => {
                if let Some(alt) = alt.map(str::trim).filter(|a| !a.is_empty()) {
                    self.text(&format!(" [{alt}] "));
                }
            }
            "pre" => self.pre += 1,
            _ => {}
        }
        if is_paragraph(tag) {
            self.block(2);
        } else if is_block(tag) {
            self.block(1);
        }
        if tag == "li" {
            self.flush_breaks();
            self.out.push_str("- ");
        }
    }

    fn end_tag(&mut self, tag: &str) {
        if let Some(pos) = self.hidden.iter().rposition(|t| t == tag) {
            self.hidden.truncate(pos);
            return;
        }
        if !self.hidden.is_empty() {
            return;
        }
        if tag == "pre" {
            self.pre = self.pre.saturating_sub(1);
        }
        if tag == "br" {
            self.br();
        } else if is_paragraph(tag) {
            self.block(2);
        } else if is_block(tag) {
            self.block(1);
        } else if tag == "td" || tag == "th" {
            self.space = true;
        }
    }
}

struct Sink(RefCell<Writer>);

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut w = self.0.borrow_mut();
        if w.out.len() >= w.limit {
            return TokenSinkResult::Continue;
        }
        match token {
            Token::TagToken(tag) => {
                let name: &str = &tag.name;
                match tag.kind {
                    TagKind::StartTag => {
                        let alt = tag
                            .attrs
                            .iter()
                            .find(|a| &*a.name.local == "alt")
                            .map(|a| a.value.to_string());
                        w.start_tag(name, alt.as_deref(), tag.self_closing);
                        if let Some(kind) = raw_kind(name) {
                            return TokenSinkResult::RawData(kind);
                        }
                    }
                    TagKind::EndTag => w.end_tag(name),
                }
            }
            Token::CharacterTokens(text) if w.hidden.is_empty() => w.text(&text),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// Renders HTML as readable plain text, at most about `limit` bytes.
pub(crate) fn html_to_text(html: &str, limit: usize) -> String {
    let sink = Sink(RefCell::new(Writer {
        limit,
        ..Writer::default()
    }));
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let queue = BufferQueue::default();
    queue.push_back(StrTendril::from(html));
    while let TokenizerResult::Script(()) = tokenizer.feed(&queue) {}
    tokenizer.end();
    let mut out = std::mem::take(&mut tokenizer.sink.0.borrow_mut().out);
    truncate_bytes(&mut out, limit);
    // Trailing spaces on a line are invisible noise.
    let mut cleaned: String = out
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n");
    cleaned.truncate(cleaned.trim_end().len());
    cleaned
}

/// Cuts a string to at most `max` bytes on a character boundary.
pub(crate) fn truncate_bytes(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
}

/// Escapes plain text for HTML and keeps its line breaks.
pub(crate) fn text_to_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    out.push_str("<pre>");
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push_str("</pre>");
    out
}

/// Joins the soft line breaks of a `format=flowed` text part (RFC 3676) so the text
/// re-wraps to the reader's window; quote depth is kept as `>` prefixes.
pub(crate) fn unflow(text: &str, delsp: bool) -> String {
    fn emit(out: &mut String, depth: usize, line: &str) {
        for _ in 0..depth {
            out.push('>');
        }
        if depth > 0 && !line.is_empty() {
            out.push(' ');
        }
        out.push_str(line);
        out.push('\n');
    }
    let mut out = String::with_capacity(text.len());
    let mut open: Option<(usize, String)> = None;
    for line in text.trim_end_matches('\n').split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let depth = line.chars().take_while(|&c| c == '>').count();
        let content = line.get(depth..).unwrap_or_default();
        let content = content.strip_prefix(' ').unwrap_or(content);
        let flowed = content.ends_with(' ') && content != "-- ";
        let piece = match content.strip_suffix(' ') {
            Some(cut) if flowed && delsp => cut,
            _ => content,
        };
        match &mut open {
            Some((d, buf)) if *d == depth => buf.push_str(piece),
            _ => {
                if let Some((d, buf)) = open.take() {
                    emit(&mut out, d, &buf);
                }
                open = Some((depth, piece.to_string()));
            }
        }
        if !flowed && let Some((d, buf)) = open.take() {
            emit(&mut out, d, &buf);
        }
    }
    if let Some((d, buf)) = open.take() {
        emit(&mut out, d, &buf);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_and_breaks() {
        let html = "<html><head><title>T</title><style>p{}</style></head><body>\
                    <p>Hello <b>world</b>,</p><p>line1<br>line2</p>\
                    <ul><li>one</li><li>two</li></ul><script>alert(1)</script>end</body></html>";
        assert_eq!(
            html_to_text(html, 1 << 16),
            "Hello world,\n\nline1\nline2\n\n- one\n- two\nend"
        );
    }

    #[test]
    fn whitespace_collapses_but_pre_keeps_it() {
        let html = "<div>  a \n  b </div><pre>x  y\n z</pre><div>&amp;&lt;</div>";
        assert_eq!(html_to_text(html, 1 << 16), "a b\n\nx  y\n z\n\n&<");
    }

    #[test]
    fn table_cells_are_spaced() {
        let html = "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>";
        assert_eq!(html_to_text(html, 1 << 16), "a b\nc");
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let html = "<div>".repeat(100_000) + "deep";
        assert_eq!(html_to_text(&html, 1 << 16), "deep");
    }

    #[test]
    fn limit_is_respected() {
        let html = "<p>é</p>".repeat(10_000);
        assert!(html_to_text(&html, 1000).len() <= 1000);
    }

    #[test]
    fn flowed_lines_are_joined() {
        let text = "Hello this is \r\na long line.\r\n\r\n> quoted \r\n> more\r\n>> deep\r\n \r\n-- \r\nsig\r\n";
        assert_eq!(
            unflow(text, false),
            "Hello this is a long line.\n\n> quoted more\n>> deep\n\n-- \nsig\n"
        );
        assert_eq!(unflow("ab \ncd\n", true), "abcd\n");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            text_to_html("a<b>&\"'\r\nc"),
            "<pre>a&lt;b&gt;&amp;&quot;&#39;\nc</pre>"
        );
    }
}

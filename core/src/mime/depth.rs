//! Caps element nesting before HTML reaches the tree builder.
//!
//! html5ever checks "in scope" by walking the stack of open elements, so a hostile body
//! of 30,000 nested `<div><b><i>` takes minutes to parse. Browsers cap tree depth
//! for the same reason (Blink at 512). When a body nests deeper than [`MAX_DEPTH`], it is
//! re-serialised from its tokens with the deeper tags left out; their text stays.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;

use html5ever::TokenizerResult;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

/// Deepest nesting passed on to the tree builder.
pub(crate) const MAX_DEPTH: usize = 512;

/// Elements that never have an end tag.
fn is_void(tag: &str) -> bool {
    matches!(
        tag,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
            | "frame"
            | "keygen"
    )
}

/// Elements whose end tag is often left out: the tree builder closes them itself, so
/// counting them would mistake a long list of `<p>` for deep nesting.
fn closes_itself(tag: &str) -> bool {
    matches!(
        tag,
        "p" | "li"
            | "dt"
            | "dd"
            | "td"
            | "th"
            | "tr"
            | "tbody"
            | "thead"
            | "tfoot"
            | "option"
            | "optgroup"
            | "rb"
            | "rt"
            | "rp"
            | "rtc"
            | "colgroup"
            | "caption"
            | "html"
            | "head"
            | "body"
    )
}

/// Elements the sanitiser removes with their content, read raw by the tokenizer.
fn raw_kind(tag: &str) -> Option<RawKind> {
    match tag {
        "script" => Some(RawKind::ScriptData),
        "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => Some(RawKind::Rawtext),
        "title" | "textarea" => Some(RawKind::Rcdata),
        _ => None,
    }
}

#[derive(Default)]
struct State {
    /// Open counted elements and whether each was kept.
    open: Vec<(String, bool)>,
    /// How many of each name are in `open`, so a stray end tag costs no scan (a flood of
    /// them would otherwise be quadratic).
    counts: HashMap<String, usize>,
    deepest: usize,
    /// Inside a raw-text element being dropped.
    in_raw: Option<String>,
    /// The rewritten HTML; `None` on the measuring pass.
    out: Option<String>,
}

impl State {
    fn start(&mut self, name: &str, attrs: &[html5ever::Attribute], self_closing: bool) {
        let counted = !is_void(name) && !closes_itself(name) && !self_closing;
        let keep = !counted || self.open.len() < MAX_DEPTH;
        if counted {
            self.open.push((name.to_string(), keep));
            *self.counts.entry(name.to_string()).or_default() += 1;
            self.deepest = self.deepest.max(self.open.len());
        }
        if let (Some(out), true) = (&mut self.out, keep) {
            out.push('<');
            out.push_str(name);
            for a in attrs {
                out.push(' ');
                out.push_str(&a.name.local);
                out.push_str("=\"");
                escape(out, &a.value, true);
                out.push('"');
            }
            out.push_str(if self_closing { "/>" } else { ">" });
        }
    }

    fn end(&mut self, name: &str) {
        let open = self.counts.get(name).is_some_and(|&n| n > 0);
        let pos = if open {
            self.open.iter().rposition(|(n, _)| n == name)
        } else {
            None
        };
        let keep = match pos {
            Some(pos) => {
                let keep = self.open[pos].1;
                // Everything scanned over is closed too, so scanning stays linear overall.
                for (closed, _) in self.open.drain(pos..) {
                    if let Some(n) = self.counts.get_mut(&closed) {
                        *n = n.saturating_sub(1);
                    }
                }
                keep
            }
            None => true,
        };
        if let (Some(out), true) = (&mut self.out, keep) {
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
    }
}

fn escape(out: &mut String, s: &str, attribute: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\0' => {}
            c => out.push(c),
        }
    }
}

struct Sink(RefCell<State>);

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut st = self.0.borrow_mut();
        if let Some(raw) = &st.in_raw {
            // Only the matching end tag leaves a raw-text element.
            if let Token::TagToken(tag) = &token
                && tag.kind == TagKind::EndTag
                && &*tag.name == raw.as_str()
            {
                st.in_raw = None;
            }
            return TokenSinkResult::Continue;
        }
        match token {
            Token::TagToken(tag) => match tag.kind {
                TagKind::StartTag => {
                    if let Some(kind) = raw_kind(&tag.name) {
                        st.in_raw = Some(tag.name.to_string());
                        return TokenSinkResult::RawData(kind);
                    }
                    st.start(&tag.name, &tag.attrs, tag.self_closing);
                }
                TagKind::EndTag => st.end(&tag.name),
            },
            Token::CharacterTokens(text) => {
                if let Some(out) = &mut st.out {
                    escape(out, &text, false);
                }
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

fn run(html: &str, rewrite: bool) -> State {
    let state = State {
        out: rewrite.then(|| String::with_capacity(html.len())),
        ..State::default()
    };
    let tokenizer = Tokenizer::new(Sink(RefCell::new(state)), TokenizerOpts::default());
    let queue = BufferQueue::default();
    queue.push_back(StrTendril::from(html));
    while let TokenizerResult::Script(()) = tokenizer.feed(&queue) {}
    tokenizer.end();
    tokenizer.sink.0.take()
}

/// `html` unchanged when it nests no deeper than [`MAX_DEPTH`], else rewritten so it does
/// not. The rewrite drops comments, doctypes and raw-text elements (scripts, styles),
/// which the sanitiser would remove anyway.
pub(crate) fn limit_depth(html: &str) -> Cow<'_, str> {
    if run(html, false).deepest <= MAX_DEPTH {
        return Cow::Borrowed(html);
    }
    Cow::Owned(run(html, true).out.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shallow_html_is_untouched() {
        let html = "<p>a<p>b<ul><li>c<li>d</ul><script>x<y</script>";
        assert!(matches!(limit_depth(html), Cow::Borrowed(_)));
    }

    #[test]
    fn deep_html_is_flattened_but_keeps_text() {
        let html = format!(
            "{}deep{}",
            "<div>".repeat(MAX_DEPTH + 10),
            "</div>".repeat(MAX_DEPTH + 10)
        );
        let out = limit_depth(&html);
        assert_eq!(out.matches("<div>").count(), MAX_DEPTH);
        assert_eq!(out.matches("</div>").count(), MAX_DEPTH);
        assert!(out.contains("deep"));
    }

    #[test]
    fn rewrite_escapes_and_drops_scripts() {
        let html = format!(
            "{}{}<a title=\"x&quot;y\">1 &lt; 2</a><script>alert('</div>')</script>",
            "<b>".repeat(MAX_DEPTH + 1),
            "</b>".repeat(MAX_DEPTH + 1)
        );
        let out = limit_depth(&html);
        assert!(out.ends_with("<a title=\"x&quot;y\">1 &lt; 2</a>"), "{out}");
    }
}

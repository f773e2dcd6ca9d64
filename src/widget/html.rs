//! Sanitised HTML mail (from `tern_core::mime`) read into a [`Document`] of blocks the
//! reader draws as rich text: headings, paragraphs, lists, quotes, preformatted text,
//! rules, links and images. No web engine and nothing fetched here: images are parts of
//! the message (`tern-part:N`), `data:` URLs, or remote images the sanitiser held back
//! (`tern-remote:…`), which [`crate::remote`] fetches only once the user allows it.
//!
//! Walks html5ever's token stream (no tree), as tern-core's html-to-text does, so hostile
//! nesting costs nothing; sizes are capped so a huge body cannot stall the reader.

use base64::Engine as _;
use html5ever::TokenizerResult;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use std::cell::RefCell;
use tern_core::mime::html::{PART_SCHEME, remote_image_url};

/// Most blocks a document keeps; the rest of a giant body is dropped.
const MAX_BLOCKS: usize = 20_000;
/// Most bytes of text a document keeps.
const MAX_TEXT: usize = 2 * 1024 * 1024;
/// Most bytes of one `data:` image.
const MAX_DATA_IMAGE: usize = 8 * 1024 * 1024;

/// A message body ready to draw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Document {
    pub blocks: Vec<Block>,
}

/// One block and where it stands: inside how many quotes, how far indented.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub kind: BlockKind,
    /// Blockquote nesting.
    pub quote: u8,
    /// List nesting.
    pub indent: u8,
}

#[derive(Clone, Debug, PartialEq)]
pub enum BlockKind {
    Text {
        style: TextStyle,
        /// A list item's bullet or number.
        marker: Option<String>,
        spans: Vec<Span>,
    },
    Image {
        source: ImageSource,
        alt: String,
    },
    Rule,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextStyle {
    Paragraph,
    /// `h1`..`h6`.
    Heading(u8),
    Preformatted,
}

/// Where an image's bytes are.
#[derive(Clone, Debug, PartialEq)]
pub enum ImageSource {
    /// A part of the same message ([`tern_core::mime::Attachment::index`]).
    Part(usize),
    /// Decoded bytes of a `data:` URL.
    Data(Vec<u8>),
    /// An http(s) image the sanitiser held back: loaded only with the user's consent.
    Remote(String),
}

/// A run of text with one style.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub text: String,
    pub bold: bool,
    pub italic: bool,
    pub underline: bool,
    pub strike: bool,
    pub code: bool,
    /// The link's real target.
    pub link: Option<String>,
    /// Text Tern added: the real target after a link whose text does not show it.
    pub hint: bool,
}

impl Span {
    fn same_style(&self, other: &Span) -> bool {
        self.bold == other.bold
            && self.italic == other.italic
            && self.underline == other.underline
            && self.strike == other.strike
            && self.code == other.code
            && self.link == other.link
            && self.hint == other.hint
    }
}

impl Document {
    /// All the text, for tests and for copying.
    pub fn plain_text(&self) -> String {
        let mut out = String::new();
        for block in &self.blocks {
            if let BlockKind::Text { marker, spans, .. } = &block.kind {
                if let Some(m) = marker {
                    out.push_str(m);
                    out.push(' ');
                }
                for s in spans {
                    out.push_str(&s.text);
                }
                out.push('\n');
            }
        }
        out
    }

    /// The remote images the document shows, each URL once, in order.
    pub fn remote_images(&self) -> Vec<&str> {
        let mut seen = std::collections::HashSet::new();
        self.blocks
            .iter()
            .filter_map(|b| match &b.kind {
                BlockKind::Image {
                    source: ImageSource::Remote(url),
                    ..
                } => Some(url.as_str()),
                _ => None,
            })
            .filter(|url| seen.insert(*url))
            .collect()
    }

    /// The targets of every link, in order.
    pub fn links(&self) -> Vec<&str> {
        self.blocks
            .iter()
            .filter_map(|b| match &b.kind {
                BlockKind::Text { spans, .. } => Some(spans),
                _ => None,
            })
            .flatten()
            .filter(|s| !s.hint)
            .filter_map(|s| s.link.as_deref())
            .collect()
    }
}

/// Reads sanitised HTML into a document.
pub fn parse(html: &str) -> Document {
    let sink = Sink(RefCell::new(Builder::default()));
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let queue = BufferQueue::default();
    queue.push_back(StrTendril::from(html));
    while let TokenizerResult::Script(()) = tokenizer.feed(&queue) {}
    tokenizer.end();
    let mut builder = tokenizer.sink.0.take();
    builder.flush();
    Document {
        blocks: builder.blocks,
    }
}

/// The host a URL really goes to (userinfo tricks like `https://bank.example@evil.test`
/// resolved), or a mailto's address.
pub fn target_label(url: &str) -> String {
    if let Some(rest) = url.strip_prefix("mailto:") {
        return rest.split('?').next().unwrap_or(rest).to_string();
    }
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = authority.rsplit('@').next().unwrap_or(authority);
    host.to_ascii_lowercase()
}

/// True when a link's text already shows where it goes, so no hint is needed.
fn text_shows_target(text: &str, url: &str) -> bool {
    let norm = |s: &str| {
        let s = s.trim().to_ascii_lowercase();
        let s = s
            .strip_prefix("mailto:")
            .or_else(|| s.split_once("://").map(|(_, r)| r))
            .unwrap_or(&s)
            .to_string();
        s.strip_prefix("www.")
            .unwrap_or(&s)
            .trim_end_matches('/')
            .to_string()
    };
    let (text, target) = (norm(text), norm(url));
    // The whole target, or its host as the text's own host: "example.org/x" for a link
    // to example.org/x?utm=...
    !text.is_empty()
        && (text == target
            || (target.starts_with(&text)
                && target_label(url).trim_start_matches("www.")
                    == text.split('/').next().unwrap_or_default()))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ListKind {
    Bullet,
    Ordered(u32),
}

#[derive(Default)]
struct Builder {
    blocks: Vec<Block>,
    text_bytes: usize,
    spans: Vec<Span>,
    style: Option<TextStyle>,
    marker: Option<String>,
    bold: u32,
    italic: u32,
    underline: u32,
    strike: u32,
    code: u32,
    pre: u32,
    quote: u8,
    lists: Vec<ListKind>,
    /// Open links: target and the length of `spans` text when it started.
    links: Vec<(Option<String>, String)>,
    /// Whitespace seen and not yet written.
    space: bool,
    /// Open elements whose content is never shown.
    hidden: Vec<String>,
    heading: Option<u8>,
}

fn is_hidden(tag: &str) -> bool {
    matches!(
        tag,
        "script" | "style" | "title" | "head" | "template" | "noscript" | "svg" | "math"
    )
}

fn raw_kind(tag: &str) -> Option<RawKind> {
    match tag {
        "script" => Some(RawKind::ScriptData),
        "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => Some(RawKind::Rawtext),
        "title" | "textarea" => Some(RawKind::Rcdata),
        _ => None,
    }
}

fn is_block(tag: &str) -> bool {
    matches!(
        tag,
        "p" | "div"
            | "address"
            | "article"
            | "aside"
            | "center"
            | "dd"
            | "details"
            | "dl"
            | "dt"
            | "fieldset"
            | "figcaption"
            | "figure"
            | "footer"
            | "form"
            | "header"
            | "main"
            | "nav"
            | "section"
            | "summary"
            | "table"
            | "caption"
            | "tr"
            | "thead"
            | "tbody"
            | "tfoot"
            | "body"
            | "html"
    )
}

impl Builder {
    fn full(&self) -> bool {
        self.blocks.len() >= MAX_BLOCKS || self.text_bytes >= MAX_TEXT
    }

    fn push_block(&mut self, kind: BlockKind) {
        if self.blocks.len() < MAX_BLOCKS {
            self.blocks.push(Block {
                kind,
                quote: self.quote,
                indent: u8::try_from(self.lists.len()).unwrap_or(u8::MAX),
            });
        }
    }

    /// Ends the running block of text, if it holds any.
    fn flush(&mut self) {
        self.space = false;
        let style = self.style.take().unwrap_or(TextStyle::Paragraph);
        let mut spans = std::mem::take(&mut self.spans);
        if style != TextStyle::Preformatted {
            // Breaks and spaces at the edges are layout noise.
            while spans.last().is_some_and(|s| s.text.trim().is_empty()) {
                spans.pop();
            }
            if let Some(last) = spans.last_mut() {
                let trimmed = last.text.trim_end().len();
                last.text.truncate(trimmed);
            }
            if let Some(first) = spans.first_mut() {
                first.text = first.text.trim_start().to_string();
            }
        } else if let Some(last) = spans.last_mut() {
            let trimmed = last.text.trim_end_matches('\n').len();
            last.text.truncate(trimmed);
        }
        spans.retain(|s| !s.text.is_empty());
        let marker = self.marker.take();
        if spans.is_empty() && marker.is_none() {
            return;
        }
        self.push_block(BlockKind::Text {
            style,
            marker,
            spans,
        });
    }

    fn current_span(&self) -> Span {
        Span {
            text: String::new(),
            bold: self.bold > 0 || self.heading.is_some(),
            italic: self.italic > 0,
            underline: self.underline > 0,
            strike: self.strike > 0,
            code: self.code > 0 || self.pre > 0,
            link: self.links.iter().rev().find_map(|(l, _)| l.clone()),
            hint: false,
        }
    }

    fn append(&mut self, text: &str, span: Span) {
        if text.is_empty() || self.full() {
            return;
        }
        self.text_bytes += text.len();
        if self.style.is_none() {
            self.style = Some(match (self.pre > 0, self.heading) {
                (true, _) => TextStyle::Preformatted,
                (false, Some(level)) => TextStyle::Heading(level),
                (false, None) => TextStyle::Paragraph,
            });
        }
        for (_, seen) in &mut self.links {
            seen.push_str(text);
        }
        match self.spans.last_mut() {
            Some(last) if last.same_style(&span) => last.text.push_str(text),
            _ => self.spans.push(Span {
                text: text.to_string(),
                ..span
            }),
        }
    }

    fn text(&mut self, s: &str) {
        if !self.hidden.is_empty() {
            return;
        }
        let span = self.current_span();
        if self.pre > 0 {
            self.append(&s.replace("\r\n", "\n"), span);
            return;
        }
        let starts_space = s.starts_with(char::is_whitespace);
        let ends_space = s.ends_with(char::is_whitespace);
        let words: Vec<&str> = s.split_whitespace().collect();
        if words.is_empty() {
            // Only whitespace: it separates the next word from the last.
            self.space |= !s.is_empty();
            return;
        }
        // No space at the start of a line.
        let at_line_start = self.spans.last().is_none_or(|l| l.text.ends_with('\n'));
        // The space between words belongs to the text before (never to a link after).
        if (self.space || starts_space)
            && !at_line_start
            && let Some(last) = self.spans.last_mut()
        {
            last.text.push(' ');
            self.text_bytes += 1;
        }
        self.append(&words.join(" "), span);
        self.space = ends_space;
    }

    fn start(&mut self, tag: &Tag) {
        let name: &str = &tag.name;
        if is_hidden(name) {
            if !tag.self_closing {
                self.hidden.push(name.to_string());
            }
            return;
        }
        if name == "body" {
            self.hidden.clear();
        }
        if !self.hidden.is_empty() {
            return;
        }
        let attribute = |n: &str| {
            tag.attrs
                .iter()
                .find(|a| &*a.name.local == n)
                .map(|a| a.value.to_string())
        };
        match name {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.flush();
                self.heading = name[1..].parse().ok();
            }
            "pre" => {
                self.flush();
                self.pre += 1;
            }
            "blockquote" => {
                self.flush();
                self.quote = self.quote.saturating_add(1);
            }
            "ul" | "ol" => {
                self.flush();
                self.lists.push(if name == "ol" {
                    let start = attribute("start").and_then(|s| s.trim().parse().ok());
                    ListKind::Ordered(start.unwrap_or(1))
                } else {
                    ListKind::Bullet
                });
            }
            "li" => {
                self.flush();
                self.marker = Some(match self.lists.last_mut() {
                    Some(ListKind::Ordered(n)) => {
                        let m = format!("{n}.");
                        *n = n.saturating_add(1);
                        m
                    }
                    _ => "•".to_string(),
                });
            }
            "br" => {
                let span = self.current_span();
                self.append("\n", span);
                self.space = false;
            }
            "hr" => {
                self.flush();
                self.push_block(BlockKind::Rule);
            }
            "img" => self.image(
                attribute("src"),
                attribute("alt"),
                attribute("width"),
                attribute("height"),
            ),
            "a" => {
                let href = attribute("href").filter(|h| {
                    let h = h.to_ascii_lowercase();
                    h.starts_with("https://")
                        || h.starts_with("http://")
                        || h.starts_with("mailto:")
                });
                self.links.push((href, String::new()));
            }
            "b" | "strong" | "th" => self.bold += 1,
            "i" | "em" | "cite" | "var" => self.italic += 1,
            "u" | "ins" => self.underline += 1,
            "s" | "strike" | "del" => self.strike += 1,
            "code" | "tt" | "kbd" | "samp" => self.code += 1,
            "td" => self.space = true,
            _ if is_block(name) => self.flush(),
            _ => {}
        }
        if name == "th" {
            self.space = true;
        }
    }

    fn end(&mut self, name: &str) {
        if let Some(pos) = self.hidden.iter().rposition(|t| t == name) {
            self.hidden.truncate(pos);
            return;
        }
        if !self.hidden.is_empty() {
            return;
        }
        let dec = |n: &mut u32| *n = n.saturating_sub(1);
        match name {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.flush();
                self.heading = None;
            }
            "pre" => {
                self.flush();
                dec(&mut self.pre);
            }
            "blockquote" => {
                self.flush();
                self.quote = self.quote.saturating_sub(1);
            }
            "ul" | "ol" => {
                self.flush();
                self.lists.pop();
            }
            "li" => self.flush(),
            "a" => self.end_link(),
            "b" | "strong" => dec(&mut self.bold),
            "th" => {
                dec(&mut self.bold);
                self.space = true;
            }
            "i" | "em" | "cite" | "var" => dec(&mut self.italic),
            "u" | "ins" => dec(&mut self.underline),
            "s" | "strike" | "del" => dec(&mut self.strike),
            "code" | "tt" | "kbd" | "samp" => dec(&mut self.code),
            "td" => self.space = true,
            "br" => {
                let span = self.current_span();
                self.append("\n", span);
            }
            _ if is_block(name) => self.flush(),
            _ => {}
        }
    }

    /// Closes a link; when its text hides where it goes, the real target follows it.
    fn end_link(&mut self) {
        let Some((Some(url), text)) = self.links.pop() else {
            return;
        };
        if text.trim().is_empty() || text_shows_target(&text, &url) {
            return;
        }
        let hint = Span {
            hint: true,
            link: Some(url.clone()),
            ..Span::default()
        };
        let label = format!(" ({})", target_label(&url));
        // Appended as its own span (never merged into the link text it explains).
        if !self.full() {
            self.text_bytes += label.len();
            self.spans.push(Span {
                text: label,
                ..hint
            });
        }
    }

    fn image(
        &mut self,
        src: Option<String>,
        alt: Option<String>,
        width: Option<String>,
        height: Option<String>,
    ) {
        let px =
            |v: Option<String>| v.and_then(|v| v.trim().trim_end_matches("px").parse::<u32>().ok());
        // A 1x1 image is a spacer or a tracker, never content.
        if px(width).is_some_and(|w| w <= 2) || px(height).is_some_and(|h| h <= 2) {
            return;
        }
        let alt = alt.unwrap_or_default().trim().to_string();
        let source = src.as_deref().and_then(image_source);
        let Some(source) = source else {
            if !alt.is_empty() {
                let span = self.current_span();
                self.append(&format!("[{alt}]"), span);
            }
            return;
        };
        // Images stand on their own line: text around them is rarely meant to flow.
        self.flush();
        self.push_block(BlockKind::Image { source, alt });
    }
}

/// An image `src` Tern can show: from the message, or a held-back remote image.
fn image_source(src: &str) -> Option<ImageSource> {
    let src = src.trim();
    if let Some(url) = remote_image_url(src) {
        return Some(ImageSource::Remote(url));
    }
    if let Some(index) = src
        .strip_prefix(PART_SCHEME)
        .and_then(|r| r.strip_prefix(':'))
    {
        return index.parse().ok().map(ImageSource::Part);
    }
    let (head, data) = src.strip_prefix("data:")?.split_once(',')?;
    if !head.to_ascii_lowercase().starts_with("image/") || !head.ends_with(";base64") {
        return None;
    }
    if data.len() > MAX_DATA_IMAGE * 4 / 3 + 4 {
        return None;
    }
    let data: String = data.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .ok()
        .map(ImageSource::Data)
}

struct Sink(RefCell<Builder>);

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut b = self.0.borrow_mut();
        if b.full() {
            return TokenSinkResult::Continue;
        }
        match token {
            Token::TagToken(tag) => match tag.kind {
                TagKind::StartTag => {
                    b.start(&tag);
                    if let Some(kind) = raw_kind(&tag.name) {
                        return TokenSinkResult::RawData(kind);
                    }
                }
                TagKind::EndTag => b.end(&tag.name),
            },
            Token::CharacterTokens(text) => b.text(&text),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(doc: &Document) -> Vec<String> {
        doc.blocks
            .iter()
            .map(|b| match &b.kind {
                BlockKind::Text {
                    style,
                    marker,
                    spans,
                } => format!(
                    "{style:?}{}{}:{}",
                    marker
                        .as_deref()
                        .map(|m| format!("[{m}]"))
                        .unwrap_or_default(),
                    if b.quote > 0 {
                        format!(">{}", b.quote)
                    } else {
                        String::new()
                    },
                    spans.iter().map(|s| s.text.as_str()).collect::<String>()
                ),
                BlockKind::Image { source, .. } => format!("Image:{source:?}"),
                BlockKind::Rule => "Rule".into(),
            })
            .collect()
    }

    #[test]
    fn reads_structure() {
        let doc = parse(
            "<h1>Title</h1><p>Hello <b>bold</b>  and\n <i>it</i></p>\
             <ul><li>one</li><li>two</li></ul><ol start=3><li>three</li></ol>\
             <blockquote><p>quoted</p><blockquote>deeper</blockquote></blockquote><hr>\
             <pre>a  b\nc</pre><p>line<br>break</p>",
        );
        assert_eq!(
            kinds(&doc),
            vec![
                "Heading(1):Title",
                "Paragraph:Hello bold and it",
                "Paragraph[•]:one",
                "Paragraph[•]:two",
                "Paragraph[3.]:three",
                "Paragraph>1:quoted",
                "Paragraph>2:deeper",
                "Rule",
                "Preformatted:a  b\nc",
                "Paragraph:line\nbreak",
            ]
        );
        let TextStyle::Paragraph = (match &doc.blocks[1].kind {
            BlockKind::Text { style, .. } => *style,
            _ => TextStyle::Heading(9),
        }) else {
            panic!("paragraph expected");
        };
    }

    #[test]
    fn a_link_whose_text_hides_its_target_shows_the_real_host() {
        let doc = parse(
            r#"<p><a href="https://evil.test/login">https://bank.example/login</a> and
               <a href="https://bank.example@evil.test/">Your bank</a> and
               <a href="https://example.org/a">example.org/a</a></p>"#,
        );
        let text = doc.plain_text();
        assert!(
            text.contains("https://bank.example/login (evil.test)"),
            "{text}"
        );
        assert!(text.contains("Your bank (evil.test)"), "{text}");
        assert!(!text.contains("example.org/a ("), "{text}");
        assert_eq!(
            doc.links(),
            vec![
                "https://evil.test/login",
                "https://bank.example@evil.test/",
                "https://example.org/a"
            ]
        );
    }

    #[test]
    fn only_safe_link_schemes_are_links() {
        let doc = parse(r#"<a href="javascript:alert(1)">x</a><a href="file:///etc">y</a>"#);
        assert!(doc.links().is_empty());
    }

    #[test]
    fn images_come_from_the_message_or_data_urls_only() {
        let doc = parse(
            r#"<img src="tern-part:3" alt="logo"><img src="data:image/png;base64,iVBO Rw=="><img src="https://x.test/a.png" alt="remote"><img src="tern-part:4" width="1" height="1">"#,
        );
        assert_eq!(
            kinds(&doc),
            vec![
                "Image:Part(3)",
                "Image:Data([137, 80, 78, 71])",
                "Paragraph:[remote]"
            ]
        );
    }

    #[test]
    fn held_back_remote_images_keep_their_place() {
        // As the sanitiser leaves them: the URL hex-encoded in a placeholder.
        let hex = |u: &str| u.bytes().map(|b| format!("{b:02x}")).collect::<String>();
        let a = format!("tern-remote:{}", hex("https://x.test/a.png"));
        let b = format!("tern-remote:{}", hex("http://y.test/b.gif"));
        let doc = parse(&format!(
            r#"<p>before</p><img src="{a}" alt="a"><p>between</p><img src="{b}"><img src="{a}"><img src="{b}" width="1" height="1">"#
        ));
        assert_eq!(
            kinds(&doc),
            vec![
                "Paragraph:before",
                "Image:Remote(\"https://x.test/a.png\")",
                "Paragraph:between",
                "Image:Remote(\"http://y.test/b.gif\")",
                "Image:Remote(\"https://x.test/a.png\")",
            ]
        );
        // Each once; the 1x1 tracker is never among them.
        assert_eq!(
            doc.remote_images(),
            vec!["https://x.test/a.png", "http://y.test/b.gif"]
        );
    }

    #[test]
    fn hidden_elements_show_nothing() {
        let doc = parse("<style>p{}</style><title>t</title><p>seen</p><script>x</script>");
        assert_eq!(kinds(&doc), vec!["Paragraph:seen"]);
    }

    #[test]
    fn a_huge_body_is_capped() {
        let html = "<p>word</p>".repeat(MAX_BLOCKS + 100);
        assert_eq!(parse(&html).blocks.len(), MAX_BLOCKS);
    }
}

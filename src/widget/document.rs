//! Draws a [`Document`] (HTML mail read by [`super::html`]) as rich text: headings,
//! paragraphs, list items with their markers, quotes with a bar per level, images (from
//! the message, or remote ones once loaded), rules. Links report their real target when
//! clicked; nothing opens here.

use super::html::{Block, BlockKind, Document, ImageSource, Span, TextStyle};
use super::icon::{self, Icon};
use super::link_hover::link_hover;
use crate::theme::{self, size, space};
use iced::widget::text::{Rich, Wrapping};
use iced::widget::{Space, column, container, image, rich_text, row, rule, span, text};
use iced::{Alignment, Element, Font, Length, font};

/// What an image block shows.
#[derive(Clone, Debug, Default)]
pub enum Picture {
    /// No image (not an image block, a part that could not be read, a remote image not
    /// allowed or still on its way): the alt text, if there is one.
    #[default]
    Absent,
    Ready(image::Handle),
    /// A remote image that could not be loaded: its alt text or a broken-image mark.
    Broken,
}

/// The picture of each block, by block index; made when the message opens and filled in
/// as remote images arrive.
pub type Images = Vec<Picture>;

fn heading_size(level: u8) -> f32 {
    match level {
        1 => size::DISPLAY - 4.0,
        2 => size::TITLE,
        3 => size::SUBTITLE + 1.0,
        _ => size::SUBTITLE,
    }
}

fn font_of(s: &Span) -> Font {
    Font {
        weight: if s.bold {
            font::Weight::Bold
        } else {
            font::Weight::Normal
        },
        style: if s.italic {
            font::Style::Italic
        } else {
            font::Style::Normal
        },
        family: if s.code {
            font::Family::Monospace
        } else {
            font::Family::SansSerif
        },
        ..Font::DEFAULT
    }
}

/// What the reader does with links: a click gives `click` the real target; `hover`
/// hears of the link under the pointer (`None` when it leaves).
pub struct Links<Message> {
    pub click: fn(String) -> Message,
    pub hover: fn(Option<String>) -> Message,
}

impl<Message> Clone for Links<Message> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Message> Copy for Links<Message> {}

/// The document. Remote images are drawn only with `show_remote` (the user allows them
/// now); otherwise they stand as their alt text.
pub fn view<'a, Message: Clone + 'a>(
    doc: &'a Document,
    images: &'a Images,
    show_remote: bool,
    colors: &theme::Colors,
    links: Links<Message>,
) -> Element<'a, Message> {
    let mut col = column![].spacing(space::M).width(Length::Fill);
    for (i, block) in doc.blocks.iter().enumerate() {
        let content = match &block.kind {
            BlockKind::Text {
                style,
                marker,
                spans,
            } => text_block(*style, marker.as_deref(), spans, colors, links),
            BlockKind::Image { alt, source } => {
                let picture = match source {
                    ImageSource::Remote(_) if !show_remote => &Picture::Absent,
                    _ => images.get(i).unwrap_or(&Picture::Absent),
                };
                match picture {
                    Picture::Ready(handle) => image(handle.clone()).into(),
                    Picture::Broken => broken(alt, colors),
                    Picture::Absent if !alt.is_empty() => {
                        text(format!("[{alt}]")).size(size::SMALL).into()
                    }
                    Picture::Absent => continue,
                }
            }
            BlockKind::Rule => rule::horizontal(1).into(),
        };
        col = col.push(place(block, content, colors));
    }
    col.into()
}

/// A remote image that did not load: a small framed mark with its alt text, if any.
fn broken<'a, Message: 'a>(alt: &str, colors: &theme::Colors) -> Element<'a, Message> {
    let muted = colors.muted;
    let mut mark = row![icon::tinted(Icon::Image, size::ICON, |c| c.muted)]
        .spacing(space::XS)
        .align_y(Alignment::Center);
    if !alt.is_empty() {
        mark = mark.push(
            text(alt.to_string())
                .size(size::SMALL)
                .color(muted)
                .wrapping(Wrapping::WordOrGlyph),
        );
    }
    container(mark)
        .padding([space::XXS, space::S])
        .style(theme::card)
        .into()
}

fn text_block<'a, Message: Clone + 'a>(
    style: TextStyle,
    marker: Option<&'a str>,
    spans: &'a [Span],
    colors: &theme::Colors,
    links: Links<Message>,
) -> Element<'a, Message> {
    let text_size = match style {
        TextStyle::Heading(level) => heading_size(level),
        TextStyle::Paragraph => size::BODY + 1.0,
        TextStyle::Preformatted => size::SMALL,
    };
    let (link, muted) = (colors.link, colors.muted);
    let pieces: Vec<iced::widget::text::Span<'a, String>> = spans
        .iter()
        .map(|s| {
            let mut piece = span(s.text.as_str())
                .font(font_of(s))
                .underline(s.underline || (s.link.is_some() && !s.hint))
                .strikethrough(s.strike);
            if s.hint {
                piece = piece.color(muted).size(text_size - 2.0);
            } else if s.link.is_some() {
                piece = piece.color(link);
            }
            piece.link_maybe(s.link.clone())
        })
        .collect();
    let has_links = spans.iter().any(|s| s.link.is_some());
    let hover_spans = if has_links {
        pieces.clone()
    } else {
        Vec::new()
    };
    let body: Rich<'a, String, Message> = rich_text(pieces)
        .size(text_size)
        .wrapping(Wrapping::WordOrGlyph)
        .width(Length::Fill)
        .on_link_click(links.click);
    let body: Element<'a, Message> = if has_links {
        link_hover(
            body,
            hover_spans,
            text_size,
            Wrapping::WordOrGlyph,
            links.hover,
        )
        .into()
    } else {
        body.into()
    };
    let body: Element<'a, Message> = if style == TextStyle::Preformatted {
        container(body)
            .padding(space::M)
            .width(Length::Fill)
            .style(theme::card)
            .into()
    } else {
        body
    };
    match marker {
        Some(m) => row![
            text(m)
                .size(text_size)
                .width(space::XL + space::M)
                .align_x(iced::alignment::Horizontal::Right),
            body
        ]
        .spacing(space::S)
        .into(),
        None => body,
    }
}

/// Indents a block for its list level and draws a bar per quote level beside it.
fn place<'a, Message: 'a>(
    block: &Block,
    content: Element<'a, Message>,
    colors: &theme::Colors,
) -> Element<'a, Message> {
    let mut content = content;
    if block.indent > 1 {
        let indent = f32::from(block.indent.min(8) - 1) * space::XL;
        content = row![Space::new().width(indent), content].into();
    }
    let bar = colors.quote;
    for _ in 0..block.quote.min(8) {
        content = row![
            rule::vertical(3).style(move |_: &iced::Theme| rule::Style {
                color: bar,
                radius: 0.0.into(),
                fill_mode: rule::FillMode::Full,
                snap: true,
            }),
            content
        ]
        .spacing(space::L)
        .height(Length::Shrink)
        .into();
    }
    content
}

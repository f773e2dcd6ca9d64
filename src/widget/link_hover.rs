//! Tells which link of a rich text is under the pointer. iced's rich text reports link
//! clicks only; the reader also shows a link's real target while the pointer rests on
//! it, as a browser's status bar does. This wraps the rich text and hit-tests a
//! paragraph of the same spans, laid out with the same settings (and, like the rich
//! text's own, only reshaped when the text or its width changes).

use iced::advanced::layout::{self, Layout};
use iced::advanced::renderer;
use iced::advanced::text::{self, Paragraph as _};
use iced::advanced::widget::{Operation, Tree, tree};
use iced::advanced::{Clipboard, Shell, Widget};
use iced::widget::text::{LineHeight, Span, Wrapping};
use iced::{Element, Event, Font, Length, Pixels, Rectangle, Size, mouse};

type Paragraph = <iced::Renderer as text::Renderer>::Paragraph;

/// See the module docs.
pub struct LinkHover<'a, Message> {
    content: Element<'a, Message>,
    spans: Vec<Span<'a, String, Font>>,
    size: Pixels,
    wrapping: Wrapping,
    on_hover: Box<dyn Fn(Option<String>) -> Message + 'a>,
}

/// `content` is the rich text drawn from `spans` at `size` with `wrapping`, full width.
pub fn link_hover<'a, Message>(
    content: impl Into<Element<'a, Message>>,
    spans: Vec<Span<'a, String, Font>>,
    size: f32,
    wrapping: Wrapping,
    on_hover: impl Fn(Option<String>) -> Message + 'a,
) -> LinkHover<'a, Message> {
    LinkHover {
        content: content.into(),
        spans,
        size: Pixels(size),
        wrapping,
        on_hover: Box::new(on_hover),
    }
}

struct State {
    paragraph: Paragraph,
    spans: Vec<Span<'static, String, Font>>,
    hovered: Option<String>,
}

impl<Message> Widget<Message, iced::Theme, iced::Renderer> for LinkHover<'_, Message> {
    fn tag(&self) -> tree::Tag {
        tree::Tag::of::<State>()
    }

    fn state(&self) -> tree::State {
        tree::State::new(State {
            paragraph: Paragraph::default(),
            spans: Vec::new(),
            hovered: None,
        })
    }

    fn children(&self) -> Vec<Tree> {
        vec![Tree::new(&self.content)]
    }

    fn diff(&self, tree: &mut Tree) {
        tree.diff_children(std::slice::from_ref(&self.content));
    }

    fn size(&self) -> Size<Length> {
        self.content.as_widget().size()
    }

    fn layout(
        &mut self,
        tree: &mut Tree,
        renderer: &iced::Renderer,
        limits: &layout::Limits,
    ) -> layout::Node {
        let node = self
            .content
            .as_widget_mut()
            .layout(&mut tree.children[0], renderer, limits);
        // The bounds the rich text shapes with: the full width it may take.
        let bounds = limits.width(Length::Fill).height(Length::Shrink).max();
        let state = tree.state.downcast_mut::<State>();
        let font = <iced::Renderer as text::Renderer>::default_font(renderer);
        let text = |content| text::Text {
            content,
            bounds,
            size: self.size,
            line_height: LineHeight::default(),
            font,
            align_x: text::Alignment::Default,
            align_y: iced::alignment::Vertical::Top,
            shaping: text::Shaping::Advanced,
            wrapping: self.wrapping,
        };
        let settings = text(());
        if state.spans != self.spans {
            state.paragraph = Paragraph::with_spans(settings.with_content(self.spans.as_slice()));
            state.spans = self.spans.iter().cloned().map(Span::to_static).collect();
        } else {
            match state.paragraph.compare(settings) {
                text::Difference::None => {}
                text::Difference::Bounds => state.paragraph.resize(bounds),
                text::Difference::Shape => {
                    state.paragraph =
                        Paragraph::with_spans(settings.with_content(self.spans.as_slice()));
                }
            }
        }
        node
    }

    fn operate(
        &mut self,
        tree: &mut Tree,
        layout: Layout<'_>,
        renderer: &iced::Renderer,
        operation: &mut dyn Operation,
    ) {
        self.content
            .as_widget_mut()
            .operate(&mut tree.children[0], layout, renderer, operation);
    }

    fn update(
        &mut self,
        tree: &mut Tree,
        event: &Event,
        layout: Layout<'_>,
        cursor: mouse::Cursor,
        renderer: &iced::Renderer,
        clipboard: &mut dyn Clipboard,
        shell: &mut Shell<'_, Message>,
        viewport: &Rectangle,
    ) {
        self.content.as_widget_mut().update(
            &mut tree.children[0],
            event,
            layout,
            cursor,
            renderer,
            clipboard,
            shell,
            viewport,
        );
        if !matches!(
            event,
            Event::Mouse(mouse::Event::CursorMoved { .. } | mouse::Event::CursorLeft)
        ) {
            return;
        }
        let state = tree.state.downcast_mut::<State>();
        let over = cursor
            .position_in(layout.bounds())
            .filter(|_| cursor.is_over(*viewport))
            .and_then(|p| state.paragraph.hit_span(p))
            .and_then(|i| self.spans.get(i)?.link.clone());
        if over != state.hovered {
            state.hovered.clone_from(&over);
            shell.publish((self.on_hover)(over));
        }
    }

    fn mouse_interaction(
        &self,
        tree: &Tree,
        layout: Layout<'_>,
        cursor: mouse::Cursor,
        viewport: &Rectangle,
        renderer: &iced::Renderer,
    ) -> mouse::Interaction {
        self.content.as_widget().mouse_interaction(
            &tree.children[0],
            layout,
            cursor,
            viewport,
            renderer,
        )
    }

    fn draw(
        &self,
        tree: &Tree,
        renderer: &mut iced::Renderer,
        theme: &iced::Theme,
        style: &renderer::Style,
        layout: Layout<'_>,
        cursor: mouse::Cursor,
        viewport: &Rectangle,
    ) {
        self.content.as_widget().draw(
            &tree.children[0],
            renderer,
            theme,
            style,
            layout,
            cursor,
            viewport,
        );
    }
}

impl<'a, Message: 'a> From<LinkHover<'a, Message>> for Element<'a, Message> {
    fn from(widget: LinkHover<'a, Message>) -> Self {
        Element::new(widget)
    }
}

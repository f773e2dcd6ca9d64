//! A pointer area: like iced's `mouse_area`, but it says *where* the pointer was, and it
//! never takes an event from its content. A row can report a press and still be clicked;
//! the whole window can follow a drag that started on a row and ends on a folder.
//!
//! Positions are relative to the area's own top-left corner. Presses are reported before
//! the content sees them (so a handler learns the position before the content's own
//! message); moves and releases after (so a click the content reports comes first).

use iced::advanced::layout::{self, Layout};
use iced::advanced::renderer;
use iced::advanced::widget::{Operation, Tree, Widget};
use iced::advanced::{Clipboard, Shell, overlay};
use iced::{Element, Event, Length, Point, Rectangle, Size, Vector, mouse};

/// Turns a position into a message.
type Handler<'a, Message> = Option<Box<dyn Fn(Point) -> Message + 'a>>;

/// See the module docs.
pub struct PointerArea<'a, Message, Theme, Renderer> {
    content: Element<'a, Message, Theme, Renderer>,
    on_press: Handler<'a, Message>,
    on_right_press: Handler<'a, Message>,
    on_move: Handler<'a, Message>,
    on_release: Handler<'a, Message>,
}

/// Wraps `content` in a [`PointerArea`] with no handlers yet.
pub fn pointer_area<'a, Message, Theme, Renderer>(
    content: impl Into<Element<'a, Message, Theme, Renderer>>,
) -> PointerArea<'a, Message, Theme, Renderer> {
    PointerArea {
        content: content.into(),
        on_press: None,
        on_right_press: None,
        on_move: None,
        on_release: None,
    }
}

impl<'a, Message, Theme, Renderer> PointerArea<'a, Message, Theme, Renderer> {
    /// The left button went down over the area.
    pub fn on_press(mut self, f: impl Fn(Point) -> Message + 'a) -> Self {
        self.on_press = Some(Box::new(f));
        self
    }

    /// The right button went down over the area.
    pub fn on_right_press(mut self, f: impl Fn(Point) -> Message + 'a) -> Self {
        self.on_right_press = Some(Box::new(f));
        self
    }

    /// The pointer moved, anywhere in the window (a drag may leave the area).
    pub fn on_move(mut self, f: impl Fn(Point) -> Message + 'a) -> Self {
        self.on_move = Some(Box::new(f));
        self
    }

    /// The left button came up, anywhere in the window.
    pub fn on_release(mut self, f: impl Fn(Point) -> Message + 'a) -> Self {
        self.on_release = Some(Box::new(f));
        self
    }

    /// Sets the move and release handlers only when `follow` holds: an area that follows
    /// the pointer only while something is being dragged.
    pub fn following(
        self,
        follow: bool,
        on_move: impl Fn(Point) -> Message + 'a,
        on_release: impl Fn(Point) -> Message + 'a,
    ) -> Self {
        if follow {
            self.on_move(on_move).on_release(on_release)
        } else {
            self
        }
    }
}

/// Where the pointer is relative to `bounds`, wherever it is.
fn relative(cursor: mouse::Cursor, bounds: Rectangle) -> Option<Point> {
    cursor
        .land()
        .position()
        .map(|p| p - Vector::new(bounds.x, bounds.y))
}

impl<Message, Theme, Renderer> Widget<Message, Theme, Renderer>
    for PointerArea<'_, Message, Theme, Renderer>
where
    Renderer: renderer::Renderer,
{
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
        renderer: &Renderer,
        limits: &layout::Limits,
    ) -> layout::Node {
        self.content
            .as_widget_mut()
            .layout(&mut tree.children[0], renderer, limits)
    }

    fn operate(
        &mut self,
        tree: &mut Tree,
        layout: Layout<'_>,
        renderer: &Renderer,
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
        renderer: &Renderer,
        clipboard: &mut dyn Clipboard,
        shell: &mut Shell<'_, Message>,
        viewport: &Rectangle,
    ) {
        let bounds = layout.bounds();
        if let Event::Mouse(mouse::Event::ButtonPressed(button)) = event {
            let handler = match button {
                mouse::Button::Left => &self.on_press,
                mouse::Button::Right => &self.on_right_press,
                _ => &None,
            };
            // Not a levitating cursor: a press on a layer above, or outside the
            // scrollable this area is in, is not a press here.
            if let Some(f) = handler
                && let Some(p) = cursor.position_in(bounds)
            {
                shell.publish(f(p));
            }
        }
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
        let handler = match event {
            Event::Mouse(mouse::Event::CursorMoved { .. }) => &self.on_move,
            Event::Mouse(mouse::Event::ButtonReleased(mouse::Button::Left)) => &self.on_release,
            _ => &None,
        };
        if let Some(f) = handler
            && let Some(p) = relative(cursor, bounds)
        {
            shell.publish(f(p));
        }
    }

    fn mouse_interaction(
        &self,
        tree: &Tree,
        layout: Layout<'_>,
        cursor: mouse::Cursor,
        viewport: &Rectangle,
        renderer: &Renderer,
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
        renderer: &mut Renderer,
        theme: &Theme,
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

    fn overlay<'b>(
        &'b mut self,
        tree: &'b mut Tree,
        layout: Layout<'b>,
        renderer: &Renderer,
        viewport: &Rectangle,
        translation: Vector,
    ) -> Option<overlay::Element<'b, Message, Theme, Renderer>> {
        self.content.as_widget_mut().overlay(
            &mut tree.children[0],
            layout,
            renderer,
            viewport,
            translation,
        )
    }
}

impl<'a, Message, Theme, Renderer> From<PointerArea<'a, Message, Theme, Renderer>>
    for Element<'a, Message, Theme, Renderer>
where
    Message: 'a,
    Theme: 'a,
    Renderer: renderer::Renderer + 'a,
{
    fn from(widget: PointerArea<'a, Message, Theme, Renderer>) -> Self {
        Element::new(widget)
    }
}

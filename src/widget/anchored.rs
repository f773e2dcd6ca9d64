//! Content shown at a point (a context menu at the pointer, a drag label next to it),
//! moved back inside the area when it would stick out of the right or bottom edge.
//! The area fills its parent; only the content takes events and draws.

use iced::advanced::layout::{self, Layout};
use iced::advanced::renderer;
use iced::advanced::widget::{Operation, Tree, Widget};
use iced::advanced::{Clipboard, Shell, overlay};
use iced::{Element, Event, Length, Point, Rectangle, Size, Vector, mouse};

/// See the module docs.
pub struct Anchored<'a, Message, Theme, Renderer> {
    content: Element<'a, Message, Theme, Renderer>,
    at: Point,
}

/// Shows `content` with its top-left corner at `at` (relative to the area), or as near
/// as fits.
pub fn anchored<'a, Message, Theme, Renderer>(
    content: impl Into<Element<'a, Message, Theme, Renderer>>,
    at: Point,
) -> Anchored<'a, Message, Theme, Renderer> {
    Anchored {
        content: content.into(),
        at,
    }
}

/// The top-left corner for content of `size` wanted at `at` in an area of `area`.
fn clamp(at: Point, size: Size, area: Size) -> Point {
    Point::new(
        at.x.min(area.width - size.width).max(0.0),
        at.y.min(area.height - size.height).max(0.0),
    )
}

impl<Message, Theme, Renderer> Widget<Message, Theme, Renderer>
    for Anchored<'_, Message, Theme, Renderer>
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
        Size::new(Length::Fill, Length::Fill)
    }

    fn layout(
        &mut self,
        tree: &mut Tree,
        renderer: &Renderer,
        limits: &layout::Limits,
    ) -> layout::Node {
        let area = limits.max();
        let node = self.content.as_widget_mut().layout(
            &mut tree.children[0],
            renderer,
            &layout::Limits::new(Size::ZERO, area),
        );
        let at = clamp(self.at, node.size(), area);
        layout::Node::with_children(area, vec![node.move_to(at)])
    }

    fn operate(
        &mut self,
        tree: &mut Tree,
        layout: Layout<'_>,
        renderer: &Renderer,
        operation: &mut dyn Operation,
    ) {
        if let Some(child) = layout.children().next() {
            self.content
                .as_widget_mut()
                .operate(&mut tree.children[0], child, renderer, operation);
        }
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
        if let Some(child) = layout.children().next() {
            self.content.as_widget_mut().update(
                &mut tree.children[0],
                event,
                child,
                cursor,
                renderer,
                clipboard,
                shell,
                viewport,
            );
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
        match layout.children().next() {
            Some(child) => self.content.as_widget().mouse_interaction(
                &tree.children[0],
                child,
                cursor,
                viewport,
                renderer,
            ),
            None => mouse::Interaction::None,
        }
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
        if let Some(child) = layout.children().next() {
            self.content.as_widget().draw(
                &tree.children[0],
                renderer,
                theme,
                style,
                child,
                cursor,
                viewport,
            );
        }
    }

    fn overlay<'b>(
        &'b mut self,
        tree: &'b mut Tree,
        layout: Layout<'b>,
        renderer: &Renderer,
        viewport: &Rectangle,
        translation: Vector,
    ) -> Option<overlay::Element<'b, Message, Theme, Renderer>> {
        let child = layout.children().next()?;
        self.content.as_widget_mut().overlay(
            &mut tree.children[0],
            child,
            renderer,
            viewport,
            translation,
        )
    }
}

impl<'a, Message, Theme, Renderer> From<Anchored<'a, Message, Theme, Renderer>>
    for Element<'a, Message, Theme, Renderer>
where
    Message: 'a,
    Theme: 'a,
    Renderer: renderer::Renderer + 'a,
{
    fn from(widget: Anchored<'a, Message, Theme, Renderer>) -> Self {
        Element::new(widget)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_that_would_stick_out_moves_back_inside() {
        let area = Size::new(800.0, 600.0);
        let menu = Size::new(200.0, 300.0);
        assert_eq!(
            clamp(Point::new(100.0, 50.0), menu, area),
            Point::new(100.0, 50.0)
        );
        assert_eq!(
            clamp(Point::new(700.0, 500.0), menu, area),
            Point::new(600.0, 300.0)
        );
        // Bigger than the area: pinned to the top-left rather than off screen.
        assert_eq!(
            clamp(Point::new(10.0, 10.0), Size::new(900.0, 700.0), area),
            Point::ORIGIN
        );
    }
}

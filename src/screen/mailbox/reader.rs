//! The reader: one message's headers, its body as rich text (HTML) or selectable plain
//! text, the remote-images bar, the attachments, and the source on request.

use super::format::{self, Dates};
use crate::i18n::{tr, tr_args};
use crate::remote::{self, Fetched};
use crate::screen::settings::RemoteContent;
use crate::settings::Settings;
use crate::theme::{self, size, space};
use crate::widget::document::{self, Images, Picture};
use crate::widget::html::{self, BlockKind, Document, ImageSource};
use crate::widget::icon::{self, Icon};
use iced::widget::text_editor::{self, Binding, KeyPress};
use iced::widget::{
    Space, bottom, button, column, container, image, row, scrollable, stack, text,
    text_editor as editor,
};
use iced::{Alignment, Element, Font, Length, Task, font};
use std::collections::HashSet;
use std::sync::Arc;
use tern_core::mime::{self, Attachment, MessageView, Parsed};
use tern_core::store::{MessageId, MessageRow};

/// How the body is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The HTML as rich text.
    Formatted,
    /// The text part, selectable.
    Plain,
    /// The raw message.
    Source,
}

/// What the reader's controls ask for.
#[derive(Clone, Debug)]
pub enum Message {
    Mode(Mode),
    /// An action in a read-only text area (selection, copy).
    Edit(text_editor::Action),
    LinkClicked(String),
    /// The link under the pointer, or none.
    LinkHovered(Option<String>),
    OpenLink,
    CopyLink,
    CloseLink,
    LoadImages,
    TrustSender,
    /// The body has just been shown: the mailbox loads its remote images if the user's
    /// settings allow them.
    Shown,
    /// A remote image of message `.0` arrived, or could not be had.
    RemoteImage(MessageId, String, Fetched),
    Save(usize),
    Open(usize),
}

/// A message whose bytes are here.
pub struct Opened {
    raw: Arc<[u8]>,
    /// `None` when the message could not be parsed and is shown as source.
    view: Option<MessageView>,
    /// Why the source is shown instead.
    source_reason: Option<String>,
    document: Option<Document>,
    images: Images,
    /// The text in the read-only editor (plain text or source), made when first shown.
    text: Option<(Mode, text_editor::Content)>,
    remote: RemoteLoad,
}

/// How loading the remote images goes.
#[derive(Default)]
struct RemoteLoad {
    /// Loading was asked for (once per opening).
    started: bool,
    /// URLs still on their way.
    waiting: HashSet<String>,
    /// URLs that could not be loaded.
    failed: usize,
}

impl Opened {
    /// Puts an image that arrived (or could not) into every block that shows it.
    fn apply(&mut self, url: &str, result: Fetched) {
        let picture = match result {
            Ok(handle) => Picture::Ready(handle),
            Err(e) => {
                // URLs of remote images often carry who the reader is: debug only.
                tracing::debug!("remote image not loaded: {e}");
                self.remote.failed += 1;
                Picture::Broken
            }
        };
        let Some(doc) = &self.document else {
            return;
        };
        for (block, slot) in doc.blocks.iter().zip(self.images.iter_mut()) {
            if let BlockKind::Image {
                source: ImageSource::Remote(u),
                ..
            } = &block.kind
                && u == url
            {
                *slot = picture.clone();
            }
        }
    }
}

/// The state of the reader pane.
pub enum Body {
    /// Waiting for the engine to fetch the body.
    Loading,
    Ready(Box<Opened>),
}

/// See the module docs.
pub struct Reader {
    pub id: MessageId,
    pub row: MessageRow,
    pub body: Body,
    pub mode: Mode,
    /// A link the user clicked, shown in full before it opens.
    pub link: Option<String>,
    /// The link under the pointer, shown in full at the bottom.
    pub hovered: Option<String>,
    /// The user allowed remote images for this message.
    pub images_allowed: bool,
}

impl Reader {
    /// A reader waiting for the body of `row`.
    pub fn loading(row: MessageRow) -> Reader {
        Reader {
            id: row.id,
            row,
            body: Body::Loading,
            mode: Mode::Formatted,
            link: None,
            hovered: None,
            images_allowed: false,
        }
    }

    /// Parses the message's bytes and shows it.
    pub fn show(&mut self, raw: Vec<u8>) {
        self.show_prepared(prepare(raw));
    }

    /// Shows a message [`prepare`]d elsewhere (off the UI thread, for a big one).
    pub fn show_prepared(&mut self, prepared: Prepared) {
        let Prepared {
            raw,
            view,
            source_reason,
            document,
            images,
        } = prepared;
        self.mode = match (&view, &document) {
            (None, _) => Mode::Source,
            (Some(_), Some(_)) => Mode::Formatted,
            (Some(_), None) => Mode::Plain,
        };
        self.body = Body::Ready(Box::new(Opened {
            raw,
            view,
            source_reason,
            document,
            images,
            text: None,
            remote: RemoteLoad::default(),
        }));
        self.prepare_text();
    }

    /// True when this message's remote images may load: the user allowed them for this
    /// message, or trusts its sender and the policy lets trust count; never under
    /// [`RemoteContent::Never`].
    pub fn remote_allowed(&self, policy: RemoteContent, sender_trusted: bool) -> bool {
        match policy {
            RemoteContent::Never => false,
            RemoteContent::Ask => self.images_allowed,
            RemoteContent::TrustedSenders => self.images_allowed || sender_trusted,
        }
    }

    /// True when the sender is among those whose remote images the user always allows.
    pub fn sender_trusted(&self, settings: &Settings) -> bool {
        self.sender()
            .is_some_and(|s| settings.remote_images.contains(&s))
    }

    /// Starts loading the remote images the document shows, if `settings` allow it and
    /// it has not started yet: what this session fetched before is drawn at once, the
    /// rest arrives through the task. No request is made otherwise.
    pub fn load_remote(&mut self, settings: &Settings) -> Task<Message> {
        if !self.remote_allowed(settings.remote_content, self.sender_trusted(settings)) {
            return Task::none();
        }
        let id = self.id;
        let Body::Ready(o) = &mut self.body else {
            return Task::none();
        };
        if o.remote.started {
            return Task::none();
        }
        let Some(doc) = &o.document else {
            return Task::none();
        };
        let urls: Vec<String> = doc.remote_images().into_iter().map(String::from).collect();
        o.remote.started = true;
        let mut fetch = Vec::new();
        for (i, url) in urls.into_iter().enumerate() {
            let known = if i >= remote::MAX_IMAGES {
                Some(Err(remote::FetchError::MessageLimit { url: url.clone() }))
            } else {
                remote::cached(&url)
            };
            match known {
                Some(result) => o.apply(&url, result),
                None => {
                    o.remote.waiting.insert(url.clone());
                    fetch.push(url);
                }
            }
        }
        if fetch.is_empty() {
            return Task::none();
        }
        Task::run(remote::load(fetch), move |(url, result)| {
            Message::RemoteImage(id, url, result)
        })
    }

    /// Remote images drawn now (each URL once).
    pub fn remote_loaded(&self) -> usize {
        let Some(o) = self.opened() else {
            return 0;
        };
        let Some(doc) = &o.document else {
            return 0;
        };
        let ready: HashSet<&str> = doc
            .blocks
            .iter()
            .zip(&o.images)
            .filter_map(|(block, picture)| match (&block.kind, picture) {
                (
                    BlockKind::Image {
                        source: ImageSource::Remote(url),
                        ..
                    },
                    Picture::Ready(_),
                ) => Some(url.as_str()),
                _ => None,
            })
            .collect();
        ready.len()
    }

    /// Remote images still on their way.
    pub fn remote_waiting(&self) -> usize {
        self.opened().map_or(0, |o| o.remote.waiting.len())
    }

    /// Remote images that could not be loaded.
    pub fn remote_failed(&self) -> usize {
        self.opened().map_or(0, |o| o.remote.failed)
    }

    fn opened(&self) -> Option<&Opened> {
        match &self.body {
            Body::Ready(o) => Some(o),
            Body::Loading => None,
        }
    }

    /// The parsed message, if it could be parsed.
    pub fn message(&self) -> Option<&MessageView> {
        self.opened()?.view.as_ref()
    }

    /// The raw bytes.
    pub fn raw(&self) -> Option<&Arc<[u8]>> {
        self.opened().map(|o| &o.raw)
    }

    /// The body as it reads, for tests and copying.
    pub fn text(&self) -> String {
        let Some(o) = self.opened() else {
            return String::new();
        };
        match (&o.text, &o.document) {
            (Some((_, content)), _) => content.text(),
            (None, Some(doc)) => doc.plain_text(),
            (None, None) => String::new(),
        }
    }

    /// Remote images the sanitiser removed.
    pub fn remote_images(&self) -> usize {
        self.message()
            .and_then(|v| v.html.as_ref())
            .map_or(0, |h| h.remote_images.len())
    }

    /// The first sender's address, lower-case (the key for "always for this sender").
    pub fn sender(&self) -> Option<String> {
        self.row.from.first().map(|a| a.email.to_lowercase())
    }

    /// The attachment with part index `index`.
    pub fn attachment(&self, index: usize) -> Option<&Attachment> {
        self.message()?
            .attachments
            .iter()
            .find(|a| a.index == index)
    }

    /// Makes the text area's content for the current mode.
    fn prepare_text(&mut self) {
        let mode = self.mode;
        let Body::Ready(o) = &mut self.body else {
            return;
        };
        if mode == Mode::Formatted || o.text.as_ref().is_some_and(|(m, _)| *m == mode) {
            if mode == Mode::Formatted {
                o.text = None;
            }
            return;
        }
        let text = match mode {
            Mode::Plain => o
                .view
                .as_ref()
                .and_then(|v| v.text.clone())
                .unwrap_or_default(),
            _ => String::from_utf8_lossy(&o.raw).replace("\r\n", "\n"),
        };
        o.text = Some((mode, text_editor::Content::with_text(&text)));
    }

    /// Applies a control; what needs the app (opening, saving, settings) is returned.
    pub fn update(&mut self, message: Message) -> Option<Message> {
        match message {
            Message::Mode(mode) => {
                self.mode = mode;
                self.prepare_text();
                None
            }
            Message::Edit(action) => {
                // Read-only: selection and copying, never a change.
                if !action.is_edit()
                    && let Body::Ready(o) = &mut self.body
                    && let Some((_, content)) = &mut o.text
                {
                    content.perform(action);
                }
                None
            }
            Message::LinkClicked(url) => {
                self.link = Some(url);
                None
            }
            Message::LinkHovered(url) => {
                self.hovered = url;
                None
            }
            Message::CloseLink => {
                self.link = None;
                None
            }
            Message::RemoteImage(id, url, result) => {
                if id == self.id
                    && let Body::Ready(o) = &mut self.body
                    && o.remote.waiting.remove(&url)
                {
                    o.apply(&url, result);
                }
                None
            }
            other => Some(other),
        }
    }

    pub fn view<'a>(
        &'a self,
        dates: &'a Dates,
        colors: &theme::Colors,
        policy: RemoteContent,
        sender_trusted: bool,
    ) -> Element<'a, Message> {
        let mut col = column![header(&self.row, self.message(), dates)]
            .spacing(space::L)
            .padding(space::XL)
            .width(Length::Fill);
        let Some(o) = self.opened() else {
            col = col.push(text(tr("reader-loading")).size(size::BODY));
            return scrollable(col).height(Length::Fill).into();
        };
        col = col.push(self.modes(o));
        if let Some(reason) = &o.source_reason {
            col = col.push(bar(
                Icon::Warning,
                tr_args("reader-source-reason", &[("reason", reason.clone().into())]),
                vec![],
            ));
        }
        let remote = self.remote_images();
        let remote_allowed = self.remote_allowed(policy, sender_trusted);
        if remote > 0 && self.mode == Mode::Formatted {
            // Allowed but not asked for yet (trust given in the settings while the
            // message was open): still offered, so the bar never claims what is not so.
            col = col.push(if remote_allowed && o.remote.started {
                bar(Icon::Image, remote_shown(self, &o.remote), vec![])
            } else {
                // What the user may do follows the policy chosen in settings.
                let offers = match policy {
                    RemoteContent::Never => vec![],
                    RemoteContent::Ask => vec![(tr("reader-remote-load"), Message::LoadImages)],
                    RemoteContent::TrustedSenders if sender_trusted => {
                        vec![(tr("reader-remote-load"), Message::LoadImages)]
                    }
                    RemoteContent::TrustedSenders => vec![
                        (tr("reader-remote-load"), Message::LoadImages),
                        (tr("reader-remote-always"), Message::TrustSender),
                    ],
                };
                bar(
                    Icon::Image,
                    tr_args("reader-remote-blocked", &[("count", remote.into())]),
                    offers,
                )
            });
        }
        if let Some(url) = &self.link {
            col = col.push(bar(
                Icon::Link,
                tr_args("reader-link", &[("url", url.clone().into())]),
                vec![
                    (tr("reader-link-open"), Message::OpenLink),
                    (tr("reader-link-copy"), Message::CopyLink),
                    (tr("reader-link-cancel"), Message::CloseLink),
                ],
            ));
        }
        if let Some(list) = o.view.as_ref().map(|v| attachments(&v.attachments)) {
            col = col.push(list);
        }
        let body: Element<'a, Message> = match (self.mode, &o.document, &o.text) {
            (Mode::Formatted, Some(doc), _) => document::view(
                doc,
                &o.images,
                remote_allowed,
                colors,
                document::Links {
                    click: Message::LinkClicked,
                    hover: Message::LinkHovered,
                },
            ),
            (_, _, Some((_, content))) => read_only(content, self.mode == Mode::Source),
            _ => text(tr("reader-empty")).size(size::BODY).into(),
        };
        col = col.push(body);
        let page = scrollable(col).height(Length::Fill);
        match &self.hovered {
            // Where the link under the pointer really goes, as a browser shows it.
            Some(url) => stack![
                page,
                bottom(
                    container(text(url.clone()).size(size::CAPTION))
                        .padding([space::XXS, space::M])
                        .style(theme::card)
                )
            ]
            .into(),
            None => page.into(),
        }
    }

    /// The mode to go back to from the source.
    fn fallback_mode(&self, o: &Opened) -> Mode {
        match (&o.view, &o.document) {
            (None, _) => Mode::Source,
            (Some(_), Some(_)) => Mode::Formatted,
            (Some(_), None) => Mode::Plain,
        }
    }

    fn modes<'a>(&self, o: &Opened) -> Element<'a, Message> {
        let mut line = row![].spacing(space::XS);
        let choice = |label: String, mode: Mode, on: bool| {
            button(text(label).size(size::SMALL))
                .padding([space::XS, space::M])
                .style(move |t: &iced::Theme, s| {
                    if on {
                        theme::row(true)(t, s)
                    } else {
                        theme::tool(t, s)
                    }
                })
                .on_press(Message::Mode(mode))
        };
        if o.document.is_some() {
            line = line.push(choice(
                tr("reader-formatted"),
                Mode::Formatted,
                self.mode == Mode::Formatted,
            ));
        }
        if o.view.as_ref().is_some_and(|v| v.text.is_some()) {
            line = line.push(choice(
                tr("reader-plain"),
                Mode::Plain,
                self.mode == Mode::Plain,
            ));
        }
        let on = self.mode == Mode::Source;
        line = line.push(
            button(
                row![
                    icon::icon(Icon::Source, size::SMALL),
                    text(tr("reader-source")).size(size::SMALL)
                ]
                .spacing(space::XS)
                .align_y(Alignment::Center),
            )
            .padding([space::XS, space::M])
            .style(move |t: &iced::Theme, s| {
                if on {
                    theme::row(true)(t, s)
                } else {
                    theme::tool(t, s)
                }
            })
            .on_press(Message::Mode(if on {
                self.fallback_mode(o)
            } else {
                Mode::Source
            })),
        );
        line.into()
    }
}

/// A message read and parsed, ready to show; made on any thread.
#[derive(Clone)]
pub struct Prepared {
    raw: Arc<[u8]>,
    view: Option<MessageView>,
    source_reason: Option<String>,
    document: Option<Document>,
    images: Images,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("bytes", &self.raw.len())
            .finish_non_exhaustive()
    }
}

/// Parses a message: the MIME structure, the HTML into a document, its images.
pub fn prepare(raw: Vec<u8>) -> Prepared {
    let raw: Arc<[u8]> = raw.into();
    let (view, source_reason) = match mime::parse(&raw) {
        Parsed::View(view) => (Some(view), None),
        Parsed::Source { reason, .. } => (None, Some(reason)),
    };
    let document = view
        .as_ref()
        .and_then(|v| v.html.as_ref())
        .map(|h| html::parse(&h.html));
    let images = document
        .as_ref()
        .map(|d| images_of(d, &raw))
        .unwrap_or_default();
    Prepared {
        raw,
        view,
        source_reason,
        document,
        images,
    }
}

/// Resolves each image block of the message itself to something drawable; remote ones
/// wait for the user's consent.
fn images_of(doc: &Document, raw: &[u8]) -> Images {
    doc.blocks
        .iter()
        .map(|b| match &b.kind {
            BlockKind::Image { source, .. } => match source {
                ImageSource::Part(i) => mime::attachment_bytes(raw, *i)
                    .map_or(Picture::Absent, |b| {
                        Picture::Ready(image::Handle::from_bytes(b))
                    }),
                ImageSource::Data(bytes) => {
                    Picture::Ready(image::Handle::from_bytes(bytes.clone()))
                }
                ImageSource::Remote(_) => Picture::Absent,
            },
            _ => Picture::Absent,
        })
        .collect()
}

/// The remote-images bar once they are allowed: why they show, and how loading went.
fn remote_shown(reader: &Reader, load: &RemoteLoad) -> String {
    let mut line = tr(if reader.images_allowed {
        "reader-remote-shown"
    } else {
        "reader-remote-shown-trusted"
    });
    if !load.waiting.is_empty() {
        line.push(' ');
        line.push_str(&tr("reader-remote-loading"));
    }
    if load.failed > 0 {
        line.push(' ');
        line.push_str(&tr_args(
            "reader-remote-failed",
            &[("count", load.failed.into())],
        ));
    }
    line
}

fn bold() -> Font {
    Font {
        weight: font::Weight::Bold,
        ..Font::DEFAULT
    }
}

fn muted(t: &iced::Theme) -> text::Style {
    text::Style {
        color: Some(theme::colors(t).muted),
    }
}

fn addresses(list: &[mime::Address]) -> String {
    list.iter()
        .map(|a| format::mailbox(a.name.as_deref(), &a.email))
        .collect::<Vec<_>>()
        .join(", ")
}

fn header<'a>(
    row_: &'a MessageRow,
    view: Option<&'a MessageView>,
    dates: &'a Dates,
) -> Element<'a, Message> {
    let subject = view.map_or(row_.subject.as_str(), |v| v.subject.as_str());
    let mut col = column![
        text(format::subject(subject, 1000))
            .size(size::TITLE)
            .font(bold())
    ]
    .spacing(space::XS);
    let line = |label: String, value: String| {
        row![
            text(label).size(size::SMALL).style(muted).width(56),
            text(value).size(size::SMALL).width(Length::Fill),
        ]
        .spacing(space::M)
    };
    let (from, to, cc) = match view {
        Some(v) => (addresses(&v.from), addresses(&v.to), addresses(&v.cc)),
        None => {
            let conv = |l: &[tern_core::store::Address]| {
                l.iter()
                    .map(|a| format::mailbox(a.name.as_deref(), &a.email))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            (conv(&row_.from), conv(&row_.to), conv(&row_.cc))
        }
    };
    col = col.push(line(tr("reader-from"), from));
    if !to.is_empty() {
        col = col.push(line(tr("reader-to"), to));
    }
    if !cc.is_empty() {
        col = col.push(line(tr("reader-cc"), cc));
    }
    let date = view.and_then(|v| v.date).unwrap_or(row_.date);
    col = col.push(line(tr("reader-date"), dates.long(date)));
    col.into()
}

fn bar<'a>(glyph: Icon, message: String, actions: Vec<(String, Message)>) -> Element<'a, Message> {
    let mut line = row![
        icon::icon(glyph, size::ICON),
        text(message).size(size::SMALL).width(Length::Fill),
    ]
    .spacing(space::M)
    .align_y(Alignment::Center);
    for (label, message) in actions {
        line = line.push(
            button(text(label).size(size::SMALL))
                .padding([space::XS, space::M])
                .style(button::secondary)
                .on_press(message),
        );
    }
    container(line)
        .padding([space::S, space::M])
        .width(Length::Fill)
        .style(theme::notice)
        .into()
}

fn attachments<'a>(list: &[Attachment]) -> Element<'a, Message> {
    let shown: Vec<&Attachment> = list.iter().filter(|a| !a.inline).collect();
    if shown.is_empty() {
        return Space::new().into();
    }
    let mut col = column![].spacing(space::XS);
    for a in shown {
        let name = a.name.clone().unwrap_or_else(|| tr("attachment-unnamed"));
        col = col.push(
            row![
                icon::icon(Icon::Attachment, size::ICON),
                text(name).size(size::SMALL).width(Length::Fill),
                text(format!("{} · {}", a.mime_type, format::size(a.size)))
                    .size(size::CAPTION)
                    .style(muted),
                button(text(tr("attachment-save")).size(size::SMALL))
                    .padding([space::XS, space::M])
                    .style(button::secondary)
                    .on_press(Message::Save(a.index)),
                button(text(tr("attachment-open")).size(size::SMALL))
                    .padding([space::XS, space::M])
                    .style(button::secondary)
                    .on_press(Message::Open(a.index)),
            ]
            .spacing(space::M)
            .align_y(Alignment::Center),
        );
    }
    container(col)
        .padding(space::M)
        .width(Length::Fill)
        .style(theme::card)
        .into()
}

/// A read-only, selectable text area: motions, selection and copy only.
fn read_only(content: &text_editor::Content, monospace: bool) -> Element<'_, Message> {
    let mut area = editor(content)
        .on_action(Message::Edit)
        .key_binding(|press: KeyPress| match Binding::from_key_press(press)? {
            b @ (Binding::Copy
            | Binding::SelectAll
            | Binding::Select(_)
            | Binding::SelectWord
            | Binding::SelectLine
            | Binding::Unfocus) => Some(b),
            // Typing and plain motions are left to the app's shortcuts.
            _ => None,
        })
        .size(size::BODY)
        .padding(0);
    if monospace {
        area = area.font(Font::MONOSPACE).size(size::SMALL);
    }
    area.style(|t: &iced::Theme, s| {
        let mut style = text_editor::default(t, s);
        style.background = iced::Color::TRANSPARENT.into();
        style.border = iced::Border::default();
        style
    })
    .into()
}

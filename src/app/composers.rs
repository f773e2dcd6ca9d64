//! The composer windows: opening one per message, routing each window's messages to its
//! composer, holding back what must reach the engine while it restarts, and reopening the
//! drafts that were open when the app last stopped (after a crash, say).

use super::{AfterStop, Message, State};
use crate::engine::Handle;
use crate::i18n::tr_args;
use crate::screen::compose::{self, Compose};
use crate::screen::mailbox::ComposeRequest;
use iced::{Task, window};
use tern_core::store::DraftId;

impl State {
    /// The account a new message is sent from by default: the one in view.
    fn account_in_view(&self) -> Option<String> {
        let mailbox = self.mailbox()?;
        let folder = mailbox.folder()?;
        mailbox.tree.folder(folder).map(|f| f.account.clone())
    }

    pub(super) fn open_composer(&mut self, request: ComposeRequest) -> Task<Message> {
        let Some(engine) = self.engine.clone() else {
            // The engine is restarting: ask again once it is back.
            self.deferred_requests.push(request);
            return Task::none();
        };
        if let ComposeRequest::Draft(draft) = request {
            return self.open_saved_draft(draft, &engine);
        }
        let account = self.account_in_view();
        let composer = Compose::new(request, engine, &self.accounts, account.as_deref());
        self.add_composer(composer)
    }

    /// A saved draft the user asked to edit: its window if one has it open already, else
    /// a new composer once the draft is read back (off the UI thread).
    fn open_saved_draft(&self, draft: DraftId, engine: &Handle) -> Task<Message> {
        if let Some((&window, _)) = self.composers.iter().find(|(_, c)| c.draft == draft) {
            return window::gain_focus(window);
        }
        load_drafts(engine, vec![draft], Message::ReopenDrafts)
    }

    fn add_composer(&mut self, composer: Compose) -> Task<Message> {
        let (id, open) = window::open(compose::window_settings());
        // Listed before anything is saved: if the app dies, the draft reopens.
        self.settings.open_drafts.insert(composer.draft);
        self.save_settings();
        self.composers.insert(id, composer);
        open.map(Message::ComposerOpened)
    }

    pub(super) fn composer_update(
        &mut self,
        id: window::Id,
        message: compose::Message,
    ) -> Task<Message> {
        if self.engine.is_none() && Compose::needs_engine(&message) {
            self.deferred.push((id, message));
            return Task::none();
        }
        let Some(composer) = self.composers.get_mut(&id) else {
            return Task::none();
        };
        match composer.update(message) {
            compose::Action::None => Task::none(),
            compose::Action::Run(task) => task.map(move |m| Message::Composer(id, m)),
            compose::Action::Close => {
                if let Some(composer) = self.composers.remove(&id) {
                    self.settings.open_drafts.remove(&composer.draft);
                    self.save_settings();
                }
                window::close(id)
            }
        }
    }

    /// The engine is back after a restart: what waited for it goes now.
    pub(super) fn engine_back(&mut self, handle: &Handle) -> Task<Message> {
        for composer in self.composers.values_mut() {
            composer.set_engine(handle.clone());
        }
        let held = std::mem::take(&mut self.deferred)
            .into_iter()
            .map(|(id, m)| Task::done(Message::Composer(id, m)));
        let requests = std::mem::take(&mut self.deferred_requests)
            .into_iter()
            .map(|r| Task::done(Message::Compose(r)));
        Task::batch(held.chain(requests))
    }

    /// Reopens the drafts that were open in a composer when the app last stopped.
    pub fn reopen_saved_drafts(&self) -> Task<Message> {
        match &self.engine {
            Some(handle) => self.drafts_to_reopen(handle),
            None => Task::none(),
        }
    }

    /// Loads the drafts listed as open when the app last stopped, off the UI thread.
    pub(super) fn drafts_to_reopen(&self, handle: &Handle) -> Task<Message> {
        let open: Vec<DraftId> = self
            .settings
            .open_drafts
            .iter()
            .copied()
            .filter(|d| !self.composers.values().any(|c| c.draft == *d))
            .collect();
        if open.is_empty() {
            return Task::none();
        }
        load_drafts(handle, open, Message::ReopenDrafts)
    }

    /// A message taken back from the Outbox as a draft: open it to fix and send again.
    pub(super) fn edit_reopened(&self, draft: DraftId) -> Task<Message> {
        match &self.engine {
            Some(handle) => load_drafts(handle, vec![draft], Message::OpenDrafts),
            None => Task::none(),
        }
    }
}

/// Reads saved drafts off the UI thread. One that cannot be read is left out, and the
/// mailbox's status line says so (the user asked for it, or had it open).
fn load_drafts(
    handle: &Handle,
    ids: Vec<DraftId>,
    open: fn(Vec<(DraftId, tern_core::compose::Compose)>) -> Message,
) -> Task<Message> {
    let store = handle.store();
    Task::perform(
        async move {
            let mut found = Vec::new();
            let mut failed = Vec::new();
            for id in ids {
                match tern_core::drafts::load(&store, id).await {
                    Ok(Some(compose)) => found.push((id, compose)),
                    Ok(None) => {}
                    Err(e) => failed.push(tr_args(
                        "error-draft-unreadable",
                        &[("reason", e.to_string().into())],
                    )),
                }
            }
            (found, failed)
        },
        |loaded| loaded,
    )
    .then(move |(found, failed)| {
        let errors = failed
            .into_iter()
            .map(|e| Task::done(Message::DraftUnreadable(e)));
        Task::batch(errors.chain([Task::done(open(found))]))
    })
}

impl State {
    pub(super) fn reopen_drafts(
        &mut self,
        drafts: Vec<(DraftId, tern_core::compose::Compose)>,
    ) -> Task<Message> {
        if self.engine.is_none() {
            return Task::none();
        }
        // Listed drafts that no longer exist (sent, discarded) are forgotten.
        let composers = &self.composers;
        self.settings.open_drafts.retain(|d| {
            drafts.iter().any(|(id, _)| id == d) || composers.values().any(|c| c.draft == *d)
        });
        self.save_settings();
        self.open_drafts(drafts)
    }

    /// Opens a composer on each draft not already open in one.
    pub(super) fn open_drafts(
        &mut self,
        drafts: Vec<(DraftId, tern_core::compose::Compose)>,
    ) -> Task<Message> {
        let Some(engine) = self.engine.clone() else {
            return Task::none();
        };
        let mut tasks = Vec::new();
        for (id, saved) in drafts {
            if self.composers.values().any(|c| c.draft == id) {
                continue;
            }
            let composer = Compose::open_draft(id, saved, engine.clone(), &self.accounts);
            tasks.push(self.add_composer(composer));
        }
        Task::batch(tasks)
    }

    /// A window closed. The app quits once no window is left, after the engine has
    /// stored what it was given and freed the profile.
    pub(super) fn window_closed(&mut self, id: window::Id) -> Task<Message> {
        if self.main_window == Some(id) {
            self.main_window = None;
            self.settings_screen = None;
        }
        if let Some(composer) = self.composers.remove(&id) {
            self.settings.open_drafts.remove(&composer.draft);
            self.save_settings();
        }
        if self.main_window.is_some() || !self.composers.is_empty() {
            return Task::none();
        }
        match self.engine.take() {
            Some(handle) => Task::perform(async move { handle.stop().await }, |()| {
                Message::EngineStopped(AfterStop::Quit)
            }),
            // A restart is stopping the old engine: quit when it is done.
            None if self.stopping => Task::none(),
            None => iced::exit(),
        }
    }
}

//! One module per screen; each has its own Message, update and view.

pub mod compose;
pub mod mailbox;
pub mod settings;
pub mod setup;
pub mod welcome;

//! One module per screen; each has its own Message, update and view.

pub mod mailbox;
pub mod welcome;

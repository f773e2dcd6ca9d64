//! Tern's mail engine: everything but the GUI.
//!
//! The GUI talks to [`engine::Engine`] only: commands in, events out. The engine owns the
//! local store and every network connection.

pub mod account;
pub mod compose;
pub mod drafts;
pub mod engine;
pub mod fault;
pub mod imap;
pub mod mime;
pub mod net;
pub mod outbox;
pub mod pop3;
pub mod profile;
pub mod secrets;
pub mod setup;
pub mod smtp;
pub mod store;
pub mod sync;
pub mod tls;

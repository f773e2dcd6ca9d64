//! Tern's desktop app (iced) on the `tern-core` engine. The binary (`main.rs`) is a thin
//! shell over [`app::run`]; tests and benchmarks drive [`app::State`] directly.

pub mod app;
pub mod engine;
pub mod i18n;
pub mod instance;
pub mod notify;
pub mod remote;
pub mod screen;
pub mod settings;
pub mod theme;
pub mod widget;

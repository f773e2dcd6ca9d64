//! Widgets the screens share.

pub mod anchored;
pub mod document;
pub mod html;
pub mod icon;
pub mod link_hover;
pub mod message_list;
pub mod pointer;
pub mod shortcuts;

//! Desktop notices for new mail in an Inbox: who wrote and about what for one message,
//! how many for several. Shown through the OS (the freedesktop notification service on
//! Linux, the notification centre on macOS and Windows); a desktop without one only
//! loses the notice, which is logged.

use crate::i18n::{tr, tr_args};
use crate::screen::mailbox::format;
use tern_core::store::{Flags, FolderId, SortOrder, Store, StoreError};

/// How long the sender and subject may be in a notice.
const SUBJECT_CHARS: usize = 80;

/// What a notice says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub title: String,
    pub body: String,
}

/// The notice for `count` new messages in the Inbox `folder` of the account named
/// `account`: read from the store's newest unread rows, so mail already read elsewhere
/// is not announced. None when nothing unread is left to announce.
pub fn new_mail(
    store: &Store,
    account: &str,
    folder: FolderId,
    count: u32,
) -> Result<Option<Notice>, StoreError> {
    let unread: Vec<_> = store
        .page(folder, 0, count.max(1), SortOrder::DateDesc)?
        .into_iter()
        .filter(|row| !row.flags.contains(Flags::SEEN))
        .collect();
    Ok(match unread.as_slice() {
        [] => None,
        [one] => Some(Notice {
            title: tr_args(
                "notice-new-mail-one",
                &[("sender", format::sender(&one.from).into())],
            ),
            body: format::subject(&one.subject, SUBJECT_CHARS),
        }),
        many => Some(Notice {
            title: tr_args(
                "notice-new-mail-many",
                &[("count", many.len().into()), ("account", account.into())],
            ),
            body: many
                .iter()
                .take(3)
                .map(|row| {
                    format!(
                        "{}: {}",
                        format::sender(&row.from),
                        format::subject(&row.subject, SUBJECT_CHARS)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
        }),
    })
}

/// Text from mail as a notice shows it: freedesktop servers read the body as markup, and
/// a sender's name must not become a link or an image fetched from the web.
fn plain(text: &str) -> String {
    if cfg!(target_os = "linux") {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    } else {
        text.to_owned()
    }
}

/// Shows `notice` on the desktop, off the UI thread (the OS call may block).
pub async fn show(notice: Notice) {
    let shown = tokio::task::spawn_blocking(move || {
        notify_rust::Notification::new()
            .appname(&tr("app-title"))
            .summary(&plain(&notice.title))
            .body(&plain(&notice.body))
            .show()
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await;
    match shown {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("cannot show a new-mail notice: {e}"),
        Err(e) => tracing::warn!("cannot show a new-mail notice: {e}"),
    }
}

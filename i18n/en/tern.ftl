# Tern — English
app-title = Tern

## Welcome
welcome-title = Welcome to Tern
welcome-no-accounts = No account is set up yet.
welcome-profile = Profile folder: { $path }
error-engine = The mail engine could not start: { $reason }

## Folder tree
folder-inbox = Inbox
folder-unified = All Inboxes
folder-outbox = Outbox
folder-outbox-failed = Outbox ({ $failed } not sent)

## Toolbar
toolbar-reply = Reply (R)
toolbar-reply-all = Reply to all (A)
toolbar-forward = Forward (F)
toolbar-archive = Archive (E)
toolbar-junk = Junk (!)
toolbar-delete = Delete (Del)
toolbar-move = Move to…
toolbar-read = Mark read or unread (M)
toolbar-flag = Flag (S)
search-placeholder = Search (/)

## Message list
list-count = { $count ->
    [one] 1 message
   *[other] { $count } messages
}
list-search-results = Search results
list-no-results = No messages match.
list-syncing = Downloading { $fetched } of { $total } messages…
list-syncing-empty = Downloading messages…
messages-empty = This folder is empty.
sort-newest = Newest first
sort-oldest = Oldest first
sort-sender = By sender
no-subject = (no subject)
no-sender = (no sender)
size-bytes = { $n } B
size-kb = { $n } KB
size-mb = { $n } MB

## Outbox
outbox-empty = Nothing waiting to be sent.
outbox-queued = Waiting to send
outbox-sending = Sending…
outbox-sent = Sent
outbox-failed = Not sent
outbox-maybe-sent = May have been sent

## Reader
reader-none = Select a message to read it.
reader-loading = Downloading the message…
reader-empty = This message has no text.
reader-from = From
reader-to = To
reader-cc = Cc
reader-date = Date
reader-formatted = Formatted
reader-plain = Plain text
reader-source = Source
reader-source-reason = This message could not be read ({ $reason }); its source is shown.
reader-remote-blocked = { $count ->
    [one] 1 remote image was blocked to protect your privacy.
   *[other] { $count } remote images were blocked to protect your privacy.
}
reader-remote-load = Load for this message
reader-remote-always = Always for this sender
reader-remote-allowed = Remote images are allowed for this message; Tern does not download them yet.
reader-link = This link goes to: { $url }
reader-link-open = Open in browser
reader-link-copy = Copy link
reader-link-cancel = Cancel
attachment-unnamed = attachment
attachment-save = Save…
attachment-open = Open

## Status line
status-online = { $account }: online
status-connecting = { $account }: connecting…
status-offline = { $account }: offline — { $reason }
status-offline-short = { $account }: offline
status-syncing = { $folder }: { $fetched } of { $total }
status-outbox = { $count ->
    [one] 1 message in the Outbox
   *[other] { $count } messages in the Outbox
}
errors-title = Problems
theme-system = System theme
theme-light = Light theme
theme-dark = Dark theme
notice-saved = Saved to { $path }
notice-no-such-folder = This account has no such folder.
error-open-link = Could not open it: { $reason }
error-save = Could not write { $path }: { $reason }
error-risky-attachment = { $name } could run programs when opened; save it instead and check it first.

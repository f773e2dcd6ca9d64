# Tern — English
app-title = Tern

## Welcome
welcome-title = Welcome to Tern
welcome-no-accounts = No account is set up yet. Add your email account to start reading and sending mail.
welcome-setup = Set up an account
welcome-profile = Profile folder: { $path }
error-engine = The mail engine could not start: { $reason }

## Folder tree
folder-inbox = Inbox
folder-unified = All Inboxes
folder-outbox = Outbox
folder-outbox-failed = Outbox ({ $failed } not sent)

## Toolbar
toolbar-compose = New message (C)
toolbar-settings = Settings (Ctrl+,)
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
outbox-send-again = Send again
outbox-edit = Edit…
outbox-delete = Delete
outbox-confirm-maybe-sent = This message may already have been sent. Send it again?
outbox-confirm-delete = Delete this message without sending it?
outbox-cancel = Cancel

## Context menu of the message list
menu-edit-draft = Edit draft
menu-reply = Reply
menu-reply-all = Reply to all
menu-forward = Forward
menu-mark-read = Mark as read
menu-mark-unread = Mark as unread
menu-flag = Flag
menu-unflag = Remove flag
menu-move = Move to
menu-archive = Archive
menu-junk = Move to Junk
menu-delete = Delete
# The keys that do the same, shown beside the menu's items.
key-reply = R
key-reply-all = A
key-forward = F
key-read = M
key-flag = S
key-archive = E
key-junk = !
key-delete = Del

## Dragging messages onto a folder
drag-move = { $count ->
    [one] 1 message
   *[other] { $count } messages
}
drag-copy = { $count ->
    [one] Copy 1 message
   *[other] Copy { $count } messages
}
notice-copied = { $count ->
    [one] Copied 1 message to { $folder }
   *[other] Copied { $count } messages to { $folder }
}

## Drafts
draft-bar = This is a draft you saved in Tern.
draft-edit = Edit draft
drafts-local = Saved on this computer only
draft-no-recipient = (no recipient yet)

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
reader-remote-shown = Remote images are shown for this message.
reader-remote-shown-trusted = Remote images are shown because you trust this sender.
reader-remote-loading = Loading them…
reader-remote-failed = { $count ->
    [one] 1 could not be loaded.
   *[other] { $count } could not be loaded.
}
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
error-draft-unreadable = The saved draft could not be opened: { $reason }
error-save = Could not write { $path }: { $reason }
error-risky-attachment = { $name } could run programs when opened; save it instead and check it first.

## Account setup
setup-title-first = Welcome to Tern
setup-intro-first = Set up your mail account to start. Tern fills in the server settings from your address; check them if your provider gave you others.
setup-title-add = Add an account
setup-intro-add = Tern fills in the server settings from your address; check them if your provider gave you others.
setup-title-edit = Edit account
setup-intro-edit = Change the account's settings. Leave the password empty to keep the one you saved.
setup-name = Your name
setup-name-placeholder = As others will see it
setup-email = Email address
setup-email-placeholder = you@example.org
setup-password = Password
setup-password-keep = Unchanged
setup-protocol = Read mail with
setup-protocol-imap = IMAP (recommended: mail stays on the server)
setup-protocol-pop3 = POP3 (download to this computer)
setup-incoming-imap = Incoming mail (IMAP)
setup-incoming-pop3 = Incoming mail (POP3)
setup-outgoing = Outgoing mail (SMTP)
setup-host = Server
setup-host-placeholder = mail.example.org
setup-port = Port
setup-security = Security
setup-security-tls = SSL/TLS
setup-security-starttls = STARTTLS
setup-security-none = None (not encrypted)
setup-login = User name
setup-login-placeholder = Usually your email address
setup-plaintext-agree = Send my password unencrypted anyway (anyone on the network could read it)
setup-pinned = Trusted certificate for this server: { $fingerprint }
setup-test = Test connection
setup-testing = Testing the connection…
setup-save = Save
setup-saving = Saving…
setup-cancel = Cancel
setup-ok = Connected and logged in.
setup-wrong-password = The server did not accept the user name or password. It said: { $reply }
setup-host-not-found = There is no server called “{ $host }”. Check the server name, and that this computer is online.
setup-port-closed = { $host } does not accept connections on port { $port }. Check the port number.
setup-timeout = The server did not answer in time. Check the port and the security setting: SSL/TLS and STARTTLS usually use different ports.
setup-cert-untrusted = The server's certificate is not trusted: { $reason } Trust it only if your provider confirms this fingerprint:
    { $fingerprint }
setup-cert-expired = it has expired.
setup-cert-not-yet-valid = it is not valid yet (check this computer's date).
setup-cert-wrong-name = it was made for another server name.
setup-cert-revoked = its issuer has revoked it.
setup-cert-unknown-issuer = it is not signed by an authority this computer trusts (a self-signed certificate, or someone intercepting the connection).
setup-cert-trust = Trust this certificate for this account
setup-cert-changed = The server's certificate has changed since you trusted it. Someone may be intercepting the connection. Trusted:
    { $pinned }
    Now:
    { $presented }
setup-cert-trust-new = Trust the new certificate
setup-refused = The server refused: { $reply }
setup-plaintext = Security is set to “None”: your password would travel unencrypted.
setup-tls-not-offered = The server does not offer STARTTLS on this port. Try SSL/TLS on its own port.
setup-tls-failed = A secure connection could not be set up ({ $detail }). The port may expect the other security setting.
setup-no-login-method = The server offers no way to log in that Tern supports on this connection.
setup-failed = The test failed: { $detail }
setup-error-email = Enter your whole email address, like you@example.org.
setup-error-password = Enter your password.
setup-error-host = Enter the server's name, like mail.example.org.
setup-error-port = Enter a port number between 1 and 65535.
setup-error-login = The user name cannot contain a line break.
setup-error-keychain = The password could not be stored in the system keychain ({ $reason }). The account was not saved.
setup-error-config = The account could not be saved: { $reason }

## Settings
settings-title = Settings
settings-done = Done
settings-accounts = Accounts
settings-no-accounts = No account is set up yet.
settings-add-account = Add account…
settings-edit = Edit…
settings-identities = Identities…
settings-remove = Remove
settings-remove-confirm = Remove this account? Its password is deleted too.
settings-remove-yes = Remove
settings-remove-no = Keep
settings-error-keychain = The account was removed, but its password could not be deleted from the keychain ({ $reason }).
settings-appearance = Appearance
settings-theme-system = Like the system
settings-theme-light = Light
settings-theme-dark = Dark
settings-privacy = Privacy
settings-remote-intro = Images and other content from the web can tell the sender when and where you read a message.
settings-remote-never = Never load remote content
settings-remote-ask = Ask for each message
settings-remote-trusted = Load automatically from senders I trust; ask for others
settings-trusted-none = You have not trusted any sender yet. Choose “Always for this sender” on a message to add one.
settings-trusted-forget = Forget
settings-identities-title = Identities
settings-identities-intro = The names and addresses you write as from { $account }, and their signatures.
settings-identity-name = Name
settings-identity-email = Email address
settings-identity-reply-to = Replies go to (optional)
settings-identity-signature = Signature
settings-identity-add = Add identity
settings-identity-remove = Remove identity
settings-identity-bad-email = “{ $email }” is not a complete email address.
settings-identity-bad-name = A name cannot contain a line break.
settings-save = Save
settings-cancel = Cancel

## Composer
compose-title-new = New message
compose-from = From
compose-to = To
compose-cc = Cc
compose-bcc = Bcc
compose-subject = Subject
compose-show-copies = Cc/Bcc
compose-attach = Attach…
compose-attachments = Attached
compose-attach-original = Attach the original message
compose-save-draft = Save draft
compose-send = Send
compose-draft-unsaved = Not saved yet
compose-draft-saving = Saving…
compose-draft-saved = Draft saved
compose-draft-failed = The draft could not be saved: { $reason }
compose-loading-original = Downloading the original message…
compose-close-title = Save this message as a draft?
compose-close-body = You have changes that are not saved yet.
compose-close-keep = Keep writing
compose-close-discard = Discard
compose-close-save = Save draft
compose-error-no-recipients = Add at least one recipient.
compose-error-no-identity = Set up an account to send from first.
compose-error-address = “{ $address }” is not a valid address.
compose-error-line-break = A field other than the message text contains a line break; remove it.
compose-error-file = Could not attach { $path }: { $reason }
compose-error-original = The original message could not be downloaded.

## Desktop notices
notice-new-mail-one = New mail from { $sender }
notice-new-mail-many = { $count } new messages for { $account }

# Tern — English
app-title = Tern
welcome-title = Welcome to Tern
welcome-no-accounts = No account is set up yet.
welcome-profile = Profile folder: { $path }
folders-heading = Folders
folder-unread = { $name } ({ $unread })
messages-heading = Messages
messages-empty = This folder is empty.
status-online = { $account }: online
status-offline = { $account }: offline — { $reason }
status-syncing = { $account }: syncing { $fetched } of { $total }
error-engine = The mail engine could not start: { $reason }
no-subject = (no subject)

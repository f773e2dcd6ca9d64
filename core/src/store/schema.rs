//! The schema as an ordered list of migration steps; `PRAGMA user_version` records how many
//! have run. A step is never edited once released: a change is a new step at the end.

use rusqlite::Connection;

use super::StoreError;

/// Step 1: folders, messages, thread links, bodies, the op queue, and the triggers that keep
/// folder counts right whatever path moves, re-flags or deletes a message. Inserts count
/// themselves (messages.rs `add_counts`): an insert trigger costs a savepoint per row.
const V1: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
-- Thread ids come from a counter rather than max(thread)+1 so a deleted thread's id (still
-- named by stale thread_link rows) is never handed to an unrelated thread.
INSERT INTO meta (key, value) VALUES ('next_thread', 1), ('next_seq', 0);

CREATE TABLE folder (
    id            INTEGER PRIMARY KEY,
    account       TEXT NOT NULL,
    name          TEXT NOT NULL,
    delimiter     TEXT,
    role          TEXT,
    subscribed    INTEGER NOT NULL,
    selectable    INTEGER NOT NULL,
    uidvalidity   INTEGER,
    uidnext       INTEGER,
    highestmodseq INTEGER,
    total         INTEGER NOT NULL DEFAULT 0,
    unread        INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX folder_account_name ON folder (account, name);

CREATE TABLE message (
    id             INTEGER PRIMARY KEY, -- date << 22 | sequence (ids.rs)
    folder         INTEGER NOT NULL REFERENCES folder (id) ON DELETE CASCADE,
    uid            INTEGER,            -- NULL while the row exists only locally
    flags          INTEGER NOT NULL DEFAULT 0,
    keywords       TEXT NOT NULL DEFAULT '[]',
    modseq         INTEGER NOT NULL DEFAULT 0,
    date           INTEGER NOT NULL,   -- sane Date header, else internal date
    internal_date  INTEGER NOT NULL,
    size           INTEGER NOT NULL,
    subject        TEXT NOT NULL,
    sender_sort    TEXT NOT NULL,      -- case-folded first sender, for SenderAsc
    addr_from      TEXT NOT NULL DEFAULT '[]',
    addr_to        TEXT NOT NULL DEFAULT '[]',
    addr_cc        TEXT NOT NULL DEFAULT '[]',
    addr_bcc       TEXT NOT NULL DEFAULT '[]',
    addr_reply_to  TEXT NOT NULL DEFAULT '[]',
    message_id     TEXT,
    in_reply_to    TEXT,
    refs           TEXT NOT NULL DEFAULT '[]',
    thread         INTEGER NOT NULL,
    subject_key    TEXT,               -- normalised subject for the thread fallback
    subject_kind   INTEGER NOT NULL DEFAULT 0, -- 0 original, 1 reply, 2 reply without headers
    has_attachment INTEGER NOT NULL DEFAULT 0,
    has_body       INTEGER NOT NULL DEFAULT 0
);
-- NULL uids never collide, so local-only rows need no special case.
CREATE UNIQUE INDEX message_folder_uid ON message (folder, uid);
-- Paging by date: the rowid in every index makes (date, id) a total order.
CREATE INDEX message_folder_date ON message (folder, date);
CREATE INDEX message_folder_sender ON message (folder, sender_sort, date DESC, id DESC);
-- Only local-only rows are looked up by Message-ID within a folder (adoption); other
-- Message-ID lookups go through thread_link and the thread index.
CREATE INDEX message_local_msgid ON message (folder, message_id) WHERE uid IS NULL;
CREATE INDEX message_thread ON message (thread, date);
CREATE INDEX message_subject ON message (subject_key, subject_kind, date)
    WHERE subject_key IS NOT NULL;

-- Every Message-ID a message has or references, per account, mapped to its thread; key is
-- a hash of (account, Message-ID) (threads.rs link_key). Rows outlive their messages on
-- purpose: a refetched message rejoins its old thread.
CREATE TABLE thread_link (
    key    INTEGER PRIMARY KEY,
    thread INTEGER NOT NULL
);
-- A thread merged into another; links naming it are resolved through here.
CREATE TABLE thread_alias (
    thread INTEGER PRIMARY KEY,
    target INTEGER NOT NULL
);
CREATE INDEX thread_alias_target ON thread_alias (target);

CREATE TABLE body (
    message INTEGER PRIMARY KEY REFERENCES message (id) ON DELETE CASCADE,
    raw     BLOB NOT NULL
);

-- The JSON in `op` is the truth; the other columns are copies for lookups.
CREATE TABLE pending_op (
    id         INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: the engine holds op ids
    account    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    folder     INTEGER NOT NULL,  -- the source folder (SetFlags/Expunge/Append: the folder)
    uid        INTEGER,
    local      INTEGER,           -- the row a Move/Copy/Append creates
    op         TEXT NOT NULL,
    created    INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX pending_op_account ON pending_op (account, id);
CREATE INDEX pending_op_local ON pending_op (local) WHERE local IS NOT NULL;
CREATE INDEX pending_op_folder ON pending_op (folder, kind);

CREATE TRIGGER message_count_delete AFTER DELETE ON message BEGIN
    UPDATE folder SET total = total - 1, unread = unread - ((OLD.flags & 1) = 0)
    WHERE id = OLD.folder;
END;
CREATE TRIGGER message_count_update AFTER UPDATE OF folder, flags ON message BEGIN
    UPDATE folder SET total = total - 1, unread = unread - ((OLD.flags & 1) = 0)
    WHERE id = OLD.folder;
    UPDATE folder SET total = total + 1, unread = unread + ((NEW.flags & 1) = 0)
    WHERE id = NEW.folder;
END;
"#;

/// Step 2: the full-text index, filled from the rows a step-1 database already holds (bodies
/// are indexed when the engine next stores them: their text needs the MIME parser).
const V2: &str = r#"
CREATE VIRTUAL TABLE message_fts USING fts5 (
    sender, recipients, subject, body,
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO message_fts (rowid, sender, recipients, subject, body)
SELECT m.id,
       (SELECT coalesce(group_concat(coalesce(json_extract(a.value, '$.name'), '') || ' '
                                     || json_extract(a.value, '$.email'), ' '), '')
        FROM json_each(m.addr_from) AS a),
       (SELECT coalesce(group_concat(coalesce(json_extract(a.value, '$.name'), '') || ' '
                                     || json_extract(a.value, '$.email'), ' '), '')
        FROM (SELECT value FROM json_each(m.addr_to)
              UNION ALL SELECT value FROM json_each(m.addr_cc)
              UNION ALL SELECT value FROM json_each(m.addr_bcc)) AS a),
       m.subject,
       ''
FROM message AS m;
-- Deletes reach the index from every path (expunge, folder reset, folder removal cascade).
CREATE TRIGGER message_fts_delete AFTER DELETE ON message BEGIN
    DELETE FROM message_fts WHERE rowid = OLD.id;
END;
"#;

/// Step 3: rows whose full-text index entry is still to be written. A first sync stores its
/// headers without indexing them (FTS5 is most of an insert's cost) and indexes them after,
/// newest first, in `Store::index_pending`. A body stored meanwhile indexes its row at once.
const V3: &str = r#"
CREATE TABLE fts_pending (
    id INTEGER PRIMARY KEY -- message id
);
CREATE TRIGGER fts_pending_delete AFTER DELETE ON message BEGIN
    DELETE FROM fts_pending WHERE id = OLD.id;
END;
"#;

/// Step 4: what Tern writes and downloads itself. The outbox (a message is stored here before
/// any network I/O and walks queued -> submitting -> accepted -> copied to Sent -> done),
/// drafts with their attachments, and the UIDLs a POP3 account has already stored.
const V4: &str = r#"
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account      TEXT NOT NULL,
    message_id   TEXT NOT NULL,      -- without angle brackets; the Sent copy is found by it
    raw          BLOB NOT NULL,      -- exactly the bytes submitted (no Bcc header)
    bcc_header   TEXT,               -- the folded Bcc line the Sent copy carries on top
    envelope     TEXT NOT NULL,      -- JSON: {"from": ..., "to": [...]} (Bcc included)
    subject      TEXT NOT NULL,      -- for the Outbox list
    state        TEXT NOT NULL,      -- outbox.rs OutboxState
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL DEFAULT 0, -- unix seconds
    last_error   TEXT,
    created      INTEGER NOT NULL,
    updated      INTEGER NOT NULL
);
CREATE INDEX outbox_account ON outbox (account, state);

CREATE TABLE draft (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account     TEXT NOT NULL,
    compose     TEXT NOT NULL,       -- JSON of the compose model, attachments by reference
    updated     INTEGER NOT NULL,    -- unix milliseconds of the last local save
    server_message_id TEXT,          -- Message-ID of the copy last saved to the server
    server_saved      INTEGER,       -- unix milliseconds of that save
    forwarded         BLOB           -- the message a forward-as-attachment carries
);
CREATE TABLE draft_attachment (
    draft        INTEGER NOT NULL REFERENCES draft (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data         BLOB NOT NULL,
    PRIMARY KEY (draft, position)
) WITHOUT ROWID;

-- A row is written in the same transaction as the message it names, so a UIDL is never
-- seen without its message stored. `message` is NULL once the local copy is deleted (any
-- path: expunge, emptied Trash, folder removal), which "delete from server when deleted
-- here" acts on.
CREATE TABLE pop3_seen (
    account      TEXT NOT NULL,
    uidl         TEXT NOT NULL,
    message      INTEGER,
    downloaded   INTEGER NOT NULL,   -- unix seconds, for "delete from server after N days"
    PRIMARY KEY (account, uidl)
) WITHOUT ROWID;
CREATE INDEX pop3_seen_message ON pop3_seen (message) WHERE message IS NOT NULL;
CREATE TRIGGER pop3_seen_local_delete AFTER DELETE ON message BEGIN
    UPDATE pop3_seen SET message = NULL WHERE message = OLD.id;
END;
-- Accounts whose mail is downloaded by POP3: their folders exist only here, so no local
-- action on them may queue a server operation (RAISE(IGNORE) skips the insert silently).
CREATE TABLE pop3_account (
    account TEXT PRIMARY KEY
) WITHOUT ROWID;
CREATE TRIGGER pop3_account_no_server_ops BEFORE INSERT ON pending_op
WHEN EXISTS (SELECT 1 FROM pop3_account WHERE account = NEW.account) BEGIN
    SELECT RAISE(IGNORE);
END;
"#;

/// Step 5: the address book behind To/Cc completion (store/addresses.rs): every address seen
/// in a From, To or Cc outside Junk, how often (a recipient of the user's own Sent mail
/// counts five times) and when last, with a full-text index for word-prefix matching that
/// folds case and accents. Kept current by a trigger that runs once per write transaction,
/// not once per row: a first sync stores rows at nearly the speed it did without it.
/// Filled from the rows a step-4 database already holds.
///
/// How the trigger finds a transaction's new rows: the low 22 bits of a message id are the
/// store's insert sequence (ids.rs), saved in `meta` once per transaction; an index on them
/// reads the rows between the old and the new value. Once the sequence has wrapped (4M
/// rows stored), an old row with the same low bits is counted again: a count drifts a
/// little, no address is made up.
const V5: &str = r#"
CREATE TABLE address_book (
    id    INTEGER PRIMARY KEY,
    key   TEXT NOT NULL UNIQUE,   -- lower(email): one row per address
    email TEXT NOT NULL,
    name  TEXT,                   -- the first display name seen with it
    uses  INTEGER NOT NULL,       -- weighted count of the messages it appears in
    last  INTEGER NOT NULL        -- date of the newest of them
);
CREATE VIRTUAL TABLE address_fts USING fts5 (
    name, email,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '1 2 3'
);
CREATE INDEX message_seq ON message ((id & 4194303));

INSERT INTO address_book (key, email, name, uses, last)
SELECT lower(json_extract(j.value, '$.email')), min(json_extract(j.value, '$.email')),
       min(nullif(trim(json_extract(j.value, '$.name')), '')),
       sum(CASE WHEN p.part > 1 AND f.role = 'sent' THEN 5 ELSE 1 END), max(m.date)
FROM message AS m
JOIN folder AS f ON f.id = m.folder AND f.role IS NOT 'junk'
JOIN (SELECT 1 AS part UNION ALL SELECT 2 UNION ALL SELECT 3) AS p
JOIN json_each(CASE p.part WHEN 1 THEN m.addr_from WHEN 2 THEN m.addr_to ELSE m.addr_cc END) AS j
WHERE json_extract(j.value, '$.email') LIKE '_%@_%'
GROUP BY lower(json_extract(j.value, '$.email'));
INSERT INTO address_fts (rowid, name, email)
SELECT id, coalesce(name, ''), email FROM address_book;

CREATE TRIGGER address_book_insert AFTER INSERT ON address_book BEGIN
    INSERT INTO address_fts (rowid, name, email)
    VALUES (NEW.id, coalesce(NEW.name, ''), NEW.email);
END;
CREATE TRIGGER address_book_name AFTER UPDATE OF name ON address_book
WHEN OLD.name IS NOT NEW.name BEGIN
    DELETE FROM address_fts WHERE rowid = NEW.id;
    INSERT INTO address_fts (rowid, name, email)
    VALUES (NEW.id, coalesce(NEW.name, ''), NEW.email);
END;
CREATE TRIGGER address_book_delete AFTER DELETE ON address_book BEGIN
    DELETE FROM address_fts WHERE rowid = OLD.id;
END;

-- The sequence range [OLD.value, NEW.value) in low bits: one range, or two once it wraps.
CREATE TRIGGER message_address_book AFTER UPDATE OF value ON meta
WHEN NEW.key = 'next_seq' AND NEW.value > OLD.value BEGIN
    INSERT INTO address_book (key, email, name, uses, last)
    SELECT lower(a.email), min(a.email), min(a.name), sum(a.weight), max(a.date)
    FROM (
        SELECT j.value ->> 'email' AS email, nullif(trim(j.value ->> 'name'), '') AS name,
               CASE WHEN p.part > 1 AND f.role = 'sent' THEN 5 ELSE 1 END AS weight,
               m.date AS date
        FROM (
            SELECT OLD.value & 4194303 AS lo,
                   CASE WHEN (OLD.value & 4194303) <= ((NEW.value - 1) & 4194303)
                        THEN (NEW.value - 1) & 4194303 ELSE 4194303 END AS hi
            UNION ALL
            SELECT 0, (NEW.value - 1) & 4194303
            WHERE (OLD.value & 4194303) > ((NEW.value - 1) & 4194303)
        ) AS r
        JOIN message AS m ON (m.id & 4194303) BETWEEN r.lo AND r.hi
        JOIN folder AS f ON f.id = m.folder AND f.role IS NOT 'junk'
        JOIN (SELECT 1 AS part UNION ALL SELECT 2 UNION ALL SELECT 3) AS p
        JOIN json_each(CASE p.part WHEN 1 THEN m.addr_from WHEN 2 THEN m.addr_to
                       ELSE m.addr_cc END) AS j
    ) AS a
    WHERE a.email LIKE '_%@_%'
    GROUP BY lower(a.email)
    ON CONFLICT (key) DO UPDATE SET uses = uses + excluded.uses, last = max(last, excluded.last),
        name = coalesce(name, excluded.name);
END;
"#;

/// Step 6: the address book is brought up to date from a high-water mark, `address_seq` in
/// `meta` (the insert sequence up to which it has read the messages), instead of at every
/// commit. Advancing the mark folds the rows in between into the book. Every write advances
/// it to the end as before, except a first sync's bulk inserts: those leave it behind, and
/// `Store::fold_pending_addresses` catches up in chunks once the folder is in (a set-based
/// pass over thousands of rows costs a fraction of what it costs a few thousand at a time
/// while the sync is storing them). A span of 4M rows or more reads every message.
const V6: &str = r#"
INSERT INTO meta (key, value) SELECT 'address_seq', value FROM meta WHERE key = 'next_seq';
DROP TRIGGER message_address_book;
CREATE TRIGGER message_address_book AFTER UPDATE OF value ON meta
WHEN NEW.key = 'address_seq' AND NEW.value > OLD.value BEGIN
    INSERT INTO address_book (key, email, name, uses, last)
    SELECT lower(a.email), min(a.email), min(a.name), sum(a.weight), max(a.date)
    FROM (
        SELECT j.value ->> 'email' AS email, nullif(trim(j.value ->> 'name'), '') AS name,
               CASE WHEN p.part > 1 AND f.role = 'sent' THEN 5 ELSE 1 END AS weight,
               m.date AS date
        FROM (
            SELECT CASE WHEN NEW.value - OLD.value >= 4194304 THEN 0
                        ELSE OLD.value & 4194303 END AS lo,
                   CASE WHEN NEW.value - OLD.value >= 4194304 THEN 4194303
                        WHEN (OLD.value & 4194303) <= ((NEW.value - 1) & 4194303)
                        THEN (NEW.value - 1) & 4194303 ELSE 4194303 END AS hi
            UNION ALL
            SELECT 0, (NEW.value - 1) & 4194303
            WHERE NEW.value - OLD.value < 4194304
              AND (OLD.value & 4194303) > ((NEW.value - 1) & 4194303)
        ) AS r
        JOIN message AS m ON (m.id & 4194303) BETWEEN r.lo AND r.hi
        JOIN folder AS f ON f.id = m.folder AND f.role IS NOT 'junk'
        JOIN (SELECT 1 AS part UNION ALL SELECT 2 UNION ALL SELECT 3) AS p
        JOIN json_each(CASE p.part WHEN 1 THEN m.addr_from WHEN 2 THEN m.addr_to
                       ELSE m.addr_cc END) AS j
    ) AS a
    WHERE a.email LIKE '_%@_%'
    GROUP BY lower(a.email)
    ON CONFLICT (key) DO UPDATE SET uses = uses + excluded.uses, last = max(last, excluded.last),
        name = coalesce(name, excluded.name);
END;
"#;

/// Every migration step, oldest first; step `i` brings `user_version` from `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6];

/// Runs the steps the database has not seen yet, each in its own transaction.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    migrate_to(conn, MIGRATIONS.len())
}

/// Runs steps up to `target` (a `user_version`); for tests that need an old database.
pub fn migrate_to(conn: &mut Connection, target: usize) -> Result<(), StoreError> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let supported = MIGRATIONS.len() as i64;
    if current > supported || current < 0 {
        return Err(StoreError::TooNew {
            found: current,
            supported,
        });
    }
    let target = target.min(MIGRATIONS.len());
    for (i, step) in MIGRATIONS
        .iter()
        .enumerate()
        .take(target)
        .skip(current as usize)
    {
        // user_version lives in the database header, so it commits with the step.
        let tx = conn.transaction()?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

-- SPDX-License-Identifier: Apache-2.0
-- Tracker sync: ticket links, the outbox of ticket operations, status history,
-- poll cursors and webhook de-duplication.

CREATE TABLE tickets (
    id             INTEGER PRIMARY KEY,
    project_id     INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    connector      TEXT NOT NULL,
    marker         TEXT NOT NULL,             -- idempotency label, threatsync-<hash>
    remote_key     TEXT,                      -- PROJ-123, or group/project#45
    remote_id      TEXT,
    remote_url     TEXT,
    remote_status  TEXT,
    remote_status_category TEXT,
    remote_updated TEXT,                      -- the tracker's own timestamp, verbatim
    content_hash   TEXT,                      -- of the text threatsync last wrote
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (connector, marker)
);
CREATE UNIQUE INDEX tickets_by_key ON tickets(connector, remote_key) WHERE remote_key IS NOT NULL;
CREATE INDEX tickets_by_project ON tickets(project_id);

ALTER TABLE countermeasures ADD COLUMN ticket_id INTEGER REFERENCES tickets(id) ON DELETE SET NULL;
CREATE INDEX countermeasures_by_ticket ON countermeasures(ticket_id);

-- next_attempt_at is unix time in milliseconds, so the scheduler can compare numbers.
CREATE TABLE outbox (
    id                INTEGER PRIMARY KEY,
    project_id        INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    connector         TEXT NOT NULL,
    op                TEXT NOT NULL CHECK (op IN ('create', 'update', 'close', 'reopen',
                                                  'comment', 'transition', 'link')),
    countermeasure_id INTEGER REFERENCES countermeasures(id) ON DELETE CASCADE,
    ticket_id         INTEGER REFERENCES tickets(id) ON DELETE CASCADE,
    payload           TEXT NOT NULL DEFAULT '{}',
    state             TEXT NOT NULL DEFAULT 'pending'
                      CHECK (state IN ('pending', 'inflight', 'done', 'failed', 'dead')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox(connector, state, next_attempt_at);
CREATE INDEX outbox_by_cm ON outbox(countermeasure_id);

CREATE TABLE status_history (
    id                INTEGER PRIMARY KEY,
    countermeasure_id INTEGER NOT NULL REFERENCES countermeasures(id) ON DELETE CASCADE,
    ticket_id         INTEGER REFERENCES tickets(id) ON DELETE SET NULL,
    from_status       TEXT,
    to_status         TEXT NOT NULL,
    source            TEXT NOT NULL CHECK (source IN ('generate', 'cli', 'override', 'poll',
                                                      'webhook', 'reconcile', 'verify')),
    actor             TEXT NOT NULL DEFAULT '',
    remote_time       TEXT,
    reason            TEXT,
    recorded_at       TEXT NOT NULL
);
CREATE INDEX status_history_by_cm ON status_history(countermeasure_id, recorded_at);

-- Last successful poll per connector and tracker project.
CREATE TABLE sync_cursors (
    connector   TEXT NOT NULL,
    scope       TEXT NOT NULL,
    cursor      TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (connector, scope)
) WITHOUT ROWID;

CREATE TABLE webhook_deliveries (
    connector   TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (connector, delivery_id)
) WITHOUT ROWID;

-- SPDX-License-Identifier: Apache-2.0
-- Cheaper writes of outbox and status history rows, the bulk of a push (a
-- claim, then a result, per ticket operation) and of a generation with a
-- tracker (one outbox row per task).
--
-- As in 0006: SQLite checks a CHECK (x IN (...)) of three or more values by
-- building a temporary b-tree of the list for every row it writes. The same
-- constraints are written here as equalities (the columns are NOT NULL).
-- Both tables are rebuilt the documented way (new table, copy, drop,
-- rename), keeping every row and id; foreign keys are off while a migration
-- runs and are checked before it commits.
--
-- outbox_due (connector, state, next_attempt_at) is not recreated: the
-- partial indexes of 0005 serve the claim and the recovery, and "is anything
-- due" now reads outbox_open_due (the open rows) instead of scanning this
-- index over the whole history of done rows. One index fewer to update at
-- every state change.

CREATE TABLE outbox_rebuilt (
    id                INTEGER PRIMARY KEY,
    project_id        INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    connector         TEXT NOT NULL,
    op                TEXT NOT NULL CHECK (op = 'create' OR op = 'update' OR op = 'close'
                                           OR op = 'reopen' OR op = 'comment'
                                           OR op = 'transition' OR op = 'link'),
    countermeasure_id INTEGER REFERENCES countermeasures(id) ON DELETE CASCADE,
    ticket_id         INTEGER REFERENCES tickets(id) ON DELETE CASCADE,
    payload           TEXT NOT NULL DEFAULT '{}',
    state             TEXT NOT NULL DEFAULT 'pending'
                      CHECK (state = 'pending' OR state = 'inflight' OR state = 'done'
                             OR state = 'failed' OR state = 'dead'),
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
INSERT INTO outbox_rebuilt(id, project_id, connector, op, countermeasure_id, ticket_id, payload,
                           state, attempts, next_attempt_at, last_error, created_at, updated_at)
    SELECT id, project_id, connector, op, countermeasure_id, ticket_id, payload, state,
           attempts, next_attempt_at, last_error, created_at, updated_at
      FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_rebuilt RENAME TO outbox;
CREATE INDEX outbox_by_cm ON outbox(countermeasure_id);
CREATE INDEX outbox_open_due ON outbox(connector, next_attempt_at, id)
    WHERE state IN ('pending', 'failed');
CREATE INDEX outbox_inflight ON outbox(connector) WHERE state = 'inflight';

CREATE TABLE status_history_rebuilt (
    id                INTEGER PRIMARY KEY,
    countermeasure_id INTEGER NOT NULL REFERENCES countermeasures(id) ON DELETE CASCADE,
    ticket_id         INTEGER REFERENCES tickets(id) ON DELETE SET NULL,
    from_status       TEXT,
    to_status         TEXT NOT NULL,
    source            TEXT NOT NULL CHECK (source = 'generate' OR source = 'cli'
                                           OR source = 'override' OR source = 'poll'
                                           OR source = 'webhook' OR source = 'reconcile'
                                           OR source = 'verify'),
    actor             TEXT NOT NULL DEFAULT '',
    remote_time       TEXT,
    reason            TEXT,
    recorded_at       TEXT NOT NULL
);
INSERT INTO status_history_rebuilt(id, countermeasure_id, ticket_id, from_status, to_status,
                                   source, actor, remote_time, reason, recorded_at)
    SELECT id, countermeasure_id, ticket_id, from_status, to_status, source, actor, remote_time,
           reason, recorded_at
      FROM status_history;
DROP TABLE status_history;
ALTER TABLE status_history_rebuilt RENAME TO status_history;
CREATE INDEX status_history_by_cm ON status_history(countermeasure_id, recorded_at);

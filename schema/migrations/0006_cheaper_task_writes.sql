-- SPDX-License-Identifier: Apache-2.0
-- Cheaper writes of threats and tasks, the bulk of a generation (issue #3's
-- benchmark: 16,000 threats and 19,000 tasks for 1,000 components).
--
-- SQLite checks a CHECK (x IN (...)) of three or more values by building a
-- temporary b-tree of the list for every row it writes; that was a tenth of
-- the time of a large generation. The same constraints are written here as
-- equalities (the columns are NOT NULL, so nothing else changes). SQLite cannot
-- alter a CHECK in place: both tables are rebuilt the documented way (new
-- table, copy, drop, rename), which keeps every row and id; foreign keys are
-- off while a migration runs and are checked before it commits.
--
-- countermeasures_by_ticket becomes partial: most tasks have no ticket, and
-- every lookup by ticket_id (and the ON DELETE SET NULL of tickets) names one.

CREATE TABLE threats_rebuilt (
    id            INTEGER PRIMARY KEY,
    project_id    INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    uid           TEXT NOT NULL,
    library_id    TEXT NOT NULL,
    component_key TEXT,
    flow_key      TEXT,
    title         TEXT NOT NULL,
    stride        TEXT NOT NULL DEFAULT '',      -- letters, e.g. 'ST'
    cwe           TEXT NOT NULL DEFAULT '[]',    -- JSON array of integers
    capec         TEXT NOT NULL DEFAULT '[]',
    severity      TEXT NOT NULL CHECK (severity = 'critical' OR severity = 'high'
                                       OR severity = 'medium' OR severity = 'low'),
    likelihood    TEXT NOT NULL CHECK (likelihood = 'high' OR likelihood = 'medium'
                                       OR likelihood = 'low'),
    score         REAL NOT NULL DEFAULT 0,
    in_scope      INTEGER NOT NULL DEFAULT 1 CHECK (in_scope = 0 OR in_scope = 1),
    origin        TEXT NOT NULL DEFAULT 'library' CHECK (origin = 'library' OR origin = 'manual'),
    state         TEXT NOT NULL DEFAULT 'active' CHECK (state = 'active' OR state = 'removed'),
    removed_reason TEXT,
    content_hash  TEXT NOT NULL,
    first_version INTEGER NOT NULL,
    last_version  INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (project_id, uid),
    CHECK (component_key IS NOT NULL OR flow_key IS NOT NULL)
);
INSERT INTO threats_rebuilt(id, project_id, uid, library_id, component_key, flow_key, title,
                            stride, cwe, capec, severity, likelihood, score, in_scope, origin,
                            state, removed_reason, content_hash, first_version, last_version,
                            created_at, updated_at)
    SELECT id, project_id, uid, library_id, component_key, flow_key, title, stride, cwe, capec,
           severity, likelihood, score, in_scope, origin, state, removed_reason, content_hash,
           first_version, last_version, created_at, updated_at
      FROM threats;
DROP TABLE threats;
ALTER TABLE threats_rebuilt RENAME TO threats;
CREATE INDEX threats_by_project ON threats(project_id, state, score DESC);

CREATE TABLE countermeasures_rebuilt (
    id            INTEGER PRIMARY KEY,
    project_id    INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    uid           TEXT NOT NULL,
    library_id    TEXT NOT NULL,
    component_key TEXT NOT NULL,
    title         TEXT NOT NULL,
    priority      INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 4),
    status        TEXT NOT NULL DEFAULT 'todo'
                  CHECK (status = 'todo' OR status = 'in_progress' OR status = 'done'
                         OR status = 'not_applicable' OR status = 'risk_accepted'
                         OR status = 'satisfied'),
    satisfied_by  TEXT,
    verification  TEXT NOT NULL DEFAULT 'untested'
                  CHECK (verification = 'untested' OR verification = 'passed'
                         OR verification = 'failed'),
    in_scope      INTEGER NOT NULL DEFAULT 1 CHECK (in_scope = 0 OR in_scope = 1),
    score         REAL NOT NULL DEFAULT 0,
    due_date      TEXT,
    body          TEXT NOT NULL DEFAULT '{}',   -- JSON: the instance's threats and component
    content_hash  TEXT NOT NULL,
    origin        TEXT NOT NULL DEFAULT 'library' CHECK (origin = 'library' OR origin = 'manual'),
    state         TEXT NOT NULL DEFAULT 'active' CHECK (state = 'active' OR state = 'removed'),
    removed_reason TEXT,
    first_version INTEGER NOT NULL,
    last_version  INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    ticket_id     INTEGER REFERENCES tickets(id) ON DELETE SET NULL,
    text_hash     TEXT REFERENCES countermeasure_texts(hash),
    UNIQUE (project_id, uid),
    CHECK (status <> 'satisfied' OR satisfied_by IS NOT NULL)
);
INSERT INTO countermeasures_rebuilt(id, project_id, uid, library_id, component_key, title,
                                    priority, status, satisfied_by, verification, in_scope,
                                    score, due_date, body, content_hash, origin, state,
                                    removed_reason, first_version, last_version, created_at,
                                    updated_at, ticket_id, text_hash)
    SELECT id, project_id, uid, library_id, component_key, title, priority, status,
           satisfied_by, verification, in_scope, score, due_date, body, content_hash, origin,
           state, removed_reason, first_version, last_version, created_at, updated_at,
           ticket_id, text_hash
      FROM countermeasures;
DROP TABLE countermeasures;
ALTER TABLE countermeasures_rebuilt RENAME TO countermeasures;
CREATE INDEX countermeasures_by_status ON countermeasures(project_id, state, status);
CREATE INDEX countermeasures_by_ticket ON countermeasures(ticket_id) WHERE ticket_id IS NOT NULL;

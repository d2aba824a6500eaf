-- SPDX-License-Identifier: Apache-2.0
-- The lifecycle of findings and the verification of tasks: what a finding is
-- (the kind of its fingerprint, where it was seen, who suppressed it and until
-- when), the history of its status, the CWE path of a correlation, the
-- history of a task's verification, and the tracker notices it caused, each
-- recorded once.

ALTER TABLE scans ADD COLUMN detail TEXT NOT NULL DEFAULT '';       -- "sarif 2.1.0", "zap xml"
ALTER TABLE scans ADD COLUMN incomplete INTEGER NOT NULL DEFAULT 0; -- 1: absent is not fixed

ALTER TABLE findings ADD COLUMN fingerprint_kind TEXT NOT NULL DEFAULT '';  -- tool, sast, dast, ...
ALTER TABLE findings ADD COLUMN category TEXT;
ALTER TABLE findings ADD COLUMN rule_name TEXT;
ALTER TABLE findings ADD COLUMN method TEXT;
ALTER TABLE findings ADD COLUMN param TEXT;
ALTER TABLE findings ADD COLUMN package TEXT;
ALTER TABLE findings ADD COLUMN image TEXT;
-- NULL: not suppressed; 'tool': the report says so; 'person': threatsync findings --suppress.
ALTER TABLE findings ADD COLUMN suppressed_by TEXT
    CHECK (suppressed_by IS NULL OR suppressed_by = 'tool' OR suppressed_by = 'person');
ALTER TABLE findings ADD COLUMN suppressed_reason TEXT;
ALTER TABLE findings ADD COLUMN suppressed_actor TEXT;
ALTER TABLE findings ADD COLUMN suppressed_until TEXT;             -- a person's, with expiry
CREATE INDEX findings_by_scope ON findings(project_id, tool, scope, status);
CREATE INDEX findings_by_component ON findings(project_id, component_key);

CREATE TABLE finding_history (
    id          INTEGER PRIMARY KEY,
    finding_id  INTEGER NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    from_status TEXT,                           -- NULL: first seen
    to_status   TEXT NOT NULL,
    scan_id     INTEGER REFERENCES scans(id) ON DELETE SET NULL,
    reason      TEXT NOT NULL DEFAULT '',
    actor       TEXT NOT NULL DEFAULT '',
    recorded_at TEXT NOT NULL
);
CREATE INDEX finding_history_by_finding ON finding_history(finding_id, id);

-- The CWE ids from the finding's up to the threat's, JSON: [89, 943, 74].
ALTER TABLE correlations ADD COLUMN cwe_path TEXT NOT NULL DEFAULT '[]';

CREATE TABLE verification_history (
    id                INTEGER PRIMARY KEY,
    countermeasure_id INTEGER NOT NULL REFERENCES countermeasures(id) ON DELETE CASCADE,
    from_status       TEXT NOT NULL,
    to_status         TEXT NOT NULL,
    scan_id           INTEGER REFERENCES scans(id) ON DELETE SET NULL,
    finding_id        INTEGER REFERENCES findings(id) ON DELETE SET NULL,
    reason            TEXT NOT NULL DEFAULT '',
    recorded_at       TEXT NOT NULL
);
CREATE INDEX verification_history_by_cm ON verification_history(countermeasure_id, id);

-- One row per notice sent to a tracker: kind 'reopen' (a done task whose
-- weakness is found again), 'finding' (a finding on a task not done) or
-- 'passed' (verified after having failed). episode counts the task's turns to
-- failed, so a later failure may reopen again; finding_id is 0 for 'passed'.
-- notice is the id the outbox payload carries for the tracker's idempotency.
CREATE TABLE verification_notices (
    id                INTEGER PRIMARY KEY,
    notice            TEXT NOT NULL UNIQUE,
    countermeasure_id INTEGER NOT NULL REFERENCES countermeasures(id) ON DELETE CASCADE,
    kind              TEXT NOT NULL
                      CHECK (kind = 'reopen' OR kind = 'finding' OR kind = 'passed'),
    finding_id        INTEGER NOT NULL DEFAULT 0,
    episode           INTEGER NOT NULL DEFAULT 0,
    queued            INTEGER NOT NULL DEFAULT 1,   -- 0: covered by another notice
    created_at        TEXT NOT NULL,
    UNIQUE (countermeasure_id, kind, finding_id, episode)
);

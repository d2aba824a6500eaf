-- SPDX-License-Identifier: Apache-2.0
-- The lifecycle of findings and the verification of tasks: what a finding is
-- (the kind of its fingerprint, where it was seen, who suppressed it and until
-- when), the history of its status, the CWE path of a correlation, the
-- history of a task's verification, and the tracker notices it caused, each
-- recorded once.

ALTER TABLE scans ADD COLUMN detail TEXT NOT NULL DEFAULT '';       -- "sarif 2.1.0", "zap xml"
ALTER TABLE scans ADD COLUMN incomplete INTEGER NOT NULL DEFAULT 0; -- 1: absent is not fixed

-- findings and correlations are rebuilt the documented way (new table, copy,
-- drop, rename; foreign keys are off while a migration runs and are checked
-- before it commits), keeping every row and id: their new columns come in,
-- and their CHECK (x IN (...)) constraints become equalities, since SQLite
-- builds a temporary b-tree of such a list for every row it writes (as in
-- 0006), a third of the time of a large report.
CREATE TABLE findings_rebuilt (
    id               INTEGER PRIMARY KEY,
    project_id       INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    fingerprint      TEXT NOT NULL,               -- KIND:HEX over tool, scope and identity
    fingerprint_kind TEXT NOT NULL DEFAULT '',    -- tool, sast, dast, dependency, other
    tool             TEXT NOT NULL,
    scope            TEXT NOT NULL DEFAULT '',
    rule_id          TEXT NOT NULL DEFAULT '',
    rule_name        TEXT,
    category         TEXT,
    cwe              TEXT NOT NULL DEFAULT '[]',   -- JSON array of integers
    severity         TEXT NOT NULL DEFAULT 'medium'
                     CHECK (severity = 'critical' OR severity = 'high' OR severity = 'medium'
                            OR severity = 'low' OR severity = 'info'),
    status           TEXT NOT NULL DEFAULT 'open'
                     CHECK (status = 'open' OR status = 'fixed' OR status = 'suppressed'),
    message          TEXT NOT NULL DEFAULT '',
    path             TEXT,
    line             INTEGER,
    url              TEXT,
    method           TEXT,
    param            TEXT,
    package          TEXT,
    image            TEXT,
    component_key    TEXT,
    -- NULL: not suppressed; 'tool': the report says so; 'person': threatsync findings --suppress.
    suppressed_by    TEXT CHECK (suppressed_by IS NULL OR suppressed_by = 'tool'
                                 OR suppressed_by = 'person'),
    suppressed_reason TEXT,
    suppressed_actor TEXT,
    suppressed_until TEXT,                        -- a person's, YYYY-MM-DD
    first_scan_id    INTEGER NOT NULL REFERENCES scans(id),
    last_scan_id     INTEGER NOT NULL REFERENCES scans(id),
    first_seen       TEXT NOT NULL,
    last_seen        TEXT NOT NULL,
    UNIQUE (project_id, fingerprint)
);
INSERT INTO findings_rebuilt(id, project_id, fingerprint, tool, scope, rule_id, cwe, severity,
                             status, message, path, line, url, component_key, first_scan_id,
                             last_scan_id, first_seen, last_seen)
    SELECT id, project_id, fingerprint, tool, scope, rule_id, cwe, severity, status, message,
           path, line, url, component_key, first_scan_id, last_scan_id, first_seen, last_seen
      FROM findings;
DROP TABLE findings;
ALTER TABLE findings_rebuilt RENAME TO findings;
CREATE INDEX findings_by_status ON findings(project_id, status);
CREATE INDEX findings_by_scope ON findings(project_id, tool, scope, status);

-- cwe_path: the CWE ids from the finding's up to the threat's, JSON: [89, 943, 74].
CREATE TABLE correlations_rebuilt (
    finding_id        INTEGER NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    threat_id         INTEGER NOT NULL REFERENCES threats(id) ON DELETE CASCADE,
    countermeasure_id INTEGER REFERENCES countermeasures(id) ON DELETE CASCADE,
    method            TEXT NOT NULL CHECK (method = 'cwe' OR method = 'cwe_ancestor'
                                           OR method = 'rule' OR method = 'manual'),
    cwe_path          TEXT NOT NULL DEFAULT '[]',
    created_at        TEXT NOT NULL,
    PRIMARY KEY (finding_id, threat_id)
) WITHOUT ROWID;
INSERT INTO correlations_rebuilt(finding_id, threat_id, countermeasure_id, method, created_at)
    SELECT finding_id, threat_id, countermeasure_id, method, created_at FROM correlations;
DROP TABLE correlations;
ALTER TABLE correlations_rebuilt RENAME TO correlations;
CREATE INDEX correlations_by_threat ON correlations(threat_id);
CREATE INDEX correlations_by_cm ON correlations(countermeasure_id);

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
-- notice is the id the outbox payload carries for the tracker's idempotency;
-- NULL for a finding recorded as told by a reopen that named it (queued 0).
CREATE TABLE verification_notices (
    id                INTEGER PRIMARY KEY,
    notice            TEXT UNIQUE,
    countermeasure_id INTEGER NOT NULL REFERENCES countermeasures(id) ON DELETE CASCADE,
    kind              TEXT NOT NULL
                      CHECK (kind = 'reopen' OR kind = 'finding' OR kind = 'passed'),
    finding_id        INTEGER NOT NULL DEFAULT 0,
    episode           INTEGER NOT NULL DEFAULT 0,
    queued            INTEGER NOT NULL DEFAULT 1,   -- 0: covered by another notice
    created_at        TEXT NOT NULL,
    UNIQUE (countermeasure_id, kind, finding_id, episode)
);

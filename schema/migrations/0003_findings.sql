-- SPDX-License-Identifier: Apache-2.0
-- Scanner results, their correlation with threats, and metric snapshots.

CREATE TABLE scans (
    id            INTEGER PRIMARY KEY,
    project_id    INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    tool          TEXT NOT NULL,
    tool_version  TEXT NOT NULL DEFAULT '',
    format        TEXT NOT NULL CHECK (format IN ('sarif', 'zap', 'gitlab', 'semgrep')),
    scope         TEXT NOT NULL DEFAULT '',     -- branch, path or target URL the scan covered
    source_name   TEXT NOT NULL DEFAULT '',
    content_hash  TEXT NOT NULL,
    finding_count INTEGER NOT NULL DEFAULT 0,
    imported_at   TEXT NOT NULL
);
CREATE INDEX scans_by_project ON scans(project_id, tool, scope, imported_at);
CREATE INDEX scans_by_hash ON scans(project_id, content_hash);

CREATE TABLE findings (
    id             INTEGER PRIMARY KEY,
    project_id     INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    fingerprint    TEXT NOT NULL,
    tool           TEXT NOT NULL,
    scope          TEXT NOT NULL DEFAULT '',
    rule_id        TEXT NOT NULL DEFAULT '',
    cwe            TEXT NOT NULL DEFAULT '[]',   -- JSON array of integers
    severity       TEXT NOT NULL DEFAULT 'medium'
                   CHECK (severity IN ('critical', 'high', 'medium', 'low', 'info')),
    status         TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'fixed', 'suppressed')),
    message        TEXT NOT NULL DEFAULT '',
    path           TEXT,
    line           INTEGER,
    url            TEXT,
    component_key  TEXT,
    first_scan_id  INTEGER NOT NULL REFERENCES scans(id),
    last_scan_id   INTEGER NOT NULL REFERENCES scans(id),
    first_seen     TEXT NOT NULL,
    last_seen      TEXT NOT NULL,
    UNIQUE (project_id, fingerprint)
);
CREATE INDEX findings_by_status ON findings(project_id, status);

CREATE TABLE scan_findings (
    scan_id    INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    finding_id INTEGER NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    PRIMARY KEY (scan_id, finding_id)
) WITHOUT ROWID;
CREATE INDEX scan_findings_by_finding ON scan_findings(finding_id);

CREATE TABLE correlations (
    finding_id        INTEGER NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    threat_id         INTEGER NOT NULL REFERENCES threats(id) ON DELETE CASCADE,
    countermeasure_id INTEGER REFERENCES countermeasures(id) ON DELETE CASCADE,
    method            TEXT NOT NULL CHECK (method IN ('cwe', 'cwe_ancestor', 'rule', 'manual')),
    created_at        TEXT NOT NULL,
    PRIMARY KEY (finding_id, threat_id)
) WITHOUT ROWID;
CREATE INDEX correlations_by_threat ON correlations(threat_id);
CREATE INDEX correlations_by_cm ON correlations(countermeasure_id);

CREATE TABLE metric_snapshots (
    id         INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    taken_at   TEXT NOT NULL,
    metrics    TEXT NOT NULL,                   -- JSON object
    UNIQUE (project_id, taken_at)
);

-- SPDX-License-Identifier: Apache-2.0
-- Releases of a project: a name, the model version and the metrics of the
-- moment it was recorded, and which threats were addressed then, so a report
-- can say what each release addressed since the one before.

CREATE TABLE releases (
    id            INTEGER PRIMARY KEY,
    project_id    INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name          TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_at    TEXT NOT NULL,
    model_version INTEGER,                      -- latest stored model version, NULL: none
    metrics       TEXT NOT NULL,                -- JSON object (docs/reports.md: METRICS)
    UNIQUE (project_id, name)
);
CREATE INDEX releases_by_project ON releases(project_id, created_at);

-- The threats addressed (every active, in-scope task complete) when the
-- release was recorded, by threat uid.
CREATE TABLE release_threats (
    release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    threat_uid TEXT NOT NULL,
    PRIMARY KEY (release_id, threat_uid)
) WITHOUT ROWID;

-- SPDX-License-Identifier: Apache-2.0
-- Projects, versioned system models, generated threats and countermeasures, overrides.
-- Timestamps are UTC text in ISO 8601 with milliseconds ('2026-11-22T20:13:55.123Z').

CREATE TABLE projects (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE
                CHECK (length(slug) BETWEEN 1 AND 64
                       AND slug NOT GLOB '*[^a-z0-9-]*'),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
);

-- One row per import; the content hash is over the normalised native document.
CREATE TABLE model_versions (
    id           INTEGER PRIMARY KEY,
    project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    version      INTEGER NOT NULL CHECK (version >= 1),
    content_hash TEXT NOT NULL,
    format       TEXT NOT NULL CHECK (format IN ('native', 'otm', 'threatdragon', 'profile')),
    source_name  TEXT NOT NULL DEFAULT '',
    document     TEXT NOT NULL,
    risk_class   TEXT CHECK (risk_class IN ('critical', 'high', 'medium', 'low')),
    class_rule   TEXT,
    imported_at  TEXT NOT NULL,
    UNIQUE (project_id, version)
);
CREATE INDEX model_versions_by_hash ON model_versions(project_id, content_hash);

CREATE TABLE trust_zones (
    id               INTEGER PRIMARY KEY,
    model_version_id INTEGER NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
    key              TEXT NOT NULL,
    name             TEXT NOT NULL,
    trust_level      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (model_version_id, key)
);

CREATE TABLE components (
    id               INTEGER PRIMARY KEY,
    model_version_id INTEGER NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
    key              TEXT NOT NULL,
    type             TEXT NOT NULL,
    name             TEXT NOT NULL,
    trust_zone       TEXT,
    parent           TEXT,
    tags             TEXT NOT NULL DEFAULT '[]',  -- JSON array of strings
    properties       TEXT NOT NULL DEFAULT '{}',  -- JSON object
    code             TEXT NOT NULL DEFAULT '{}',  -- JSON: {"paths": [globs], "urls": [prefixes]}
    UNIQUE (model_version_id, key)
);
CREATE INDEX components_by_type ON components(model_version_id, type);

CREATE TABLE data_flows (
    id               INTEGER PRIMARY KEY,
    model_version_id INTEGER NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
    key              TEXT NOT NULL,
    source           TEXT NOT NULL,
    destination      TEXT NOT NULL,
    protocol         TEXT NOT NULL DEFAULT '',
    properties       TEXT NOT NULL DEFAULT '{}',
    UNIQUE (model_version_id, key)
);

CREATE TABLE data_assets (
    id               INTEGER PRIMARY KEY,
    model_version_id INTEGER NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
    key              TEXT NOT NULL,
    name             TEXT NOT NULL,
    classification   TEXT NOT NULL DEFAULT '',
    properties       TEXT NOT NULL DEFAULT '{}',
    UNIQUE (model_version_id, key)
);

-- Threat instances: one per (library threat, component) or (library threat, flow).
-- uid is stable across regenerations: derived from project, threat id and the key.
CREATE TABLE threats (
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
    severity      TEXT NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    likelihood    TEXT NOT NULL CHECK (likelihood IN ('high', 'medium', 'low')),
    score         REAL NOT NULL DEFAULT 0,
    in_scope      INTEGER NOT NULL DEFAULT 1 CHECK (in_scope IN (0, 1)),
    origin        TEXT NOT NULL DEFAULT 'library' CHECK (origin IN ('library', 'manual')),
    state         TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'removed')),
    removed_reason TEXT,
    content_hash  TEXT NOT NULL,
    first_version INTEGER NOT NULL,
    last_version  INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (project_id, uid),
    CHECK (component_key IS NOT NULL OR flow_key IS NOT NULL)
);
CREATE INDEX threats_by_project ON threats(project_id, state, score DESC);

-- Countermeasure instances, the tasks: one per (library countermeasure, component).
CREATE TABLE countermeasures (
    id            INTEGER PRIMARY KEY,
    project_id    INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    uid           TEXT NOT NULL,
    library_id    TEXT NOT NULL,
    component_key TEXT NOT NULL,
    title         TEXT NOT NULL,
    priority      INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 4),
    status        TEXT NOT NULL DEFAULT 'todo'
                  CHECK (status IN ('todo', 'in_progress', 'done', 'not_applicable',
                                    'risk_accepted', 'satisfied')),
    satisfied_by  TEXT,
    verification  TEXT NOT NULL DEFAULT 'untested'
                  CHECK (verification IN ('untested', 'passed', 'failed')),
    in_scope      INTEGER NOT NULL DEFAULT 1 CHECK (in_scope IN (0, 1)),
    score         REAL NOT NULL DEFAULT 0,
    due_date      TEXT,
    body          TEXT NOT NULL DEFAULT '{}',   -- JSON: requirement, how_to, acceptance_test, ...
    content_hash  TEXT NOT NULL,
    origin        TEXT NOT NULL DEFAULT 'library' CHECK (origin IN ('library', 'manual')),
    state         TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'removed')),
    removed_reason TEXT,
    first_version INTEGER NOT NULL,
    last_version  INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (project_id, uid),
    CHECK (status <> 'satisfied' OR satisfied_by IS NOT NULL)
);
CREATE INDEX countermeasures_by_status ON countermeasures(project_id, state, status);

CREATE TABLE threat_countermeasures (
    threat_id         INTEGER NOT NULL REFERENCES threats(id) ON DELETE CASCADE,
    countermeasure_id INTEGER NOT NULL REFERENCES countermeasures(id) ON DELETE CASCADE,
    PRIMARY KEY (threat_id, countermeasure_id)
) WITHOUT ROWID;
CREATE INDEX threat_countermeasures_by_cm ON threat_countermeasures(countermeasure_id);

-- Human decisions that survive regeneration. target_uid names a threat or
-- countermeasure uid; 'added' rows carry the manual item in payload.
CREATE TABLE overrides (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('threat', 'countermeasure')),
    target_uid  TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('not_applicable', 'risk_accepted', 'added')),
    reason      TEXT NOT NULL CHECK (length(reason) > 0),
    author      TEXT NOT NULL DEFAULT '',
    expires_at  TEXT,
    payload     TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX overrides_by_target ON overrides(project_id, target_kind, target_uid);

-- SPDX-License-Identifier: Apache-2.0
-- Scan reports received by the daemon (POST /api/v1/projects/SLUG/scans, or
-- a file dropped into the spool directory), waiting for or done with their
-- ingestion. A row is committed before the upload is acknowledged; the file
-- it names waits in the daemon's upload directory (or the spool) until the
-- ingestion ends, so a restart resumes what was queued or running.

CREATE TABLE scan_uploads (
    id           INTEGER PRIMARY KEY,
    project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    source       TEXT NOT NULL CHECK (source IN ('api', 'spool')),
    name         TEXT NOT NULL,                 -- how messages name the report
    path         TEXT NOT NULL,                 -- where the file waits
    size         INTEGER NOT NULL,
    format       TEXT NOT NULL DEFAULT 'auto'
                 CHECK (format IN ('auto', 'sarif', 'zap', 'gitlab', 'semgrep')),
    scope        TEXT,
    tool_version TEXT,
    status       TEXT NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'done', 'failed')),
    received_at  TEXT NOT NULL,                 -- ISO 8601 (UTC)
    started_at   TEXT,
    finished_at  TEXT,
    result       TEXT,                          -- the ingestion's JSON document (done)
    error        TEXT                           -- the message (failed)
);
CREATE INDEX scan_uploads_waiting ON scan_uploads(status, id)
    WHERE status IN ('queued', 'running');
CREATE INDEX scan_uploads_by_path ON scan_uploads(path)
    WHERE status IN ('queued', 'running');

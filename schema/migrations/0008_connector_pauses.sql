-- SPDX-License-Identifier: Apache-2.0
-- Pauses of a connector after a permanent refusal (docs/sync.md): a refused
-- credential or access pauses the whole connector (scope ''), a tracker
-- project that does not exist or is not visible pauses that project on it.
-- Nothing is sent for a paused scope but one probe per next_probe_at; the
-- operations wait, their attempts untouched. reason is the tracker's own
-- message, never a secret.

CREATE TABLE connector_pauses (
    connector     TEXT NOT NULL,
    scope         TEXT NOT NULL,          -- tracker project, or '' for the whole connector
    kind          TEXT NOT NULL CHECK (kind = 'denied' OR kind = 'missing'),
    http_status   INTEGER NOT NULL DEFAULT 0,
    reason        TEXT NOT NULL,
    since         TEXT NOT NULL,          -- ISO 8601 (UTC): the first refusal
    last_probe_at TEXT,                   -- ISO 8601 (UTC); NULL: not probed yet
    next_probe_at INTEGER NOT NULL,       -- unix ms; 0: at the next pass
    probes        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (connector, scope)
) WITHOUT ROWID;

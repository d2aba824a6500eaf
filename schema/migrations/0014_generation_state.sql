-- What the last generation of a project was made from, so that the next one
-- redoes only what a model change can affect (engine/generate/gen_state.c):
--   kind 'context':   key '', digest of everything outside the model's
--                     components and flows that generation reads (library,
--                     policy, classification, overrides, the rest of the model);
--   kind 'component': the component's digest, and in deps the ids of the other
--                     components its threats and tasks were decided from
--                     ('\n'-separated; '*': any component);
--   kind 'flow':      the flow's digest, and in deps its source and destination.
-- Written in the generation's transaction; a project without rows is
-- generated in full.
CREATE TABLE generation_state (
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('context', 'component', 'flow')),
    key        TEXT NOT NULL,
    digest     TEXT NOT NULL,
    deps       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (project_id, kind, key)
) WITHOUT ROWID;

-- A regeneration loads the stored threats and tasks of the components it
-- redoes, by component (and flow).
CREATE INDEX threats_by_component ON threats(project_id, component_key);
CREATE INDEX threats_by_flow ON threats(project_id, flow_key) WHERE flow_key IS NOT NULL;
CREATE INDEX countermeasures_by_component ON countermeasures(project_id, component_key);

-- The summary's totals and the progress metrics read these columns alone
-- (covering indexes: no row lookups).
CREATE INDEX threats_progress ON threats(project_id, state, in_scope, severity, score);
DROP INDEX countermeasures_by_status;
CREATE INDEX countermeasures_by_status
    ON countermeasures(project_id, state, status, in_scope, due_date);

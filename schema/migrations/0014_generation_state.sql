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

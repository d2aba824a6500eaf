-- The progress metrics need, for every active task in scope, whether its
-- verification failed; no other index holds that column, and reading it from
-- the task rows means reading every row of the project's tasks. Failed
-- verifications are few: this partial index holds those alone (and covers the
-- metrics' and the gate's look-ups), and costs nothing to the writes of the
-- others.
CREATE INDEX countermeasures_failed
    ON countermeasures(project_id, state, in_scope, verification)
    WHERE verification = 'failed';

-- SPDX-License-Identifier: Apache-2.0
-- Read-only views for people and tools that read the database directly
-- (sqlite3, a BI tool) while the daemon runs: docs/database.md describes
-- every column. Their names and columns are stable: they change only in a
-- later migration, and only by adding columns at the end.
--
-- Dates compare as text: a due date or override expiry is 'YYYY-MM-DD', and
-- the first ten characters of a timestamp are its day. "Today" is SQLite's
-- date('now'), UTC.

-- Tasks (countermeasure instances), with their ticket.
-- overdue: 1 for an active, in-scope task still open (todo, in_progress)
-- whose due date is before today, as the gate's fail_on_overdue rule counts.
CREATE VIEW v_tasks AS
SELECT p.slug                           AS project,
       c.uid                            AS task,
       c.library_id                     AS library_id,
       c.title                          AS title,
       c.component_key                  AS component,
       c.priority                       AS priority,
       c.status                         AS status,
       c.verification                   AS verification,
       c.in_scope                       AS in_scope,
       c.state                          AS state,
       c.due_date                       AS due_date,
       CASE WHEN c.state = 'active' AND c.in_scope = 1
                 AND c.status IN ('todo', 'in_progress')
                 AND c.due_date IS NOT NULL
                 AND substr(c.due_date, 1, 10) < date('now')
            THEN 1 ELSE 0 END           AS overdue,
       t.connector                      AS ticket_connector,
       t.remote_key                     AS ticket_key,
       t.remote_url                     AS ticket_url,
       c.created_at                     AS created_at,
       c.updated_at                     AS updated_at
  FROM countermeasures c
  JOIN projects p ON p.id = c.project_id
  LEFT JOIN tickets t ON t.id = c.ticket_id;

-- Threat instances. status, in this order: 'removed' (no longer in the
-- model); the kind of the override in force ('not_applicable',
-- 'risk_accepted'; the latest one not revoked, unless it has expired);
-- 'out_of_scope'; 'mitigated' when the threat has active, in-scope tasks and
-- every one of them is complete (done, satisfied, not applicable or risk
-- accepted, and its verification not failed: what the metrics count as an
-- addressed threat); else 'open'.
CREATE VIEW v_threats AS
SELECT p.slug                           AS project,
       t.uid                            AS threat,
       t.library_id                     AS library_id,
       t.title                          AS title,
       t.component_key                  AS component,
       t.flow_key                       AS flow,
       t.severity                       AS severity,
       t.likelihood                     AS likelihood,
       t.score                          AS score,
       t.stride                         AS stride,
       t.cwe                            AS cwe,
       CASE WHEN t.state <> 'active' THEN 'removed'
            WHEN o.kind IS NOT NULL
                 AND (o.expires_at IS NULL OR substr(o.expires_at, 1, 10) > date('now'))
                 THEN o.kind
            WHEN t.in_scope = 0 THEN 'out_of_scope'
            WHEN EXISTS (SELECT 1 FROM threat_countermeasures l
                           JOIN countermeasures c ON c.id = l.countermeasure_id
                          WHERE l.threat_id = t.id AND c.state = 'active' AND c.in_scope = 1)
                 AND NOT EXISTS (SELECT 1 FROM threat_countermeasures l
                                   JOIN countermeasures c ON c.id = l.countermeasure_id
                                  WHERE l.threat_id = t.id AND c.state = 'active'
                                    AND c.in_scope = 1
                                    AND (c.verification = 'failed'
                                         OR c.status NOT IN ('done', 'satisfied',
                                                             'not_applicable',
                                                             'risk_accepted')))
                 THEN 'mitigated'
            ELSE 'open' END             AS status,
       t.in_scope                       AS in_scope,
       t.state                          AS state
  FROM threats t
  JOIN projects p ON p.id = t.project_id
  LEFT JOIN overrides o
         ON o.id = (SELECT max(id) FROM overrides
                     WHERE project_id = t.project_id AND target_kind = 'threat'
                       AND target_uid = t.uid AND revoked_at IS NULL
                       AND kind IN ('not_applicable', 'risk_accepted'));

-- Findings with the threats they are correlated with: one row per
-- correlation; a finding without any correlation once, its threat columns NULL.
CREATE VIEW v_findings AS
SELECT p.slug                           AS project,
       f.id                             AS finding,
       f.tool                           AS tool,
       f.rule_id                        AS rule,
       f.severity                       AS severity,
       f.status                         AS status,
       f.path                           AS path,
       f.line                           AS line,
       f.url                            AS url,
       f.cwe                            AS cwe,
       f.component_key                  AS component,
       t.uid                            AS threat,
       k.method                         AS method,
       c.uid                            AS task,
       f.first_seen                     AS first_seen,
       f.last_seen                      AS last_seen
  FROM findings f
  JOIN projects p ON p.id = f.project_id
  LEFT JOIN correlations k ON k.finding_id = f.id
  LEFT JOIN threats t ON t.id = k.threat_id
  LEFT JOIN countermeasures c ON c.id = k.countermeasure_id;

-- Compliance coverage per framework control, by the rule of
-- `threatsync compliance`: the controls the active, in-scope tasks map
-- (the "compliance" object of a task's text: framework -> [control ids]);
-- a control is 'covered' when all its tasks are complete, 'partly' when
-- some are, 'not_covered' otherwise.
CREATE VIEW v_compliance AS
WITH task_controls AS (
    SELECT c.project_id AS project_id, fw.key AS framework, ctl.value AS control,
           CASE WHEN c.verification <> 'failed'
                     AND c.status IN ('done', 'satisfied', 'not_applicable')
                THEN 1 ELSE 0 END AS complete
      FROM (SELECT c0.project_id, c0.status, c0.verification,
                   json_extract(json_patch(coalesce(x.body, '{}'), c0.body),
                                '$.compliance') AS compliance
              FROM countermeasures c0
              LEFT JOIN countermeasure_texts x ON x.hash = c0.text_hash
             WHERE c0.state = 'active' AND c0.in_scope = 1) c,
           json_each(c.compliance) fw,
           json_each(fw.value) ctl
     WHERE json_type(c.compliance) = 'object' AND fw.type = 'array' AND ctl.type = 'text'
)
SELECT p.slug                           AS project,
       tc.framework                     AS framework,
       tc.control                       AS control,
       count(*)                         AS tasks,
       sum(tc.complete)                 AS complete,
       CASE WHEN sum(tc.complete) = count(*) THEN 'covered'
            WHEN sum(tc.complete) > 0 THEN 'partly'
            ELSE 'not_covered' END      AS status
  FROM task_controls tc
  JOIN projects p ON p.id = tc.project_id
 GROUP BY p.slug, tc.framework, tc.control;

-- The latest metric snapshot of each project: the whole JSON document and
-- its numbers as columns (NULL when a snapshot lacks one). The document:
-- {"threats_open": {"critical", "high", "medium", "low"}, "tasks": {status:
-- n for the six statuses}, "verification_failed", "risk_score", "overdue",
-- "mttr_days"}, of the active, in-scope threats and tasks.
CREATE VIEW v_latest_metrics AS
SELECT p.slug                                                AS project,
       m.taken_at                                            AS taken_at,
       json_extract(m.metrics, '$.threats_open.critical')    AS threats_open_critical,
       json_extract(m.metrics, '$.threats_open.high')        AS threats_open_high,
       json_extract(m.metrics, '$.threats_open.medium')      AS threats_open_medium,
       json_extract(m.metrics, '$.threats_open.low')         AS threats_open_low,
       json_extract(m.metrics, '$.tasks.todo')               AS tasks_todo,
       json_extract(m.metrics, '$.tasks.in_progress')        AS tasks_in_progress,
       json_extract(m.metrics, '$.tasks.done')               AS tasks_done,
       json_extract(m.metrics, '$.tasks.not_applicable')     AS tasks_not_applicable,
       json_extract(m.metrics, '$.tasks.risk_accepted')      AS tasks_risk_accepted,
       json_extract(m.metrics, '$.tasks.satisfied')          AS tasks_satisfied,
       json_extract(m.metrics, '$.verification_failed')      AS verification_failed,
       json_extract(m.metrics, '$.overdue')                  AS overdue,
       json_extract(m.metrics, '$.risk_score')               AS risk_score,
       json_extract(m.metrics, '$.mttr_days')                AS mttr_days,
       m.metrics                                             AS metrics
  FROM metric_snapshots m
  JOIN projects p ON p.id = m.project_id
 WHERE m.id = (SELECT m2.id FROM metric_snapshots m2
                WHERE m2.project_id = m.project_id
                ORDER BY m2.taken_at DESC, m2.id DESC LIMIT 1);

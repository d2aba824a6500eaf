-- The key a task's ticket marker is made from when it is no longer the task's
-- uid: a library merge renames "OLD@component" to "NEW@component" in place, and
-- the ticket created under the old uid keeps its marker. NULL: the uid.
ALTER TABLE countermeasures ADD COLUMN marker_key TEXT;

-- SPDX-License-Identifier: Apache-2.0
-- Indexes for the sync pass's two hot queries: claiming due operations
-- (state pending or failed, oldest next_attempt_at first) and recovering
-- operations left in flight by a crash. Partial, so they cover only the rows
-- those queries read, not the growing history of done ones.

CREATE INDEX outbox_open_due ON outbox(connector, next_attempt_at, id)
    WHERE state IN ('pending', 'failed');
CREATE INDEX outbox_inflight ON outbox(connector) WHERE state = 'inflight';

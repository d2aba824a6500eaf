-- SPDX-License-Identifier: Apache-2.0
-- Reserved: the findings store's own migration takes this number.
CREATE TABLE ingest_pending_reserved (id INTEGER PRIMARY KEY);
DROP TABLE ingest_pending_reserved;

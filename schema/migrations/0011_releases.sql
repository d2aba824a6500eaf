-- SPDX-License-Identifier: Apache-2.0
-- Release snapshots: this version number belongs to them (0011_releases.sql).
SELECT 1;

-- SPDX-License-Identifier: Apache-2.0
-- Countermeasure texts stored once: the text that comes from a library entry
-- (requirement, how-to, acceptance test, training, compliance) is the same for
-- every component it applies to, so it lives in countermeasure_texts keyed by
-- its SHA-256, and countermeasures.body keeps only what is specific to the
-- instance (its threats and component). The full text of a task is
-- json_patch(countermeasure_texts.body, countermeasures.body).

CREATE TABLE countermeasure_texts (
    hash TEXT PRIMARY KEY,
    body TEXT NOT NULL
) WITHOUT ROWID;

ALTER TABLE countermeasures ADD COLUMN text_hash TEXT REFERENCES countermeasure_texts(hash);

-- Tasks written before this migration keep their whole text in body.

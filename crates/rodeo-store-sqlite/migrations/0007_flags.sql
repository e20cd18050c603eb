-- Feature flags (issue 4). Each environment's flagd definition is stored as its parts:
-- one row per flag (its definition as written, with when it was created and last
-- changed, for the stale-flag report) and one row for the set-level `$evaluators` and
-- `metadata` plus the version that every change increments. JSON is kept as text so an
-- export returns exactly what was applied.
CREATE TABLE flag_sets (
    environment TEXT PRIMARY KEY,
    evaluators  TEXT,
    metadata    TEXT,
    version     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE flags (
    environment TEXT NOT NULL,
    key         TEXT NOT NULL,
    definition  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (environment, key)
) WITHOUT ROWID;

-- Evaluation counts flushed from the servers' memory. `variant` is the variant name as
-- a JSON string, or the JSON `null` when the caller's default was served.
CREATE TABLE flag_evaluations (
    environment       TEXT NOT NULL,
    key               TEXT NOT NULL,
    variant           TEXT NOT NULL,
    count             INTEGER NOT NULL,
    last_evaluated_at INTEGER NOT NULL,
    PRIMARY KEY (environment, key, variant)
) WITHOUT ROWID;

-- SDK keys are tokens bound to one environment.
ALTER TABLE tokens ADD COLUMN environment TEXT;

-- Feature flags (issue 4); the same shape as SQLite's 0007_flags. Definitions are TEXT,
-- not JSONB, so an export returns the document exactly as it was applied.
CREATE TABLE flag_sets (
    environment TEXT PRIMARY KEY,
    evaluators  TEXT,
    metadata    TEXT,
    version     BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE flags (
    environment TEXT NOT NULL,
    key         TEXT NOT NULL,
    definition  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (environment, key)
);

-- `variant`: the variant name as a JSON string, or JSON `null` for the caller's default.
CREATE TABLE flag_evaluations (
    environment       TEXT NOT NULL,
    key               TEXT NOT NULL,
    variant           TEXT NOT NULL,
    count             BIGINT NOT NULL,
    last_evaluated_at BIGINT NOT NULL,
    PRIMARY KEY (environment, key, variant)
);

ALTER TABLE tokens ADD COLUMN environment TEXT;

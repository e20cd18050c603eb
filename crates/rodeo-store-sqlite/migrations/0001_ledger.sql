-- rodeo's ledger on SQLite. Times are INTEGER microseconds since the Unix epoch (UTC).
-- Services, environments and teams are keyed by their (immutable) names, so the hot
-- tables need no joins to be read back.

CREATE TABLE teams (
    name         TEXT PRIMARY KEY,
    display_name TEXT,
    created_at   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE services (
    name       TEXT PRIMARY KEY,
    team       TEXT REFERENCES teams (name),
    repository TEXT,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX services_by_team ON services (team) WHERE team IS NOT NULL;

CREATE TABLE environments (
    name       TEXT PRIMARY KEY,
    production INTEGER NOT NULL,
    sort_order INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    scope      TEXT NOT NULL,
    prefix     TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE UNIQUE INDEX tokens_active_name ON tokens (name) WHERE revoked_at IS NULL;

-- `services` is a JSON array of service names for monorepo commits, NULL otherwise.
-- `generation` is 1 + the largest generation among known parents (see rodeo-domain).
CREATE TABLE commits (
    sha          TEXT PRIMARY KEY,
    generation   INTEGER NOT NULL,
    author       TEXT NOT NULL,
    author_email TEXT,
    authored_at  INTEGER NOT NULL,
    committed_at INTEGER NOT NULL,
    message      TEXT NOT NULL,
    repository   TEXT,
    services     TEXT
) WITHOUT ROWID;

-- Parents may name commits rodeo has never seen, so there is no foreign key on parent.
CREATE TABLE commit_parents (
    sha      TEXT NOT NULL REFERENCES commits (sha),
    position INTEGER NOT NULL,
    parent   TEXT NOT NULL,
    PRIMARY KEY (sha, position)
) WITHOUT ROWID;
CREATE INDEX commit_parents_by_parent ON commit_parents (parent);

CREATE TABLE pull_requests (
    repository       TEXT NOT NULL,
    number           INTEGER NOT NULL,
    title            TEXT NOT NULL,
    author           TEXT NOT NULL,
    state            TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    merged_at        INTEGER,
    merge_commit_sha TEXT,
    head_sha         TEXT,
    url              TEXT,
    PRIMARY KEY (repository, number)
) WITHOUT ROWID;

CREATE TABLE deployments (
    id               INTEGER PRIMARY KEY,
    service          TEXT NOT NULL REFERENCES services (name),
    environment      TEXT NOT NULL REFERENCES environments (name),
    version          TEXT NOT NULL,
    commit_sha       TEXT NOT NULL,
    status           TEXT NOT NULL,
    kind             TEXT NOT NULL,
    started_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    external_id      TEXT UNIQUE,
    url              TEXT,
    created_by       TEXT NOT NULL,
    source           TEXT NOT NULL,
    rollback_of      INTEGER,
    previous_id      INTEGER,
    change_count     INTEGER NOT NULL DEFAULT 0,
    changes_complete INTEGER NOT NULL DEFAULT 1
);
-- current, previous and "ran before" lookups
CREATE INDEX deployments_by_target ON deployments (service, environment, status, finished_at, id);
-- deployment_of_version
CREATE INDEX deployments_by_version ON deployments (service, version, status, finished_at);
-- list_deployments filtered by service or environment, newest first
CREATE INDEX deployments_by_service_id ON deployments (service, id);
CREATE INDEX deployments_by_environment_id ON deployments (environment, id);

-- The shipped changes of each deployment, newest first by position.
CREATE TABLE deployment_changes (
    deployment_id INTEGER NOT NULL REFERENCES deployments (id),
    position      INTEGER NOT NULL,
    sha           TEXT NOT NULL,
    PRIMARY KEY (deployment_id, position)
) WITHOUT ROWID;

-- Projection: the latest successful deployment per service and environment.
CREATE TABLE current_deployments (
    service       TEXT NOT NULL,
    environment   TEXT NOT NULL,
    deployment_id INTEGER NOT NULL REFERENCES deployments (id),
    PRIMARY KEY (service, environment)
) WITHOUT ROWID;

-- Projection: commits `compared_to` runs that `environment` lacks, per service. A row
-- exists only when both environments have a current deployment.
CREATE TABLE drift (
    service     TEXT NOT NULL,
    environment TEXT NOT NULL,
    compared_to TEXT NOT NULL,
    count       INTEGER NOT NULL,
    complete    INTEGER NOT NULL,
    PRIMARY KEY (service, environment)
) WITHOUT ROWID;

-- The ledger. No foreign keys: events outlive what they are about.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    source      TEXT NOT NULL,
    service     TEXT,
    environment TEXT,
    subject     TEXT,
    payload     TEXT NOT NULL
);
CREATE INDEX events_by_service ON events (service, id) WHERE service IS NOT NULL;
CREATE INDEX events_by_environment ON events (environment, id) WHERE environment IS NOT NULL;
CREATE INDEX events_by_kind ON events (kind, id);
CREATE INDEX events_by_at ON events (at);

CREATE TABLE idempotency_keys (
    key         TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    outcomes    TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE deliveries (
    source      TEXT NOT NULL,
    id          TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (source, id)
) WITHOUT ROWID;

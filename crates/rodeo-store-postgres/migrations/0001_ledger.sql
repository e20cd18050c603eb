-- rodeo's ledger on PostgreSQL. Timestamps are BIGINT microseconds since the epoch (UTC),
-- ids are BIGINT identities, payloads are JSONB. Names use the "C" collation so lists sort
-- by bytes, the same on every server and in both backends.

CREATE TABLE teams (
    name         TEXT COLLATE "C" PRIMARY KEY,
    display_name TEXT,
    created_at   BIGINT NOT NULL
);

CREATE TABLE services (
    name       TEXT COLLATE "C" PRIMARY KEY,
    team       TEXT COLLATE "C" REFERENCES teams (name),
    repository TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX services_team ON services (team);

CREATE TABLE environments (
    name       TEXT COLLATE "C" PRIMARY KEY,
    production BOOLEAN NOT NULL,
    sort_order INTEGER NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE tokens (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL,
    scope      TEXT NOT NULL,
    prefix     TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
-- At most one live token per name: the name is the actor recorded in events.
CREATE UNIQUE INDEX tokens_live_name ON tokens (name) WHERE revoked_at IS NULL;

CREATE TABLE commits (
    sha          TEXT PRIMARY KEY,
    author       TEXT NOT NULL,
    author_email TEXT,
    authored_at  BIGINT NOT NULL,
    committed_at BIGINT NOT NULL,
    message      TEXT NOT NULL,
    repository   TEXT,
    services     TEXT[] NOT NULL DEFAULT '{}',
    -- 1 + the largest generation of the known parents: every ancestor has a smaller one.
    generation   BIGINT NOT NULL
);

-- Parent edges in git order. A parent need not be a known commit.
CREATE TABLE commit_parents (
    sha      TEXT NOT NULL REFERENCES commits (sha),
    position INTEGER NOT NULL,
    parent   TEXT NOT NULL,
    PRIMARY KEY (sha, position)
);
CREATE INDEX commit_parents_parent ON commit_parents (parent);

CREATE TABLE pull_requests (
    repository       TEXT NOT NULL,
    number           BIGINT NOT NULL,
    title            TEXT NOT NULL,
    author           TEXT NOT NULL,
    state            TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    merged_at        BIGINT,
    merge_commit_sha TEXT,
    head_sha         TEXT,
    url              TEXT,
    PRIMARY KEY (repository, number)
);
CREATE INDEX pull_requests_merge_commit ON pull_requests (merge_commit_sha);

CREATE TABLE deployments (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service          TEXT COLLATE "C" NOT NULL REFERENCES services (name),
    environment      TEXT COLLATE "C" NOT NULL REFERENCES environments (name),
    version          TEXT NOT NULL,
    commit_sha       TEXT NOT NULL,
    status           TEXT NOT NULL,
    kind             TEXT NOT NULL,
    started_at       BIGINT NOT NULL,
    finished_at      BIGINT,
    external_id      TEXT UNIQUE,
    url              TEXT,
    created_by       TEXT NOT NULL,
    source           TEXT NOT NULL,
    rollback_of      BIGINT REFERENCES deployments (id),
    previous_id      BIGINT REFERENCES deployments (id),
    change_count     INTEGER NOT NULL DEFAULT 0,
    changes_complete BOOLEAN NOT NULL DEFAULT TRUE
);
-- Current deployment, rollback detection and the previous deployment of a service+environment.
CREATE INDEX deployments_history ON deployments (service, environment, finished_at, id)
    WHERE status IN ('succeeded', 'rolled_back');
CREATE INDEX deployments_service ON deployments (service, id);
CREATE INDEX deployments_environment ON deployments (environment, id);
CREATE INDEX deployments_version ON deployments (service, version, finished_at)
    WHERE status = 'succeeded';

-- The commits each deployment shipped, newest first.
CREATE TABLE deployment_changes (
    deployment_id BIGINT NOT NULL REFERENCES deployments (id),
    position      INTEGER NOT NULL,
    sha           TEXT NOT NULL,
    PRIMARY KEY (deployment_id, position)
);

-- Projection: the latest successful deployment of each service+environment.
CREATE TABLE current_deployments (
    service       TEXT NOT NULL,
    environment   TEXT NOT NULL,
    deployment_id BIGINT NOT NULL REFERENCES deployments (id),
    PRIMARY KEY (service, environment)
);

-- Projection: commits an environment's predecessor runs that it does not, per service.
CREATE TABLE drift (
    service     TEXT NOT NULL,
    environment TEXT NOT NULL,
    compared_to TEXT NOT NULL,
    undeployed  BIGINT NOT NULL,
    complete    BOOLEAN NOT NULL,
    PRIMARY KEY (service, environment)
);

CREATE TABLE events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    -- "C" collation: kind prefixes are matched as byte ranges.
    kind        TEXT COLLATE "C" NOT NULL,
    actor       TEXT NOT NULL,
    source      TEXT NOT NULL,
    service     TEXT,
    environment TEXT,
    subject     TEXT,
    payload     JSONB NOT NULL
);
CREATE INDEX events_service ON events (service, id);
CREATE INDEX events_environment ON events (environment, id);
CREATE INDEX events_kind ON events (kind, id);
CREATE INDEX events_at ON events (at);

CREATE TABLE idempotency_keys (
    key         TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    -- NULL only while the first request with this key is in flight.
    outcomes    JSONB,
    created_at  BIGINT NOT NULL
);

CREATE TABLE deliveries (
    source      TEXT NOT NULL,
    id          TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (source, id)
);

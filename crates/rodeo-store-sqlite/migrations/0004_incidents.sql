-- Incidents. The whole record (timeline, roles, causes, action items) is one JSON
-- document, changed only through the checks in rodeo-domain's `Incident::apply`; the
-- columns beside it are copies for filtering and ordering.
CREATE TABLE incidents (
    id          INTEGER PRIMARY KEY,
    status      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    severity    TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    resolved_at INTEGER,
    doc         TEXT NOT NULL
);
CREATE INDEX incidents_by_started ON incidents (started_at);

-- Affected services: the list filter, alert attachment by service, and metrics scope.
CREATE TABLE incident_services (
    service     TEXT NOT NULL,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    PRIMARY KEY (service, incident_id)
) WITHOUT ROWID;

-- Ids in other systems (PagerDuty incident ids, Alertmanager group keys). A key may
-- name several incidents over time (an alert group that fires again next week).
CREATE TABLE incident_keys (
    key         TEXT NOT NULL,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    PRIMARY KEY (key, incident_id)
) WITHOUT ROWID;

-- Deployments named as causes: "incidents this deployment caused".
CREATE TABLE incident_causes (
    deployment_id INTEGER NOT NULL,
    incident_id   INTEGER NOT NULL REFERENCES incidents (id),
    PRIMARY KEY (deployment_id, incident_id)
) WITHOUT ROWID;


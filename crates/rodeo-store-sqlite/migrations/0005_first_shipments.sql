-- Rollup for lead time: per service and commit, its first production deployment (the
-- earliest finish among deployments to production environments that reached production
-- and shipped it). Kept up to date in the transaction that records or finishes a
-- deployment, and rebuilt when an environment's production flag changes, so the metrics
-- read one row per counted commit instead of joining every shipped commit of a window.
-- Keyed by time within a service, so a metrics read is one range per service.
CREATE TABLE first_shipments (
    service       TEXT NOT NULL,
    deployed_at   INTEGER NOT NULL,
    commit_id     INTEGER NOT NULL REFERENCES commits (id),
    deployment_id INTEGER NOT NULL,
    committed_at  INTEGER NOT NULL,
    author        TEXT NOT NULL,
    PRIMARY KEY (service, deployed_at, commit_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX first_shipments_by_commit ON first_shipments (service, commit_id);

INSERT INTO first_shipments (service, deployed_at, commit_id, deployment_id, committed_at, author)
SELECT d.service, min(d.finished_at), c.id, d.id, c.committed_at, c.author
FROM deployment_changes dc
JOIN deployments d ON d.id = dc.deployment_id
JOIN environments e ON e.name = d.environment
JOIN commits c ON c.sha = dc.sha
WHERE e.production = 1 AND d.status IN ('succeeded', 'rolled_back') AND d.finished_at IS NOT NULL
GROUP BY d.service, c.id;

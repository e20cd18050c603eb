-- Rollup for lead time: per service and commit, its first production deployment (the
-- earliest finish among deployments to production environments that reached production
-- and shipped it). Kept up to date in the transaction that records or finishes a
-- deployment, and rebuilt when an environment's production flag changes, so the metrics
-- read one row per counted commit instead of joining every shipped commit of a window.
CREATE TABLE first_shipments (
    service       TEXT NOT NULL,
    sha           TEXT NOT NULL,
    deployed_at   BIGINT NOT NULL,
    deployment_id BIGINT NOT NULL,
    committed_at  BIGINT NOT NULL,
    author        TEXT NOT NULL,
    PRIMARY KEY (service, sha)
);
CREATE INDEX first_shipments_by_time ON first_shipments (service, deployed_at)
    INCLUDE (deployment_id, committed_at, author);

INSERT INTO first_shipments (service, sha, deployed_at, deployment_id, committed_at, author)
SELECT DISTINCT ON (d.service, c.sha) d.service, c.sha, d.finished_at, d.id, c.committed_at, c.author
FROM deployment_changes dc
JOIN deployments d ON d.id = dc.deployment_id
JOIN environments e ON e.name = d.environment
JOIN commits c ON c.sha = dc.sha
WHERE e.production AND d.status IN ('succeeded', 'rolled_back') AND d.finished_at IS NOT NULL
ORDER BY d.service, c.sha, d.finished_at, d.id;

-- The organisation-wide metrics read half a million first shipments for 200 services
-- over two windows; row by row that is most of the query. A pack holds all the first
-- shipments of one production deployment in one value (format: rodeo_store::pack), so
-- the same read is tens of thousands of rows. Packs are derived from first_shipments:
-- the writer rebuilds a deployment's pack in the transaction that changes any of its
-- rows. SQL cannot build them, so the store fills the table at open when it is empty
-- and first_shipments is not (an upgraded database).
CREATE TABLE first_shipment_packs (
    deployment_id INTEGER PRIMARY KEY,
    service       TEXT NOT NULL,
    deployed_at   INTEGER NOT NULL,
    commits       BLOB NOT NULL
);
CREATE INDEX first_shipment_packs_by_time ON first_shipment_packs (service, deployed_at);

-- Rebuilding one deployment's pack reads its rows.
CREATE INDEX first_shipments_by_deployment ON first_shipments (deployment_id);

-- The metrics read of deployments (per production lane and status, a finish-time range)
-- becomes index-only: it visited the table for each deployment's kind.
DROP INDEX deployments_by_target;
CREATE INDEX deployments_by_target ON deployments (service, environment, status, finished_at, id, kind);

-- First shipments name their commit's author by a small integer: the organisation-wide
-- metrics read sends half a million of them, and an int4 costs PostgreSQL far less to
-- send than the same name over and over (docs/benchmarks.md). `authors` is a dictionary,
-- filled by the writer before it records first shipments (names inserted in sorted
-- order, so concurrent writers take their locks in one order). No foreign key: the
-- writer is the only one adding rows, and a check per first shipment would slow ingest.
CREATE TABLE authors (
    id   INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
INSERT INTO authors (name) SELECT DISTINCT author FROM first_shipments ORDER BY 1;

ALTER TABLE first_shipments ADD COLUMN author_id INTEGER;
UPDATE first_shipments f SET author_id = a.id FROM authors a WHERE a.name = f.author;
ALTER TABLE first_shipments ALTER COLUMN author_id SET NOT NULL;

DROP INDEX first_shipments_by_time;
ALTER TABLE first_shipments DROP COLUMN author;
CREATE INDEX first_shipments_by_time ON first_shipments (service, deployed_at)
    INCLUDE (deployment_id, committed_at, author_id,
             pr_opened_at, pr_merged_at, pr_first_commit_at, pr_author);

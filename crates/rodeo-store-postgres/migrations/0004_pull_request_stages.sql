-- Lead time per stage (first commit -> pull request opened -> merged -> first production
-- deployment). A merged pull request's milestones ride on the first-shipment row of its
-- merge commit, so the metrics read them with the rows they already read; the writer
-- fills them when the merge commit first reaches production and when the pull request
-- is recorded after that. `first_commit_at` (the earliest authored time among the pull
-- request's own commits) is computed over the commit graph by the writer, once the
-- merge commit and the branch head are both known.
ALTER TABLE pull_requests ADD COLUMN first_commit_at BIGINT;

ALTER TABLE first_shipments
    ADD COLUMN pr_opened_at BIGINT,
    ADD COLUMN pr_merged_at BIGINT,
    ADD COLUMN pr_first_commit_at BIGINT,
    ADD COLUMN pr_author TEXT;

UPDATE first_shipments f
SET pr_opened_at = p.created_at, pr_merged_at = p.merged_at, pr_author = p.author
FROM pull_requests p
WHERE p.merge_commit_sha = f.sha AND p.state = 'merged' AND p.merged_at IS NOT NULL;

-- The metrics read stays an index-only scan.
DROP INDEX first_shipments_by_time;
CREATE INDEX first_shipments_by_time ON first_shipments (service, deployed_at)
    INCLUDE (deployment_id, committed_at, author,
             pr_opened_at, pr_merged_at, pr_first_commit_at, pr_author);

-- The metrics read of deployments (per production lane, a finish-time range) becomes an
-- index-only scan: it no longer visits the table for each deployment's status and kind.
DROP INDEX deployments_history;
CREATE INDEX deployments_history ON deployments (service, environment, finished_at, id)
    INCLUDE (status, kind)
    WHERE status IN ('succeeded', 'rolled_back');

-- Lead time per stage (first commit -> pull request opened -> merged -> first production
-- deployment). A merged pull request's milestones ride on the first-shipment row of its
-- merge commit, so the metrics read them with the rows they already read; the writer
-- fills them when the merge commit first reaches production and when the pull request
-- is recorded after that. `first_commit_at` (the earliest authored time among the pull
-- request's own commits) is computed over the commit graph by the writer, once the
-- merge commit and the branch head are both known.
ALTER TABLE pull_requests ADD COLUMN first_commit_at INTEGER;
CREATE INDEX pull_requests_by_merge_commit ON pull_requests (merge_commit_sha);

ALTER TABLE first_shipments ADD COLUMN pr_opened_at INTEGER;
ALTER TABLE first_shipments ADD COLUMN pr_merged_at INTEGER;
ALTER TABLE first_shipments ADD COLUMN pr_first_commit_at INTEGER;
ALTER TABLE first_shipments ADD COLUMN pr_author TEXT;

UPDATE first_shipments
SET (pr_opened_at, pr_merged_at, pr_author) = (
    SELECT p.created_at, p.merged_at, p.author
    FROM commits c JOIN pull_requests p ON p.merge_commit_sha = c.sha
    WHERE c.id = first_shipments.commit_id AND p.state = 'merged' AND p.merged_at IS NOT NULL
    ORDER BY p.repository, p.number LIMIT 1
)
WHERE commit_id IN (
    SELECT c.id FROM commits c JOIN pull_requests p ON p.merge_commit_sha = c.sha
    WHERE p.state = 'merged' AND p.merged_at IS NOT NULL
);

-- Parent edges point at the parent's row id, and the index for "children of" moves
-- from the parent's sha (a random place in the index for every new edge) to that id
-- (new edges point at recent commits, so they land at the end of the index). An
-- ingest of commits now dirties one random index page per commit (the sha index)
-- instead of two.
--
-- A parent rodeo has not seen yet has no id: its edge keeps parent_id NULL and is
-- listed in `unresolved_parents`, a small table the writer checks when commits arrive,
-- which is how it finds stored commits whose parent came late (generation repair).

ALTER TABLE commit_parents ADD COLUMN parent_id INTEGER REFERENCES commits (id);
UPDATE commit_parents SET parent_id = (SELECT id FROM commits WHERE sha = commit_parents.parent);

CREATE TABLE unresolved_parents (
    parent    TEXT NOT NULL,
    commit_id INTEGER NOT NULL REFERENCES commits (id),
    position  INTEGER NOT NULL,
    PRIMARY KEY (parent, commit_id, position)
) WITHOUT ROWID;
INSERT INTO unresolved_parents (parent, commit_id, position)
SELECT parent, commit_id, position FROM commit_parents WHERE parent_id IS NULL;

DROP INDEX commit_parents_by_parent;
CREATE INDEX commit_parents_by_parent_id ON commit_parents (parent_id) WHERE parent_id IS NOT NULL;

-- Whether a sha ran before (rollback detection) is probed by (service, sha), so the
-- check reads a few rows however long a service's history is.
CREATE INDEX deployments_by_sha ON deployments (service, commit_sha);

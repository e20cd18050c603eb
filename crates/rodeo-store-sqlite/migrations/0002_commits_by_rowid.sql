-- Commits move to a rowid table: new commits append to the end of the table and only
-- the small index entry on `sha` lands at a random place, which halves the pages an
-- ingest dirties compared with keying the whole row by its (random) sha. Parent edges
-- are keyed by the child's row id for the same reason.

CREATE TABLE commits_by_id (
    id           INTEGER PRIMARY KEY,
    sha          TEXT NOT NULL UNIQUE,
    generation   INTEGER NOT NULL,
    author       TEXT NOT NULL,
    author_email TEXT,
    authored_at  INTEGER NOT NULL,
    committed_at INTEGER NOT NULL,
    message      TEXT NOT NULL,
    repository   TEXT,
    services     TEXT
);
INSERT INTO commits_by_id (sha, generation, author, author_email, authored_at, committed_at,
                           message, repository, services)
SELECT sha, generation, author, author_email, authored_at, committed_at, message, repository,
       services
FROM commits ORDER BY generation, sha;

-- Parents may name commits rodeo has never seen, so `parent` is a sha, not a key.
CREATE TABLE commit_parents_by_id (
    commit_id INTEGER NOT NULL REFERENCES commits_by_id (id),
    position  INTEGER NOT NULL,
    parent    TEXT NOT NULL,
    PRIMARY KEY (commit_id, position)
) WITHOUT ROWID;
INSERT INTO commit_parents_by_id (commit_id, position, parent)
SELECT c.id, p.position, p.parent
FROM commit_parents p JOIN commits_by_id c ON c.sha = p.sha;

DROP TABLE commit_parents;
DROP TABLE commits;
ALTER TABLE commits_by_id RENAME TO commits;
ALTER TABLE commit_parents_by_id RENAME TO commit_parents;
CREATE INDEX commit_parents_by_parent ON commit_parents (parent);

-- Failed sign-ins per account and per address, in the database rather than
-- in one process's memory, so that replicas behind a load balancer count
-- the same guesses. Rows older than the window are deleted as failures come.
CREATE TABLE signin_failures (
    key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    since TEXT NOT NULL
);
CREATE INDEX signin_failures_since ON signin_failures (since);

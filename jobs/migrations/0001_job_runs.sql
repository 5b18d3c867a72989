-- Scheduled imports (haven.toml): every run of a job, and the files a watched folder gave.
CREATE TABLE IF NOT EXISTS job_runs (
    run_id        BIGINT PRIMARY KEY,
    job           VARCHAR NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    outcome       VARCHAR NOT NULL, -- running | loaded | loaded_with_rejections | unchanged | not_modified | no_file | refused | failed | skipped | interrupted
    batch_id      BIGINT,           -- the (last) ingest batch of the run
    rows_rejected BIGINT,
    message       VARCHAR,
    attempts      INTEGER,
    etag          VARCHAR,          -- validators of a URL source, for the next conditional request
    last_modified VARCHAR
);

CREATE TABLE IF NOT EXISTS job_files (
    job     VARCHAR NOT NULL,
    sha256  VARCHAR NOT NULL,
    name    VARCHAR NOT NULL,
    run_id  BIGINT NOT NULL
);

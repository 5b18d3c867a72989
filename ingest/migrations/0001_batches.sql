-- Load history and the rows each load set aside.
CREATE SEQUENCE IF NOT EXISTS ingest_batch_seq START 1;

CREATE TABLE IF NOT EXISTS ingest_batches (
    batch_id      BIGINT NOT NULL,
    dataset       VARCHAR NOT NULL,
    source        VARCHAR NOT NULL,
    sha256        VARCHAR NOT NULL,
    read_options  VARCHAR NOT NULL DEFAULT '', -- options that change how the bytes are read
    format        VARCHAR,
    details       VARCHAR,          -- JSON: encoding, delimiter, decimal mark, CRS
    origin        VARCHAR NOT NULL, -- cli | server | demo | job
    rows_read     BIGINT NOT NULL DEFAULT 0,
    rows_accepted BIGINT NOT NULL DEFAULT 0,
    rows_rejected BIGINT NOT NULL DEFAULT 0,
    rows_inserted BIGINT NOT NULL DEFAULT 0,
    rows_replaced BIGINT NOT NULL DEFAULT 0,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    outcome       VARCHAR NOT NULL, -- running | loaded | loaded_with_rejections | unchanged | refused | failed | interrupted
    message       VARCHAR
);

CREATE TABLE IF NOT EXISTS rejected_rows (
    batch_id BIGINT NOT NULL,
    line     BIGINT NOT NULL,
    "column" VARCHAR,
    value    VARCHAR,
    reason   VARCHAR NOT NULL,
    raw      VARCHAR
);

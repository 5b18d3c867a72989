-- Erasures: a data subject's request (`haven erase household REF`) or the retention period of
-- placements. The subject is kept only as the SHA-256 of the household reference, so a file
-- loaded later does not bring the household back; the rows themselves are gone.
CREATE TABLE IF NOT EXISTS erasures (
    erased_at      TIMESTAMPTZ NOT NULL,
    kind           VARCHAR NOT NULL, -- request | retention
    subject_sha256 VARCHAR,          -- the household reference's SHA-256 (requests only)
    rows_erased    BIGINT NOT NULL,  -- placements deleted (rejected rows holding them too)
    actor          VARCHAR NOT NULL
);

-- Location quotients become one row per period and district with one column per group; the
-- table is created by `haven analyze` with the groups the population data holds.
DROP TABLE IF EXISTS location_quotients;

-- What each part of `haven analyze` last computed from: a run whose inputs and options have
-- the same fingerprint is skipped.
CREATE TABLE IF NOT EXISTS analysis_runs (
    part        VARCHAR PRIMARY KEY, -- availability | segregation
    fingerprint VARCHAR NOT NULL,    -- row counts and batch ids of the inputs, options, version
    summary     VARCHAR NOT NULL,    -- JSON summary of the run
    computed_at TIMESTAMPTZ NOT NULL,
    elapsed_ms  BIGINT NOT NULL
);

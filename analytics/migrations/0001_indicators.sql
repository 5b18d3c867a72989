-- Results of `haven analyze`, replaced whole by each run.
CREATE TABLE IF NOT EXISTS segregation_indices (
    period   VARCHAR NOT NULL,
    "group"  VARCHAR NOT NULL, -- a population group, placed_persons, or all (multigroup)
    "index"  VARCHAR NOT NULL,
    value    DOUBLE,
    p_value  DOUBLE            -- permutation test, latest period only
);

CREATE TABLE IF NOT EXISTS location_quotients (
    period        VARCHAR NOT NULL,
    "group"       VARCHAR NOT NULL,
    district_code VARCHAR NOT NULL,
    lq            DOUBLE
);

CREATE TABLE IF NOT EXISTS segregation_changes (
    "group"     VARCHAR NOT NULL,
    from_period VARCHAR NOT NULL,
    to_period   VARCHAR NOT NULL,
    d_from      DOUBLE NOT NULL,
    d_to        DOUBLE NOT NULL,
    change      DOUBLE NOT NULL,
    ci_low      DOUBLE NOT NULL, -- 95% bootstrap interval of the change
    ci_high     DOUBLE NOT NULL,
    significant BOOLEAN NOT NULL -- the interval excludes 0
);

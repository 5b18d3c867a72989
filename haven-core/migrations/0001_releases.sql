-- Open-data releases written by `haven publish`: immutable version folders of files, listed by
-- the catalogue as dataset series.
CREATE TABLE IF NOT EXISTS releases (
    version      INTEGER PRIMARY KEY,
    published_at TIMESTAMPTZ NOT NULL,
    source       VARCHAR NOT NULL, -- the analysis runs and options the release was made from
    manifest     VARCHAR NOT NULL  -- JSON: datasets, files with bytes and SHA-256, coverage
);

-- Indicator values are stored once: `indicators_published` (every registry indicator, personal
-- counts after suppression) and `indicators_restricted` (personal counts before suppression and
-- the helper columns ratios are built from). `indicators_monthly` becomes a view joining the two,
-- created by `haven analyze`; the table of earlier versions goes, and its analysis is redone.
DROP TABLE IF EXISTS indicators_monthly;
DELETE FROM analysis_runs WHERE part = 'availability';

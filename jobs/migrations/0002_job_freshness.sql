-- What freshness needs from a run without the configuration at hand: the dataset the job loads
-- and how long its source may stay unchanged.
ALTER TABLE job_runs ADD COLUMN dataset VARCHAR;
ALTER TABLE job_runs ADD COLUMN stale_after_hours INTEGER;

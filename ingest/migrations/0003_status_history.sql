-- Every status a property has had, as the loads of its register saw it: a load adds the
-- (status, date) pairs it has not seen before, so a register that only ever holds the current
-- status still leaves the path each home took (the activation pipeline reads this).
CREATE TABLE IF NOT EXISTS status_history (
    dataset VARCHAR NOT NULL,
    record_id VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    status_date DATE NOT NULL,
    batch_id BIGINT NOT NULL,
    PRIMARY KEY (dataset, record_id, status, status_date)
);

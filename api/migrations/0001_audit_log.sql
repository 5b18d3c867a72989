-- The audit log of every restricted read and upload, written by the HTTP layer.
CREATE TABLE IF NOT EXISTS audit_log (
    occurred_at TIMESTAMPTZ NOT NULL,
    actor  VARCHAR NOT NULL, -- user name, or haven-cli for the loopback hand-off
    role   VARCHAR NOT NULL,
    action VARCHAR NOT NULL, -- HTTP method
    target VARCHAR NOT NULL, -- path
    query  VARCHAR NOT NULL, -- query string (never a token: tokens travel in headers)
    status INTEGER NOT NULL
);

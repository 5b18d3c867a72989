-- Officer access: users with a role and a token kept only as an argon2id hash, and the audit
-- log of every restricted read and upload.
CREATE TABLE IF NOT EXISTS users (
    id         INTEGER PRIMARY KEY,
    name       VARCHAR NOT NULL UNIQUE,
    role       VARCHAR NOT NULL CHECK (role IN ('officer', 'admin')),
    token_hash VARCHAR NOT NULL, -- argon2id PHC string of the token's secret part
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS audit_log (
    occurred_at TIMESTAMPTZ NOT NULL,
    actor  VARCHAR NOT NULL, -- user name, or haven-cli for the loopback hand-off
    role   VARCHAR NOT NULL,
    action VARCHAR NOT NULL, -- HTTP method
    target VARCHAR NOT NULL, -- path
    query  VARCHAR NOT NULL, -- query string (never a token: tokens travel in headers)
    status INTEGER NOT NULL
);

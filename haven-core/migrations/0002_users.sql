-- Officer access: users with a role and a token kept only as an argon2id hash.
CREATE TABLE IF NOT EXISTS users (
    id         INTEGER PRIMARY KEY,
    name       VARCHAR NOT NULL UNIQUE,
    role       VARCHAR NOT NULL CHECK (role IN ('officer', 'admin')),
    token_hash VARCHAR NOT NULL, -- argon2id PHC string of the token's secret part
    created_at TIMESTAMPTZ NOT NULL
);

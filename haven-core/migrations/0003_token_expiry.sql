-- Tokens expire: a user's token works until expires_at (NULL: no expiry, the tokens made
-- before expiry existed), and a rotation gives a new token and a new expiry.
ALTER TABLE users ADD COLUMN IF NOT EXISTS expires_at TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN IF NOT EXISTS rotated_at TIMESTAMPTZ;

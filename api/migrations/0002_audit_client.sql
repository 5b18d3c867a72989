-- The client address of each audited request (the peer, or the address trusted proxies vouch
-- for), and refused tokens on any route: role 'refused'.
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS client VARCHAR;

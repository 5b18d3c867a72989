-- Owner outreach: the officers' case per vacant property (its state as the workspace set it),
-- the contacts recorded in the workspace (contacts imported from a case file kept elsewhere
-- are the owner_contacts dataset), and every change with who made it and when.
CREATE TABLE IF NOT EXISTS outreach_cases (
    property_id VARCHAR PRIMARY KEY,
    officer VARCHAR,
    owner_answer VARCHAR,
    next_action VARCHAR,
    next_action_due DATE,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS outreach_contacts (
    contact_id VARCHAR PRIMARY KEY,
    property_id VARCHAR NOT NULL,
    contact_date DATE NOT NULL,
    channel VARCHAR NOT NULL,
    letter VARCHAR,
    outcome VARCHAR NOT NULL,
    note VARCHAR,
    recorded_by VARCHAR NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS outreach_change_ids;
CREATE SEQUENCE IF NOT EXISTS outreach_contact_ids;
CREATE TABLE IF NOT EXISTS outreach_changes (
    change_id BIGINT PRIMARY KEY DEFAULT nextval('outreach_change_ids'),
    property_id VARCHAR NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    actor VARCHAR NOT NULL,
    field VARCHAR NOT NULL,
    old_value VARCHAR,
    new_value VARCHAR
);

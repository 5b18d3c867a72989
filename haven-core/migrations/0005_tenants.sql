-- Tenants: on a region's Haven (its intake), a user may belong to one municipality (its code).
-- Such a user reaches only the region's routes, and there only that municipality's releases and
-- figures. NULL: the whole database (on a region's Haven, a regional user).
ALTER TABLE users ADD COLUMN IF NOT EXISTS municipality VARCHAR;

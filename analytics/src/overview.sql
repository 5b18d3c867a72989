-- Headline figures for the whole municipality.
WITH stock AS (
    SELECT * FROM vacant_properties WHERE status NOT IN ('let', 'withdrawn')
)
SELECT
    (SELECT count(*) FROM districts),
    (SELECT coalesce(sum(dwellings_total), 0)::BIGINT FROM districts),
    (SELECT coalesce(sum(units), 0)::BIGINT FROM stock),
    (SELECT coalesce(sum(units), 0)::BIGINT FROM stock WHERE condition = 'ready'),
    (SELECT coalesce(sum(units), 0)::BIGINT FROM stock WHERE condition IN ('ready', 'minor_renovation')),
    (SELECT coalesce(sum(renovation_cost_eur), 0)::DOUBLE FROM stock WHERE condition = 'minor_renovation'),
    (SELECT count(*) FROM social_housing),
    (SELECT count(*) FROM landlord_incentives WHERE status = 'active')

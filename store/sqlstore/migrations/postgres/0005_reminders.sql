-- Reminders: the marks of the lifecycle events package rotation sends,
-- and the instant the next is due, by which a sweep finds owners.
--
-- due_at is Keyset.DueAt, NULL when nothing will be due; the partial
-- index holds only the owners with something due, earliest first.
-- reminded_for and reminded_at mark the expiry reminders of a secret,
-- reminded_at of a value the notice that its grace window ends soon.

ALTER TABLE owners ADD COLUMN due_at bigint;
ALTER TABLE secrets ADD COLUMN reminded_for bigint;
ALTER TABLE secrets ADD COLUMN reminded_at bigint;
ALTER TABLE secret_values ADD COLUMN reminded_at bigint;

CREATE INDEX owners_due_at ON owners (due_at, owner COLLATE "C") WHERE due_at IS NOT NULL;

-- Secrets that expired before this step are marked as told, so an
-- upgrade does not announce them; every owner with a secret that may
-- still be reminded of, or a value in grace, is due at once, so that the
-- first sweep works out its due_at.
UPDATE secrets SET reminded_for = expires_at, reminded_at = expires_at
WHERE expires_at IS NOT NULL AND revoked_at IS NULL
	AND expires_at <= (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;

UPDATE owners SET due_at = 0
WHERE EXISTS (
	SELECT 1 FROM secrets s
	WHERE s.owner = owners.owner AND s.revoked_at IS NULL AND s.expires_at IS NOT NULL AND s.reminded_for IS NULL
) OR EXISTS (SELECT 1 FROM secret_values v WHERE v.owner = owners.owner AND v.position > 0);

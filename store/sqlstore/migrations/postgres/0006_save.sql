-- Saves in one call: rotor_save does what a save did in a transaction of
-- four statements (BEGIN, the compare-and-swap, the rows, COMMIT), each a
-- round trip, as one statement that commits when it returns. Its own
-- statements run one after another, each on a snapshot taken when it
-- starts, so those after the compare-and-swap, which may have waited for
-- the owner's row, see what was committed meanwhile.
--
-- save_owner is the owner; read_version the version the keyset was read
-- at (0 for an owner never saved), and save_signing and save_due its
-- designation and due time; key_rows and value_rows the rows to write, JSON arrays of objects with a
-- member per column; value_ids and key_ids the ids of every value and
-- every key of the keyset, and prune whether rows may be stored that it
-- no longer holds, which are then removed; channel where listeners hear
-- of the change; and lock_wait_ms, when above 0, how long the save may
-- wait for a lock, such as the owner's row while another writer holds
-- it, before it fails (lock_not_available) and changes nothing. It
-- returns false, and changes nothing, when the stored version is not
-- read_version.
--
-- Rows are written only if they changed, and a stored last use later
-- than the one saved is kept, as the SQLite statements of package
-- sqlstore do. Before its values go, a key takes the latest last use of
-- those it loses, if later than its own, since uses are recorded on
-- values alone. Removals come after the upserts, so that a value cannot
-- take the digest of one removed in the same save.

CREATE FUNCTION rotor_save(
	save_owner text, read_version bigint, save_signing text, save_due bigint,
	key_rows text, value_rows text, value_ids text[], key_ids text[], prune boolean, channel text,
	lock_wait_ms bigint
) RETURNS boolean
LANGUAGE plpgsql AS $save$
BEGIN
	IF lock_wait_ms > 0 THEN
		PERFORM set_config('lock_timeout', lock_wait_ms || 'ms', true);
	END IF;
	IF read_version = 0 THEN
		INSERT INTO owners (owner, version, signing, due_at, changed_xid)
		VALUES (save_owner, 1, save_signing, save_due, pg_current_xact_id())
		ON CONFLICT (owner) DO NOTHING;
	ELSE
		UPDATE owners SET version = version + 1, signing = save_signing, due_at = save_due,
			changed_xid = pg_current_xact_id()
		WHERE owner = save_owner AND version = read_version;
	END IF;
	IF NOT FOUND THEN
		RETURN false;
	END IF;

	INSERT INTO secrets (owner, position, id, name, format, custom, hmac, scopes, networks,
		rate_limit, metadata, created_at, updated_at, expires_at, revoked_at, last_used_at, last_used_ip,
		reminded_for, reminded_at)
	SELECT save_owner, k.position, k.id, k.name, k.format, k.custom, k.hmac, k.scopes, k.networks,
		k.rate_limit, k.metadata, k.created_at, k.updated_at, k.expires_at, k.revoked_at,
		k.last_used_at, k.last_used_ip, k.reminded_for, k.reminded_at
	FROM jsonb_to_recordset(key_rows::jsonb) AS k(position integer, id text, name text, format text,
		custom boolean, hmac boolean, scopes jsonb, networks jsonb, rate_limit bigint, metadata jsonb,
		created_at bigint, updated_at bigint, expires_at bigint, revoked_at bigint, last_used_at bigint,
		last_used_ip text, reminded_for bigint, reminded_at bigint)
	ON CONFLICT (owner, id) DO UPDATE SET
		position = excluded.position, name = excluded.name, format = excluded.format,
		custom = excluded.custom, hmac = excluded.hmac, scopes = excluded.scopes, networks = excluded.networks,
		rate_limit = excluded.rate_limit, metadata = excluded.metadata, created_at = excluded.created_at,
		updated_at = excluded.updated_at, expires_at = excluded.expires_at, revoked_at = excluded.revoked_at,
		reminded_for = excluded.reminded_for, reminded_at = excluded.reminded_at,
		last_used_at = CASE WHEN (excluded.last_used_at IS NOT NULL AND (secrets.last_used_at IS NULL OR excluded.last_used_at >= secrets.last_used_at))
			THEN excluded.last_used_at ELSE secrets.last_used_at END,
		last_used_ip = CASE WHEN (excluded.last_used_at IS NOT NULL AND (secrets.last_used_at IS NULL OR excluded.last_used_at >= secrets.last_used_at))
			THEN excluded.last_used_ip ELSE secrets.last_used_ip END
	WHERE ((excluded.last_used_at IS NOT NULL AND (secrets.last_used_at IS NULL OR excluded.last_used_at >= secrets.last_used_at))
			AND (excluded.last_used_at, excluded.last_used_ip)
				IS DISTINCT FROM (secrets.last_used_at, secrets.last_used_ip))
		OR (secrets.position, secrets.name, secrets.format, secrets.custom, secrets.hmac,
			secrets.scopes, secrets.networks, secrets.rate_limit, secrets.metadata, secrets.created_at,
			secrets.updated_at, secrets.expires_at, secrets.revoked_at, secrets.reminded_for, secrets.reminded_at)
		IS DISTINCT FROM (excluded.position, excluded.name, excluded.format, excluded.custom, excluded.hmac,
			excluded.scopes, excluded.networks, excluded.rate_limit, excluded.metadata, excluded.created_at,
			excluded.updated_at, excluded.expires_at, excluded.revoked_at, excluded.reminded_for,
			excluded.reminded_at);

	INSERT INTO secret_values (owner, secret_id, id, position, hint, digest, sealed_kek_id,
		sealed_ciphertext, created_at, expires_at, last_used_at, last_used_ip, reminded_at)
	SELECT save_owner, v.secret_id, v.id, v.position, v.hint, v.digest, v.sealed_kek_id, v.sealed_ciphertext,
		v.created_at, v.expires_at, v.last_used_at, v.last_used_ip, v.reminded_at
	FROM jsonb_to_recordset(value_rows::jsonb) AS v(secret_id text, id text, position integer, hint text,
		digest bytea, sealed_kek_id text, sealed_ciphertext bytea, created_at bigint, expires_at bigint,
		last_used_at bigint, last_used_ip text, reminded_at bigint)
	ON CONFLICT (owner, id) DO UPDATE SET
		secret_id = excluded.secret_id, position = excluded.position, hint = excluded.hint,
		digest = excluded.digest, sealed_kek_id = excluded.sealed_kek_id,
		sealed_ciphertext = excluded.sealed_ciphertext, created_at = excluded.created_at,
		expires_at = excluded.expires_at, reminded_at = excluded.reminded_at,
		last_used_at = CASE WHEN (excluded.last_used_at IS NOT NULL AND (secret_values.last_used_at IS NULL OR excluded.last_used_at >= secret_values.last_used_at))
			THEN excluded.last_used_at ELSE secret_values.last_used_at END,
		last_used_ip = CASE WHEN (excluded.last_used_at IS NOT NULL AND (secret_values.last_used_at IS NULL OR excluded.last_used_at >= secret_values.last_used_at))
			THEN excluded.last_used_ip ELSE secret_values.last_used_ip END
	WHERE ((excluded.last_used_at IS NOT NULL AND (secret_values.last_used_at IS NULL OR excluded.last_used_at >= secret_values.last_used_at))
			AND (excluded.last_used_at, excluded.last_used_ip)
				IS DISTINCT FROM (secret_values.last_used_at, secret_values.last_used_ip))
		OR (secret_values.secret_id, secret_values.position, secret_values.hint,
			secret_values.digest, secret_values.sealed_kek_id, secret_values.sealed_ciphertext,
			secret_values.created_at, secret_values.expires_at, secret_values.reminded_at)
		IS DISTINCT FROM (excluded.secret_id, excluded.position, excluded.hint, excluded.digest,
			excluded.sealed_kek_id, excluded.sealed_ciphertext, excluded.created_at, excluded.expires_at,
			excluded.reminded_at);

	IF prune THEN
		UPDATE secrets s SET last_used_at = g.at, last_used_ip = g.ip
		FROM (
			SELECT DISTINCT ON (r.secret_id) r.secret_id, r.last_used_at AS at, r.last_used_ip AS ip
			FROM secret_values r
			WHERE r.owner = save_owner AND r.last_used_at IS NOT NULL AND r.id <> ALL (value_ids)
			ORDER BY r.secret_id, r.last_used_at DESC, r.id COLLATE "C"
		) g
		WHERE s.owner = save_owner AND s.id = g.secret_id AND (s.last_used_at IS NULL OR s.last_used_at < g.at);
		DELETE FROM secret_values WHERE owner = save_owner AND id <> ALL (value_ids);
		DELETE FROM secrets WHERE owner = save_owner AND id <> ALL (key_ids);
	END IF;

	PERFORM pg_notify(channel, save_owner);
	RETURN true;
END
$save$;

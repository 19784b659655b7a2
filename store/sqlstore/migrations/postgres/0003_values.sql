-- Values: a key keeps its id through rotation.
--
-- Until this step every regeneration made a new row in secrets with a new
-- id, and the row it replaced named it in replaced_by. From this step on a
-- key is one row in secrets, whatever its rotations, and each of its
-- values (the current one, and the previous ones in their grace windows)
-- is a row in secret_values: its own id, digest, hint, sealed ciphertext,
-- times and last use. Which key signs an owner's webhooks is one column of
-- owners instead of a flag on each row.
--
-- The old rows are carried over whole. Each chain of rotations becomes one
-- key, with the id of the newest row of the chain (the id callers were last
-- given); every row of the chain becomes one of its values, keeping its own
-- id, to which its sealed ciphertext is bound. A replaced row's window ends
-- at its expiry, or at its revocation if that came first. The key takes
-- the newest row's attributes, the oldest row's place in the keyset and
-- creation time, and the latest use of any of its rows (the newest row's
-- of equal ones). Formats become one column, prefix_env.

ALTER TABLE owners ADD COLUMN signing text;

-- Each old row, with the newest row of its chain (head) and how many
-- rotations back from it it is (depth 0 is the head).
CREATE TABLE rotor_migrate_chain (
	owner text    NOT NULL,
	id    text    NOT NULL,
	head  text    NOT NULL,
	depth integer NOT NULL,
	PRIMARY KEY (owner, id)
);

INSERT INTO rotor_migrate_chain (owner, id, head, depth)
WITH RECURSIVE chain (owner, id, head, depth) AS (
	SELECT s.owner, s.id, s.id, 0 FROM secrets s
	WHERE s.replaced_by = ''
	   OR NOT EXISTS (SELECT 1 FROM secrets n WHERE n.owner = s.owner AND n.id = s.replaced_by)
	UNION ALL
	SELECT s.owner, s.id, c.head, c.depth + 1
	FROM secrets s JOIN chain c ON s.owner = c.owner AND s.replaced_by = c.id
)
SELECT owner, id, head, depth FROM chain;

CREATE TABLE secrets_v3 (
	owner        text    NOT NULL REFERENCES owners (owner) ON DELETE CASCADE,
	id           text    NOT NULL,
	-- The key's index in its keyset, so a load returns them in order.
	position     integer NOT NULL,
	name         text    NOT NULL,
	format       text    NOT NULL,
	custom       boolean NOT NULL,
	hmac         boolean NOT NULL,
	scopes       jsonb,
	networks     jsonb,
	rate_limit   bigint  NOT NULL,
	metadata     jsonb,
	created_at   bigint,
	updated_at   bigint,
	expires_at   bigint,
	revoked_at   bigint,
	last_used_at bigint,
	last_used_ip text,
	PRIMARY KEY (owner, id)
);

CREATE TABLE secret_values (
	owner             text    NOT NULL,
	secret_id         text    NOT NULL,
	id                text    NOT NULL,
	-- 0 for the current value, then the previous ones, newest first.
	position          integer NOT NULL,
	hint              text    NOT NULL,
	digest            bytea   NOT NULL CHECK (octet_length(digest) = 32),
	sealed_kek_id     text    NOT NULL,
	sealed_ciphertext bytea,
	created_at        bigint,
	-- The end of a previous value's grace window; NULL for a current one.
	expires_at        bigint,
	last_used_at      bigint,
	last_used_ip      text,
	PRIMARY KEY (owner, id),
	FOREIGN KEY (owner, secret_id) REFERENCES secrets_v3 (owner, id) ON DELETE CASCADE,
	CONSTRAINT secret_values_digest_unique UNIQUE (digest)
);

CREATE INDEX secret_values_secret ON secret_values (owner, secret_id, position);

INSERT INTO secrets_v3 (owner, id, position, name, format, custom, hmac, scopes, networks, rate_limit,
	metadata, created_at, updated_at, expires_at, revoked_at, last_used_at, last_used_ip)
SELECT h.owner, h.id,
	(SELECT min(s.position) FROM secrets s JOIN rotor_migrate_chain c ON c.owner = s.owner AND c.id = s.id
	 WHERE c.owner = h.owner AND c.head = h.id),
	h.name,
	CASE h.format_env WHEN '' THEN h.format_prefix ELSE h.format_prefix || '_' || h.format_env END,
	h.custom, h.sealed_kek_id <> '', h.scopes, h.networks, h.rate_limit, h.metadata,
	(SELECT min(s.created_at) FROM secrets s JOIN rotor_migrate_chain c ON c.owner = s.owner AND c.id = s.id
	 WHERE c.owner = h.owner AND c.head = h.id),
	h.updated_at, h.expires_at, h.revoked_at,
	u.last_used_at, u.last_used_ip
FROM secrets h
JOIN rotor_migrate_chain hc ON hc.owner = h.owner AND hc.id = h.id AND hc.depth = 0
LEFT JOIN (
	SELECT c.owner, c.head, s.last_used_at, s.last_used_ip,
		row_number() OVER (PARTITION BY c.owner, c.head ORDER BY s.last_used_at DESC, c.depth) AS n
	FROM secrets s JOIN rotor_migrate_chain c ON c.owner = s.owner AND c.id = s.id
	WHERE s.last_used_at IS NOT NULL
) u ON u.owner = h.owner AND u.head = h.id AND u.n = 1;

INSERT INTO secret_values (owner, secret_id, id, position, hint, digest, sealed_kek_id, sealed_ciphertext,
	created_at, expires_at, last_used_at, last_used_ip)
SELECT s.owner, c.head, s.id, c.depth, s.hint, s.digest, s.sealed_kek_id, s.sealed_ciphertext, s.created_at,
	CASE
		WHEN c.depth = 0 THEN NULL
		WHEN s.revoked_at IS NOT NULL AND (s.expires_at IS NULL OR s.revoked_at < s.expires_at) THEN s.revoked_at
		ELSE coalesce(s.expires_at, s.updated_at, s.created_at, 0)
	END,
	s.last_used_at, s.last_used_ip
FROM secrets s JOIN rotor_migrate_chain c ON c.owner = s.owner AND c.id = s.id;

-- The designation moves to the key of the row that held it, if that key
-- can sign (its values are sealed, or it is a webhook secret) and is not
-- revoked: the only keys that may hold it from this step on.
UPDATE owners SET signing = (
	SELECT c.head FROM secrets s
	JOIN rotor_migrate_chain c ON c.owner = s.owner AND c.id = s.id
	JOIN secrets_v3 k ON k.owner = c.owner AND k.id = c.head
	WHERE s.owner = owners.owner AND s.signing
	  AND (k.hmac OR k.format = 'whsec') AND k.revoked_at IS NULL
	LIMIT 1
);

DROP TABLE secrets;
ALTER TABLE secrets_v3 RENAME TO secrets;
DROP TABLE rotor_migrate_chain;

-- Keysets: one row per owner in owners, one per secret in secrets.
--
-- Times are microseconds since the Unix epoch (UTC), NULL when unset, as
-- in the SQLite schema, so both dialects keep the same precision.
-- scopes and networks are JSON arrays of strings, metadata a JSON object;
-- NULL when empty. No column holds a secret value: digest is the SHA-256
-- (or peppered HMAC) of the key, and sealed_ciphertext its AEAD ciphertext
-- under the key-encryption key named by sealed_kek_id.

CREATE TABLE owners (
	owner   text   NOT NULL PRIMARY KEY,
	-- The number of saves so far; Save's compare-and-swap checks it.
	version bigint NOT NULL CHECK (version > 0)
);

CREATE TABLE secrets (
	owner             text    NOT NULL REFERENCES owners (owner) ON DELETE CASCADE,
	id                text    NOT NULL,
	-- The record's index in its keyset, so a load returns them in order.
	position          integer NOT NULL,
	name              text    NOT NULL,
	format_prefix     text    NOT NULL,
	format_env        text    NOT NULL,
	custom            boolean NOT NULL,
	scopes            jsonb,
	networks          jsonb,
	rate_limit        bigint  NOT NULL,
	metadata          jsonb,
	created_at        bigint,
	updated_at        bigint,
	expires_at        bigint,
	revoked_at        bigint,
	replaced_by       text    NOT NULL,
	last_used_at      bigint,
	last_used_ip      text,
	signing           boolean NOT NULL,
	hint              text    NOT NULL,
	digest            bytea   NOT NULL CHECK (octet_length(digest) = 32),
	sealed_kek_id     text    NOT NULL,
	sealed_ciphertext bytea,
	PRIMARY KEY (owner, id),
	CONSTRAINT secrets_digest_unique UNIQUE (digest)
);

-- Keysets: one row per owner in owners, one per secret in secrets.
--
-- Times are microseconds since the Unix epoch (UTC), NULL when unset.
-- scopes and networks are JSON arrays of strings, metadata a JSON object;
-- NULL when empty. Booleans are 0 or 1. No column holds a secret value:
-- digest is the SHA-256 (or peppered HMAC) of the key, and
-- sealed_ciphertext its AEAD ciphertext under the key-encryption key
-- named by sealed_kek_id.

CREATE TABLE owners (
	owner   TEXT    NOT NULL PRIMARY KEY,
	-- The number of saves so far; Save's compare-and-swap checks it.
	version INTEGER NOT NULL CHECK (version > 0)
) STRICT;

CREATE TABLE secrets (
	owner             TEXT    NOT NULL REFERENCES owners (owner) ON DELETE CASCADE,
	id                TEXT    NOT NULL,
	-- The record's index in its keyset, so a load returns them in order.
	position          INTEGER NOT NULL,
	name              TEXT    NOT NULL,
	format_prefix     TEXT    NOT NULL,
	format_env        TEXT    NOT NULL,
	custom            INTEGER NOT NULL,
	scopes            TEXT,
	networks          TEXT,
	rate_limit        INTEGER NOT NULL,
	metadata          TEXT,
	created_at        INTEGER,
	updated_at        INTEGER,
	expires_at        INTEGER,
	revoked_at        INTEGER,
	replaced_by       TEXT    NOT NULL,
	last_used_at      INTEGER,
	last_used_ip      TEXT,
	signing           INTEGER NOT NULL,
	hint              TEXT    NOT NULL,
	digest            BLOB    NOT NULL CHECK (length(digest) = 32),
	sealed_kek_id     TEXT    NOT NULL,
	sealed_ciphertext BLOB,
	PRIMARY KEY (owner, id),
	CONSTRAINT secrets_digest_unique UNIQUE (digest)
) STRICT;

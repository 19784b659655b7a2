-- What rotor's PostgreSQL store (github.com/rotorkit/rotor/store/sqlstore,
-- commit d6775f8, schema version 2) left in its schema after the scenario of
-- store/sqlstore/testdata/v2/mkfixture. Written by that program; never edit
-- or regenerate it. Execute it, as one multi-statement Exec, in an empty
-- schema that is the connection's current one: every name is unqualified.
--
-- The statements below are those sqlstore runs, verbatim: its
-- rotor_migrations table, then migrations 0001 and 0002. The rows follow, as
-- read back from the schema. owners.changed_xid is written as 0 (the value
-- of rows saved before migration 0002): the transaction ids of the server
-- that wrote the rows mean nothing on another.

CREATE TABLE IF NOT EXISTS rotor_migrations (
	version    integer     NOT NULL PRIMARY KEY,
	applied_at timestamptz NOT NULL DEFAULT now()
);

-- store/sqlstore/migrations/postgres/0001_keysets.sql

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

-- store/sqlstore/migrations/postgres/0002_changes.sql

-- Changes: which owners' keysets were saved, for Store.Changes.
--
-- Every save sets changed_xid to the id of its transaction
-- (pg_current_xact_id()). A cursor is the xmin of a snapshot: every
-- transaction that snapshot does not see has an id at least as large, so
-- the owners with changed_xid >= cursor include every save committed
-- after it. Rows saved before this step hold 0. xid8 needs PostgreSQL 13.

ALTER TABLE owners ADD COLUMN changed_xid xid8 NOT NULL DEFAULT '0';

CREATE INDEX owners_changed_xid ON owners (changed_xid);

-- Rows.

INSERT INTO rotor_migrations (version, applied_at) VALUES ('1'::integer, '2026-12-01 07:59:24.851008+00'::timestamp with time zone);
INSERT INTO rotor_migrations (version, applied_at) VALUES ('2'::integer, '2026-12-01 07:59:24.851008+00'::timestamp with time zone);

INSERT INTO owners (owner, version, changed_xid) VALUES ('acme'::text, '7'::bigint, '0'::xid8);
INSERT INTO owners (owner, version, changed_xid) VALUES ('globex'::text, '4'::bigint, '0'::xid8);
INSERT INTO owners (owner, version, changed_xid) VALUES ('initech'::text, '2'::bigint, '0'::xid8);

INSERT INTO secrets (owner, id, position, name, format_prefix, format_env, custom, scopes, networks, rate_limit, metadata, created_at, updated_at, expires_at, revoked_at, replaced_by, last_used_at, last_used_ip, signing, hint, digest, sealed_kek_id, sealed_ciphertext) VALUES ('acme'::text, 'sec_bdie4hiil6fwyioav4c3jdbohl'::text, '0'::integer, 'primary'::text, 'sk'::text, 'live'::text, 'false'::boolean, NULL, NULL, '0'::bigint, NULL, '1793523600000000'::bigint, '1793529000000000'::bigint, '1793532600000000'::bigint, NULL, 'sec_ln7pu544knm4bj3encz3yfw5qa'::text, '1793529900000000'::bigint, '192.0.2.10'::text, 'false'::boolean, 'XnTn'::text, '\x8e4e9316d32c3280ec57336cc126f71ccdcad8e4754bd231fdb7f6fa44c72cb9'::bytea, 'kek-fixture'::text, '\x81ff9305d52df91821fbab2b95dcc0d2b0ae69a11700bc02786cf8e55d4a76abc12768836ddab6fc0513ff24d6da9cf3a042abf1242ef6f88d77debd627c0b5135c17068f63e83a64340ab7b908d0033aaadce72b594122f34b013bc4cd968cbd6'::bytea);
INSERT INTO secrets (owner, id, position, name, format_prefix, format_env, custom, scopes, networks, rate_limit, metadata, created_at, updated_at, expires_at, revoked_at, replaced_by, last_used_at, last_used_ip, signing, hint, digest, sealed_kek_id, sealed_ciphertext) VALUES ('acme'::text, 'sec_nyakbrl5kuwexuukqyzornqvtd'::text, '1'::integer, 'ci'::text, 'sk'::text, 'live'::text, 'false'::boolean, '["charges:read", "charges:write", "account:api:key:update"]'::jsonb, '["203.0.113.0/24", "2001:db8:abcd::/48"]'::jsonb, '600'::bigint, '{"site": "café", "team": "platform", "comment": "", "städte": "Zürich–東京"}'::jsonb, '1793523660000000'::bigint, '1793523660000000'::bigint, '1801299660000000'::bigint, NULL, ''::text, '1793529900000000'::bigint, '203.0.113.7'::text, 'false'::boolean, 'mN3S'::text, '\x96106cca49d9d20e3b568420f1ff4a0ea27beff718b96f7739f166b45707d599'::bytea, ''::text, NULL);
INSERT INTO secrets (owner, id, position, name, format_prefix, format_env, custom, scopes, networks, rate_limit, metadata, created_at, updated_at, expires_at, revoked_at, replaced_by, last_used_at, last_used_ip, signing, hint, digest, sealed_kek_id, sealed_ciphertext) VALUES ('acme'::text, 'sec_afe7coyzbve6xoih23orjiqhjo'::text, '2'::integer, 'old'::text, 'sk'::text, 'live'::text, 'false'::boolean, NULL, NULL, '0'::bigint, NULL, '1793523720000000'::bigint, '1793523780000000'::bigint, NULL, '1793523780000000'::bigint, ''::text, NULL, NULL, 'false'::boolean, 'HPTJ'::text, '\x03b5b55deb77aa2d3f51c4da82bd483faeb4af2b05123dc7cc6f3be702d0ee43'::bytea, ''::text, NULL);
INSERT INTO secrets (owner, id, position, name, format_prefix, format_env, custom, scopes, networks, rate_limit, metadata, created_at, updated_at, expires_at, revoked_at, replaced_by, last_used_at, last_used_ip, signing, hint, digest, sealed_kek_id, sealed_ciphertext) VALUES ('acme'::text, 'sec_o5pfgpznq336fn4d64efnxtlts'::text, '3'::integer, 'custom'::text, 'sk'::text, 'live'::text, 'true'::boolean, NULL, NULL, '0'::bigint, NULL, '1793523840000000'::bigint, '1793523840000000'::bigint, NULL, NULL, ''::text, '1793529900000000'::bigint, NULL, 'false'::boolean, 'zUg4'::text, '\xb32bdde6cc5724434ffc9a288964208167ca59d43c568fc088ceae394bfa1ee6'::bytea, ''::text, NULL);
INSERT INTO secrets (owner, id, position, name, format_prefix, format_env, custom, scopes, networks, rate_limit, metadata, created_at, updated_at, expires_at, revoked_at, replaced_by, last_used_at, last_used_ip, signing, hint, digest, sealed_kek_id, sealed_ciphertext) VALUES ('acme'::text, 'sec_ln7pu544knm4bj3encz3yfw5qa'::text, '4'::integer, 'primary'::text, 'sk'::text, 'live'::text, 'false'::boolean, NULL, NULL, '0'::bigint, NULL, '1793529000000000'::bigint, '1793529600000000'::bigint, '1793531400000000'::bigint, NULL, 'sec_jdmnsfyoic2s5vruwyosvbxmgp'::text, NULL, NULL, 'false'::boolean, 'AwW6'::text, '\x4dedeff8e1800b94fc710c8c6f22d8af2c2118ff11f2d82672833bfd19809f09'::bytea, 'kek-fixture'::text, '\x91099279d0cfadedad285f32db7a11c5c9c3f15548a91aaaed82126e688abd13c467748a7f9022baf0154cfa26854a1498ffca6a01706df394b2690cd7c68faff1b5d9d08914d92e73cd8280ac651e4e7f2186392884455614fcefffceac13d630'::bytea);
INSERT INTO secrets (owner, id, position, name, format_prefix, format_env, custom, scopes, networks, rate_limit, metadata, created_at, updated_at, expires_at, revoked_at, replaced_by, last_used_at, last_used_ip, signing, hint, digest, sealed_kek_id, sealed_ciphertext) VALUES ('acme'::text, 'sec_jdmnsfyoic2s5vruwyosvbxmgp'::text, '5'::integer, 'primary'::text, 'sk'::text, 'live'::text, 'false'::boolean, NULL, NULL, '0'::bigint, NULL, '1793529600000000'::bigint, '1793529600000000'::bigint, NULL, NULL, ''::text, '1793529900000000'::bigint, '2001:db8:1::42'::text, 'true'::boolean, 'nQmU'::text, '\x0deff4def1efd47c868502da368c324412a7f838de4058a369359f937bde4a6d'::bytea, 'kek-fixture'::text, '\xb9a8d3fcc73d17cb6d54203e20f0b2e428a410344b01eeab5a936bf1bea0c4ddaec54dd8402cd489edf07398e31013a84a7f15679bb32b0beca0f6d50055f25b6b448bb4660ca1774f8bc1c2bd224233d65ab91b1c82398e08f09f23eb1b45e0ff'::bytea);
INSERT INTO secrets (owner, id, position, name, format_prefix, format_env, custom, scopes, networks, rate_limit, metadata, created_at, updated_at, expires_at, revoked_at, replaced_by, last_used_at, last_used_ip, signing, hint, digest, sealed_kek_id, sealed_ciphertext) VALUES ('globex'::text, 'sec_ta626m2qj7hgszv64ihfzgrp5t'::text, '0'::integer, 'hooks'::text, 'whsec'::text, ''::text, 'false'::boolean, NULL, NULL, '0'::bigint, NULL, '1793523900000000'::bigint, '1793523960000000'::bigint, NULL, '1793523960000000'::bigint, 'sec_u5midldo24stzj6j47hz7hvesn'::text, NULL, NULL, 'false'::boolean, 'D9I='::text, '\x606dc6b0467f86e7d0e784c705efc5fd151ac60de734b6ed0aaeba6558aecf75'::bytea, 'kek-fixture'::text, '\x3e0b85cd842739cb54648d36619ba3579e45cc51c7cd5a4df661747ace05c83a1f37300219f71adde17654ed3bd3592810b66ac3b31b7c9bd735a1013b193969020bc3bf668f26e3e1589125be37109784832c843d6486771e6b'::bytea);
INSERT INTO secrets (owner, id, position, name, format_prefix, format_env, custom, scopes, networks, rate_limit, metadata, created_at, updated_at, expires_at, revoked_at, replaced_by, last_used_at, last_used_ip, signing, hint, digest, sealed_kek_id, sealed_ciphertext) VALUES ('globex'::text, 'sec_u5midldo24stzj6j47hz7hvesn'::text, '1'::integer, 'hooks'::text, 'whsec'::text, ''::text, 'false'::boolean, NULL, NULL, '0'::bigint, NULL, '1793523960000000'::bigint, '1793523960000000'::bigint, NULL, NULL, ''::text, NULL, NULL, 'true'::boolean, 'y0M='::text, '\xfc8541c033769ec64884d7168a7319c6d41e843c8a3611786c9974e8c6c17bc1'::bytea, 'kek-fixture'::text, '\x7b2ba6a034799bdecdd6623329ce1d097a6a488dcfb745191771d88ab274fda6be2bc2078740e7522249b5cd9035f8b4f587c06f8f9aa5ab70e8e928a529e436a0342b1ab083d8f1a53ee18ac82d71f3028aa5e358b1ca8e3db6'::bytea);
INSERT INTO secrets (owner, id, position, name, format_prefix, format_env, custom, scopes, networks, rate_limit, metadata, created_at, updated_at, expires_at, revoked_at, replaced_by, last_used_at, last_used_ip, signing, hint, digest, sealed_kek_id, sealed_ciphertext) VALUES ('globex'::text, 'sec_v4rzmuz2p6ca7ge34kdlnzfuej'::text, '2'::integer, 'short'::text, 'sk'::text, 'live'::text, 'false'::boolean, NULL, NULL, '0'::bigint, NULL, '1793524020000000'::bigint, '1793524020000000'::bigint, '1793527620000000'::bigint, NULL, ''::text, '1793524500000000'::bigint, '198.51.100.24'::text, 'false'::boolean, 'U6ab'::text, '\x5615f4c5c6b0c7784c31c64574902ba87e17f0824389ad3ac6fe3b44bcde7824'::bytea, ''::text, NULL);
INSERT INTO secrets (owner, id, position, name, format_prefix, format_env, custom, scopes, networks, rate_limit, metadata, created_at, updated_at, expires_at, revoked_at, replaced_by, last_used_at, last_used_ip, signing, hint, digest, sealed_kek_id, sealed_ciphertext) VALUES ('globex'::text, 'sec_yooun3ha6qbo7kkuesfrctwn4i'::text, '3'::integer, 'test'::text, 'sk'::text, 'test'::text, 'false'::boolean, NULL, NULL, '0'::bigint, NULL, '1793524080000000'::bigint, '1793524080000000'::bigint, NULL, NULL, ''::text, '1793529900000000'::bigint, '198.51.100.99'::text, 'false'::boolean, 'QgWj'::text, '\xde3f5e21390062793816e3e9e062d7f4895d6e6bdc0a198c1d937b2f4d80087b'::bytea, ''::text, NULL);
INSERT INTO secrets (owner, id, position, name, format_prefix, format_env, custom, scopes, networks, rate_limit, metadata, created_at, updated_at, expires_at, revoked_at, replaced_by, last_used_at, last_used_ip, signing, hint, digest, sealed_kek_id, sealed_ciphertext) VALUES ('initech'::text, 'sec_u7q3ssz5ureoj5u2qdxasgo5gk'::text, '0'::integer, 'signer'::text, 'sk'::text, 'live'::text, 'false'::boolean, NULL, NULL, '0'::bigint, NULL, '1793524140000000'::bigint, '1793524200000000'::bigint, '1793524800000000'::bigint, NULL, 'sec_5tqgl6gzfc3bqhethervfclty5'::text, '1793524500000000'::bigint, '198.51.100.23'::text, 'false'::boolean, 'defP'::text, '\xc5d5cad83c38b8c86d3ecfcc76682c35987803fa19cde5e4a6bf9b43f15ee964'::bytea, 'kek-fixture'::text, '\x631164695971b1c2e634d011725a473ee5b7d621d9aad7cfb4e143feb99936a632b5e4f3b2bcd67f22f8a1c1b729f49f815a8881d6b403d364f4d4818512e4e5fd75247968aa79b20158476bdd8dacdc65c995a3422e4c6d5dd02bdf96eb396548'::bytea);
INSERT INTO secrets (owner, id, position, name, format_prefix, format_env, custom, scopes, networks, rate_limit, metadata, created_at, updated_at, expires_at, revoked_at, replaced_by, last_used_at, last_used_ip, signing, hint, digest, sealed_kek_id, sealed_ciphertext) VALUES ('initech'::text, 'sec_5tqgl6gzfc3bqhethervfclty5'::text, '1'::integer, 'signer'::text, 'sk'::text, 'live'::text, 'false'::boolean, NULL, NULL, '0'::bigint, NULL, '1793524200000000'::bigint, '1793524200000000'::bigint, NULL, NULL, ''::text, '1793529900000000'::bigint, '10.20.30.40'::text, 'true'::boolean, '4M8U'::text, '\x9abc1f95ba59257e7060b9ae7dd0b469ca26c5c7bdce9f7681af94ef139156b4'::bytea, 'kek-fixture'::text, '\x3a5fc55ae73ec9bb8e9dff631cff1fc0beb7493c1cc66615557e3932e4ef52804be53b18356c15148784dacc75c423a99188c974863ecd36b605e5c4c942750b450d974613f073618a5dfdf5b11d7f04180c70b8fb971f9bda5486b2504e5bb717'::bytea);

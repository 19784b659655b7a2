package sqlstore

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

// recordColumns are the columns of secrets that make a [store.Record], in
// the order recordRow.dest scans them.
const recordColumns = `id, name, format_prefix, format_env, custom, scopes, networks, rate_limit, metadata,
	created_at, updated_at, expires_at, revoked_at, replaced_by, last_used_at, last_used_ip,
	signing, hint, digest, sealed_kek_id, sealed_ciphertext`

// recordRow receives the columns of one record. Every field may be NULL,
// as in a left join that found no record.
type recordRow struct {
	id, name, formatPrefix, formatEnv          sql.NullString
	custom                                     sql.NullBool
	scopes, networks                           sql.NullString
	rateLimit                                  sql.NullInt64
	metadata                                   sql.NullString
	createdAt, updatedAt, expiresAt, revokedAt sql.NullInt64
	replacedBy                                 sql.NullString
	lastUsedAt                                 sql.NullInt64
	lastUsedIP                                 sql.NullString
	signing                                    sql.NullBool
	hint                                       sql.NullString
	digest                                     []byte
	sealedKEKID                                sql.NullString
	sealedCiphertext                           []byte
}

// dest returns pointers to r's fields in the order of recordColumns,
// appended to dst.
func (r *recordRow) dest(dst ...any) []any {
	return append(dst,
		&r.id, &r.name, &r.formatPrefix, &r.formatEnv, &r.custom, &r.scopes, &r.networks, &r.rateLimit, &r.metadata,
		&r.createdAt, &r.updatedAt, &r.expiresAt, &r.revokedAt, &r.replacedBy, &r.lastUsedAt, &r.lastUsedIP,
		&r.signing, &r.hint, &r.digest, &r.sealedKEKID, &r.sealedCiphertext)
}

// record decodes r. database/sql copied every byte slice it scanned, so
// the record shares no memory with the driver.
func (r *recordRow) record() (store.Record, error) {
	rec := store.Record{
		ID:         r.id.String,
		Name:       r.name.String,
		Format:     joinFormat(r.formatPrefix.String, r.formatEnv.String),
		Custom:     r.custom.Bool,
		RateLimit:  int(r.rateLimit.Int64),
		CreatedAt:  fromMicros(r.createdAt),
		UpdatedAt:  fromMicros(r.updatedAt),
		ExpiresAt:  fromMicros(r.expiresAt),
		RevokedAt:  fromMicros(r.revokedAt),
		ReplacedBy: r.replacedBy.String,
		LastUsedAt: fromMicros(r.lastUsedAt),
		Signing:    r.signing.Bool,
		Hint:       r.hint.String,
		Sealed:     secrets.Sealed{KEKID: r.sealedKEKID.String, Ciphertext: r.sealedCiphertext},
	}
	// Messages name the record and the column, never what it holds.
	if len(r.digest) != len(rec.Digest) {
		return store.Record{}, fmt.Errorf("sqlstore: record %q has a malformed digest", rec.ID)
	}
	copy(rec.Digest[:], r.digest)
	if err := unmarshalColumn(r.scopes, &rec.Scopes); err != nil {
		return store.Record{}, fmt.Errorf("sqlstore: record %q has malformed scopes", rec.ID)
	}
	if err := unmarshalColumn(r.networks, &rec.Networks); err != nil {
		return store.Record{}, fmt.Errorf("sqlstore: record %q has malformed networks", rec.ID)
	}
	if err := unmarshalColumn(r.metadata, &rec.Metadata); err != nil {
		return store.Record{}, fmt.Errorf("sqlstore: record %q has malformed metadata", rec.ID)
	}
	if r.lastUsedIP.Valid {
		if err := rec.LastUsedIP.UnmarshalText([]byte(r.lastUsedIP.String)); err != nil {
			return store.Record{}, fmt.Errorf("sqlstore: record %q has a malformed last used address", rec.ID)
		}
	}
	return rec, nil
}

// joinFormat is the Format stored in the columns format_prefix and
// format_env, which [secrets.Format.Prefix] and [secrets.Format.Env] split
// it into; [secrets.Webhook] has no env.
func joinFormat(prefix, env string) secrets.Format {
	if env == "" {
		return secrets.Format(prefix)
	}
	return secrets.Format(prefix + "_" + env)
}

// recordArgs returns the arguments of upsertRecord for r, the record at
// position pos of owner's keyset.
func recordArgs(owner string, pos int, r *store.Record) []any {
	return []any{
		owner, pos, r.ID, r.Name, r.Format.Prefix(), r.Format.Env(), r.Custom,
		jsonColumn(len(r.Scopes), r.Scopes), jsonColumn(len(r.Networks), r.Networks),
		int64(r.RateLimit), jsonColumn(len(r.Metadata), r.Metadata),
		micros(r.CreatedAt), micros(r.UpdatedAt), micros(r.ExpiresAt), micros(r.RevokedAt),
		r.ReplacedBy, micros(r.LastUsedAt), addrColumn(r.LastUsedIP),
		r.Signing, r.Hint, r.Digest[:], r.Sealed.KEKID, bytesColumn(r.Sealed.Ciphertext),
	}
}

// upsertRecord writes one record of a keyset. A stored use later than
// the one the record carries is kept, as [store.Store] promises; in SET,
// secrets.* is the stored row and excluded.* the one being saved. The
// owner's row is locked by the caller, so no other save runs at once, but
// uses may be recorded meanwhile: comparing here, in the statement that
// writes, loses none of them.
const upsertRecord = `INSERT INTO secrets (owner, position, ` + recordColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
ON CONFLICT (owner, id) DO UPDATE SET
	position = excluded.position,
	name = excluded.name,
	format_prefix = excluded.format_prefix,
	format_env = excluded.format_env,
	custom = excluded.custom,
	scopes = excluded.scopes,
	networks = excluded.networks,
	rate_limit = excluded.rate_limit,
	metadata = excluded.metadata,
	created_at = excluded.created_at,
	updated_at = excluded.updated_at,
	expires_at = excluded.expires_at,
	revoked_at = excluded.revoked_at,
	replaced_by = excluded.replaced_by,
	last_used_at = CASE WHEN ` + storedUseIsLater + ` THEN secrets.last_used_at ELSE excluded.last_used_at END,
	last_used_ip = CASE WHEN ` + storedUseIsLater + ` THEN secrets.last_used_ip ELSE excluded.last_used_ip END,
	signing = excluded.signing,
	hint = excluded.hint,
	digest = excluded.digest,
	sealed_kek_id = excluded.sealed_kek_id,
	sealed_ciphertext = excluded.sealed_ciphertext`

// storedUseIsLater is true when the stored row was used later than the
// one being saved says (NULL: never used).
const storedUseIsLater = `secrets.last_used_at IS NOT NULL AND (excluded.last_used_at IS NULL OR secrets.last_used_at > excluded.last_used_at)`

// micros returns t as microseconds since the Unix epoch, or nil (NULL)
// for the zero time.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// fromMicros is the inverse of micros, in UTC.
func fromMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMicro(n.Int64).UTC()
}

// jsonColumn returns v as JSON text, or nil (NULL) when it has no
// elements (n). Text, not bytes, so that SQLite keeps it as TEXT.
func jsonColumn(n int, v any) any {
	if n == 0 {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		// []string, []netip.Prefix and map[string]string always marshal.
		panic("sqlstore: " + err.Error())
	}
	return string(b)
}

// unmarshalColumn decodes a column that jsonColumn wrote; NULL leaves v
// as it is.
func unmarshalColumn(s sql.NullString, v any) error {
	if !s.Valid {
		return nil
	}
	return json.Unmarshal([]byte(s.String), v)
}

// addrColumn returns a as text, or nil (NULL) for the zero Addr.
func addrColumn(a netip.Addr) any {
	if !a.IsValid() {
		return nil
	}
	return a.String()
}

// bytesColumn returns b, or nil (NULL) when it is empty.
func bytesColumn(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

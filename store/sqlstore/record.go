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

// keyColumns are the columns of secrets that make a [store.Record] but
// its values, in the order keyRow.dest scans them; valueColumns are those
// of secret_values that make a [store.Value], in the order of
// valueRow.dest. Both are qualified by the aliases s and v.
const (
	keyColumns = `s.id, s.name, s.format, s.custom, s.hmac, s.scopes, s.networks, s.rate_limit, s.metadata,
	s.created_at, s.updated_at, s.expires_at, s.revoked_at, s.last_used_at, s.last_used_ip,
	s.reminded_for, s.reminded_at`
	valueColumns = `v.id, v.hint, v.digest, v.sealed_kek_id, v.sealed_ciphertext,
	v.created_at, v.expires_at, v.last_used_at, v.last_used_ip, v.reminded_at`
)

// keyRow receives the columns of one key. Every field may be NULL, as in
// a left join that found no key.
type keyRow struct {
	id, name, format                                       sql.NullString
	custom, hmac                                           sql.NullBool
	scopes, networks                                       sql.NullString
	rateLimit                                              sql.NullInt64
	metadata                                               sql.NullString
	createdAt, updatedAt, expiresAt, revokedAt, lastUsedAt sql.NullInt64
	lastUsedIP                                             sql.NullString
	remindedFor, remindedAt                                sql.NullInt64
}

func (r *keyRow) dest(dst ...any) []any {
	return append(dst,
		&r.id, &r.name, &r.format, &r.custom, &r.hmac, &r.scopes, &r.networks, &r.rateLimit, &r.metadata,
		&r.createdAt, &r.updatedAt, &r.expiresAt, &r.revokedAt, &r.lastUsedAt, &r.lastUsedIP,
		&r.remindedFor, &r.remindedAt)
}

// record decodes r into a key without values. Messages name the key and
// the column, never what it holds.
func (r *keyRow) record() (store.Record, error) {
	rec := store.Record{
		ID: r.id.String,
		Attributes: store.Attributes{
			Name:      r.name.String,
			Format:    secrets.Format(r.format.String),
			Custom:    r.custom.Bool,
			HMAC:      r.hmac.Bool,
			RateLimit: int(r.rateLimit.Int64),
			ExpiresAt: fromMicros(r.expiresAt),
		},
		CreatedAt:  fromMicros(r.createdAt),
		UpdatedAt:  fromMicros(r.updatedAt),
		RevokedAt:  fromMicros(r.revokedAt),
		LastUsedAt: fromMicros(r.lastUsedAt),

		RemindedFor: fromMicros(r.remindedFor),
		RemindedAt:  fromMicros(r.remindedAt),
	}
	if err := unmarshalColumn(r.scopes, &rec.Scopes); err != nil {
		return store.Record{}, fmt.Errorf("sqlstore: key %q has malformed scopes", rec.ID)
	}
	if err := unmarshalColumn(r.networks, &rec.Networks); err != nil {
		return store.Record{}, fmt.Errorf("sqlstore: key %q has malformed networks", rec.ID)
	}
	if err := unmarshalColumn(r.metadata, &rec.Metadata); err != nil {
		return store.Record{}, fmt.Errorf("sqlstore: key %q has malformed metadata", rec.ID)
	}
	var err error
	if rec.LastUsedIP, err = addrOf(r.lastUsedIP); err != nil {
		return store.Record{}, fmt.Errorf("sqlstore: key %q has a malformed last used address", rec.ID)
	}
	return rec, nil
}

// valueRow receives the columns of one value; NULL in a left join that
// found none.
type valueRow struct {
	id, hint, sealedKEKID            sql.NullString
	digest, sealedCiphertext         []byte
	createdAt, expiresAt, lastUsedAt sql.NullInt64
	lastUsedIP                       sql.NullString
	remindedAt                       sql.NullInt64
}

func (r *valueRow) dest(dst ...any) []any {
	return append(dst,
		&r.id, &r.hint, &r.digest, &r.sealedKEKID, &r.sealedCiphertext,
		&r.createdAt, &r.expiresAt, &r.lastUsedAt, &r.lastUsedIP, &r.remindedAt)
}

// value decodes r. database/sql copied every byte slice it scanned, so
// the value shares no memory with the driver.
func (r *valueRow) value(key string) (store.Value, error) {
	v := store.Value{
		ID:         r.id.String,
		Hint:       r.hint.String,
		Sealed:     secrets.Sealed{KEKID: r.sealedKEKID.String, Ciphertext: r.sealedCiphertext},
		CreatedAt:  fromMicros(r.createdAt),
		ExpiresAt:  fromMicros(r.expiresAt),
		LastUsedAt: fromMicros(r.lastUsedAt),
		RemindedAt: fromMicros(r.remindedAt),
	}
	if len(r.digest) != len(v.Digest) {
		return store.Value{}, fmt.Errorf("sqlstore: a value of key %q has a malformed digest", key)
	}
	copy(v.Digest[:], r.digest)
	var err error
	if v.LastUsedIP, err = addrOf(r.lastUsedIP); err != nil {
		return store.Value{}, fmt.Errorf("sqlstore: a value of key %q has a malformed last used address", key)
	}
	return v, nil
}

// keyScan reads the rows of a query that returns keyColumns and then
// valueColumns, a row per value, ordered by key and then value position,
// into keys.
type keyScan struct {
	key  keyRow
	val  valueRow
	keys []store.Record
}

// add decodes the row just scanned: a new key, or another value of the
// last one. A row without a key (an owner with none) adds nothing.
func (k *keyScan) add() error {
	if !k.key.id.Valid {
		return nil
	}
	if n := len(k.keys); n == 0 || k.keys[n-1].ID != k.key.id.String {
		rec, err := k.key.record()
		if err != nil {
			return err
		}
		k.keys = append(k.keys, rec)
	}
	rec := &k.keys[len(k.keys)-1]
	if !k.val.id.Valid {
		return fmt.Errorf("sqlstore: key %q has no value", rec.ID)
	}
	v, err := k.val.value(rec.ID)
	if err != nil {
		return err
	}
	if rec.Current.ID == "" {
		rec.Current = v
	} else {
		rec.Previous = append(rec.Previous, v)
	}
	// Recorded uses are written to the values only; a key's own columns
	// hold what saves gave it, and the uses of values since removed (see
	// RecordUses). Its last use is the latest of these, and of the first
	// value that has it.
	if v.LastUsedAt.After(rec.LastUsedAt) {
		rec.LastUsedAt, rec.LastUsedIP = v.LastUsedAt, v.LastUsedIP
	}
	return nil
}

// keyArgs appends to dst the arguments of sqliteUpsertKey for r, the key
// at position pos of owner's keyset.
func keyArgs(dst []any, owner string, pos int, r *store.Record) []any {
	return append(dst,
		owner, pos, r.ID, r.Name, string(r.Format), r.Custom, r.HMAC,
		jsonColumn(len(r.Scopes), r.Scopes), jsonColumn(len(r.Networks), r.Networks),
		int64(r.RateLimit), jsonColumn(len(r.Metadata), r.Metadata),
		micros(r.CreatedAt), micros(r.UpdatedAt), micros(r.ExpiresAt), micros(r.RevokedAt),
		micros(r.LastUsedAt), addrColumn(r.LastUsedIP), micros(r.RemindedFor), micros(r.RemindedAt),
	)
}

// valueArgs appends to dst the arguments of sqliteUpsertValue for v, the
// value at position pos (0 for the current one) of the key id of owner.
func valueArgs(dst []any, owner, id string, pos int, v *store.Value) []any {
	return append(dst,
		owner, id, v.ID, pos, v.Hint, v.Digest[:], v.Sealed.KEKID, bytesColumn(v.Sealed.Ciphertext),
		micros(v.CreatedAt), micros(v.ExpiresAt), micros(v.LastUsedAt), addrColumn(v.LastUsedIP),
		micros(v.RemindedAt),
	)
}

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
// elements (n). Text, not bytes, so that SQLite keeps it as TEXT. The
// text [store.Attributes.Validate] allows (valid UTF-8 without NUL)
// encodes and decodes unchanged.
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

// addrOf decodes a column that addrColumn wrote; NULL is the zero Addr.
func addrOf(s sql.NullString) (netip.Addr, error) {
	var a netip.Addr
	if !s.Valid {
		return a, nil
	}
	err := a.UnmarshalText([]byte(s.String))
	return a, err
}

// bytesColumn returns b, or nil (NULL) when it is empty.
func bytesColumn(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

package store

import (
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/rotorkit/rotor/secrets"
)

// Keyset is every secret of one owner, with the version that the store's
// compare-and-swap checks. A Keyset is a plain value: it is not safe for
// concurrent mutation, and [Keyset.Clone] gives a copy that shares nothing.
type Keyset struct {
	// Owner identifies the integrator, organization or account.
	Owner string
	// Version is the number of saves so far; 0 means never saved.
	Version int64
	// Secrets holds the owner's records, in creation order.
	Secrets []Record
}

// Clone returns a deep copy of k.
func (k Keyset) Clone() Keyset {
	out := k
	if k.Secrets != nil {
		out.Secrets = make([]Record, len(k.Secrets))
		for i := range k.Secrets {
			out.Secrets[i] = k.Secrets[i].Clone()
		}
	}
	return out
}

// Find returns the index of the record with the given id, or -1.
func (k *Keyset) Find(id string) int {
	for i := range k.Secrets { // by index: a Record is too large to copy per step
		if k.Secrets[i].ID == id {
			return i
		}
	}
	return -1
}

// Record is the stored metadata of one secret. It never holds plaintext.
// The zero value is not a valid record; package rotation makes them.
type Record struct {
	ID   string // unique within the store, not secret
	Name string // for display

	// Format is the key's prefix and environment, such as sk and live;
	// secrets.Webhook for Standard Webhooks signing secrets.
	Format secrets.Format
	// Custom secrets can only be created and deleted; managed ones (the
	// default) can also be regenerated.
	Custom bool

	Scopes    []string          // what the key may do; empty: nothing beyond authentication
	Networks  []netip.Prefix    // where it may be used from; empty: anywhere
	RateLimit int               // requests per minute; 0: no limit
	Metadata  map[string]string // the user's own data, copied through

	CreatedAt time.Time
	UpdatedAt time.Time
	// ExpiresAt ends the secret; zero means never. A rotation sets it to
	// the end of the grace window.
	ExpiresAt time.Time
	// RevokedAt ends the secret at that instant; zero means not revoked.
	RevokedAt time.Time
	// ReplacedBy is the id of the secret that took this one's place in a
	// rotation; empty if it was never rotated.
	ReplacedBy string

	LastUsedAt time.Time  // latest recorded use; zero if never
	LastUsedIP netip.Addr // client address of that use

	// Signing reports whether this is the owner's designated secret for
	// signing webhooks. At most one active record per keyset has it.
	Signing bool

	Hint   string         // the key's last four characters, for display
	Digest secrets.Digest // of the full key, for lookup and comparison
	// Sealed is the value encrypted under a key-encryption key, kept only
	// for secrets that sign or verify HMACs; zero otherwise.
	Sealed secrets.Sealed
}

// Clone returns a deep copy of r.
func (r Record) Clone() Record {
	r.Scopes = slices.Clone(r.Scopes)
	r.Networks = slices.Clone(r.Networks)
	r.Metadata = maps.Clone(r.Metadata)
	r.Sealed = r.Sealed.Clone()
	return r
}

// HasScope reports whether the record was granted scope.
func (r *Record) HasScope(scope string) bool { return slices.Contains(r.Scopes, scope) }

// StatusAt returns the record's status at instant t. A record is revoked
// from RevokedAt on and expired from ExpiresAt on: both bounds are
// exclusive of validity, so a secret whose grace ends at T is refused at T.
func (r *Record) StatusAt(t time.Time) Status {
	switch {
	case !r.RevokedAt.IsZero() && !t.Before(r.RevokedAt):
		return StatusRevoked
	case !r.ExpiresAt.IsZero() && !t.Before(r.ExpiresAt):
		return StatusExpired
	case r.ReplacedBy != "":
		return StatusGrace
	default:
		return StatusActive
	}
}

// ValidAt reports whether the record's key is accepted at instant t: it is
// active or in its grace window.
func (r *Record) ValidAt(t time.Time) bool {
	s := r.StatusAt(t)
	return s == StatusActive || s == StatusGrace
}

// Status is where a secret stands at an instant; see [Record.StatusAt].
type Status int

const (
	// StatusActive: the secret is valid and has not been rotated.
	StatusActive Status = iota + 1
	// StatusGrace: the secret was rotated and stays valid until ExpiresAt.
	StatusGrace
	// StatusExpired: ExpiresAt has passed.
	StatusExpired
	// StatusRevoked: the secret was revoked.
	StatusRevoked
)

// String returns "active", "grace", "expired" or "revoked".
func (s Status) String() string {
	switch s {
	case StatusActive:
		return "active"
	case StatusGrace:
		return "grace"
	case StatusExpired:
		return "expired"
	case StatusRevoked:
		return "revoked"
	}
	return "unknown"
}

// Use is one recorded use of a secret.
type Use struct {
	Owner    string
	SecretID string
	At       time.Time
	IP       netip.Addr // the zero Addr when unknown
}

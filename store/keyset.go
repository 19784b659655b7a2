package store

import (
	"iter"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/rotorkit/rotor/secrets"
)

// Keyset is every key of one owner, with the version that the store's
// compare-and-swap checks and the one designation the owner has: the key
// that signs its webhooks. A Keyset is a plain value: it is not safe for
// concurrent mutation, and [Keyset.Clone] gives a copy that shares nothing.
type Keyset struct {
	// Owner identifies the integrator, organization or account.
	Owner string
	// Version is the number of saves so far; 0 means never saved.
	Version int64
	// Signing is the id of the key that signs the owner's webhooks, or ""
	// for none. It is one field, so two keys can never both hold it.
	Signing string
	// Keys holds the owner's keys, in creation order.
	Keys []Record
	// DueAt is the earliest instant at which package rotation has
	// something to tell of the keyset (a reminder before a key expires,
	// the end of a grace window), or zero for nothing. Rotation sets it
	// on every save; a store keeps it like any field, and a [DueLister]
	// finds owners by it.
	DueAt time.Time
}

// Clone returns a deep copy of k.
func (k Keyset) Clone() Keyset {
	out := k
	if k.Keys != nil {
		out.Keys = make([]Record, len(k.Keys))
		for i := range k.Keys {
			out.Keys[i] = k.Keys[i].Clone()
		}
	}
	return out
}

// Find returns the index of the key with the given id, or -1.
func (k *Keyset) Find(id string) int {
	for i := range k.Keys { // by index: a Record is too large to copy per step
		if k.Keys[i].ID == id {
			return i
		}
	}
	return -1
}

// Match returns what [Store.Lookup] answers for the key at index i, for a
// store that holds keysets whole: the owner, a copy of the key, the
// designation and, when the designated key is in k, its expiry.
func (k *Keyset) Match(i int) Match {
	m := Match{Owner: k.Owner, Key: k.Keys[i].Clone(), Signing: k.Signing}
	if j := k.Find(k.Signing); j >= 0 {
		m.SigningExpiresAt = k.Keys[j].ExpiresAt
	}
	return m
}

// RecordUse applies u as [Store.RecordUses] does, for a store that holds
// keysets whole: it moves the last use of the value u names, and of its
// key, forward to u.At and u.IP, and reports whether anything changed. A
// use of a key or value k does not hold, or no later than the one
// recorded, changes nothing. u.Owner is not looked at.
func (k *Keyset) RecordUse(u Use) bool {
	i := k.Find(u.KeyID)
	return i >= 0 && k.Keys[i].RecordUse(u.ValueID, u.At, u.IP)
}

// Attributes are what a key carries besides its values: everything its
// owner chose when creating it. They belong to the key's id and survive
// every regeneration. Package rotation creates keys from them (its Spec)
// and shows them (its Secret); [Attributes.Validate] holds the rules.
type Attributes struct {
	// Name is shown in lists; valid UTF-8 without NUL, at most
	// [MaxNameLen] bytes.
	Name string
	// Format is the key's prefix and environment, such as sk_live;
	// [secrets.Webhook] for Standard Webhooks signing secrets.
	Format secrets.Format
	// Custom keys can only be created and deleted; managed ones (the
	// default) can also be regenerated.
	Custom bool
	// HMAC reports whether the key's values are kept sealed, so that it
	// can sign and verify HMACs. Keys in the webhook format always are.
	HMAC bool

	// Scopes are what the key may do; empty: nothing beyond
	// authentication. At most [MaxScopes], each non-empty text of at most
	// [MaxScopeLen] bytes.
	Scopes []string
	// Networks are where the key may be used from; empty: anywhere. At
	// most [MaxNetworks], each a masked prefix.
	Networks []netip.Prefix
	// RateLimit is the requests per minute the key may make; 0: no limit.
	RateLimit int
	// Metadata is the user's own data, copied through untouched. At most
	// [MaxMetadata] entries, with keys of 1 to [MaxMetadataKeyLen] bytes
	// and values of at most [MaxMetadataValueLen] bytes, all text.
	Metadata map[string]string
	// ExpiresAt ends the key and all its values; zero means never.
	ExpiresAt time.Time
}

// Clone returns a deep copy of a.
func (a Attributes) Clone() Attributes {
	a.Scopes = slices.Clone(a.Scopes)
	a.Networks = slices.Clone(a.Networks)
	a.Metadata = maps.Clone(a.Metadata)
	return a
}

// HasScope reports whether the key was granted scope.
func (a *Attributes) HasScope(scope string) bool { return slices.Contains(a.Scopes, scope) }

// HasScopes reports whether the key was granted every one of scopes: a
// key may hand on only what it holds, for one.
func (a *Attributes) HasScopes(scopes []string) bool {
	for _, s := range scopes {
		if !a.HasScope(s) {
			return false
		}
	}
	return true
}

// CanSign reports whether a key with these attributes can sign and verify
// HMACs, and so be designated to sign webhooks.
func (a *Attributes) CanSign() bool { return a.HMAC || a.Format.IsWebhook() }

// Record is the stored metadata of one key. It never holds plaintext.
// The zero value is not a valid record; package rotation makes them.
type Record struct {
	// ID is the key's identity for life: unique within its keyset, kept
	// through every regeneration, not secret.
	ID string
	Attributes

	CreatedAt time.Time
	UpdatedAt time.Time
	// RevokedAt ends the key and all its values at that instant; zero
	// means not revoked.
	RevokedAt time.Time

	LastUsedAt time.Time  // latest recorded use of any of its values; zero if never
	LastUsedIP netip.Addr // client address of that use

	// RemindedFor and RemindedAt mark the reminders of the key's expiry
	// that were sent, so that each is sent once: RemindedAt is when the
	// latest was, for the expiry RemindedFor, or when that expiry was set
	// (reminders due before then are not sent). Zero when neither was. A
	// key whose ExpiresAt is no longer RemindedFor is reminded afresh.
	RemindedFor time.Time
	RemindedAt  time.Time

	// Current is the value the key was last given: at creation or at its
	// latest regeneration.
	Current Value
	// Previous holds the values the key had before, newest first, each
	// until the end of its grace window (Value.ExpiresAt).
	Previous []Value
}

// Clone returns a deep copy of r.
func (r Record) Clone() Record {
	r.Attributes = r.Attributes.Clone()
	r.Current = r.Current.Clone()
	if r.Previous != nil {
		prev := make([]Value, len(r.Previous))
		for i := range r.Previous {
			prev[i] = r.Previous[i].Clone()
		}
		r.Previous = prev
	}
	return r
}

// Values yields pointers to every value of r, the current one first and
// then the previous ones in order. Changing a value through one changes r.
func (r *Record) Values() iter.Seq[*Value] {
	return func(yield func(*Value) bool) {
		if !yield(&r.Current) {
			return
		}
		for i := range r.Previous {
			if !yield(&r.Previous[i]) {
				return
			}
		}
	}
}

// Value returns a pointer to the value of r with the given id, or nil.
func (r *Record) Value(id string) *Value {
	for v := range r.Values() {
		if v.ID == id {
			return v
		}
	}
	return nil
}

// RecordUse moves the last use of r's value valueID, and of r, forward to
// at and ip, and reports whether anything changed: a use of another value,
// or no later than the one recorded, changes nothing.
func (r *Record) RecordUse(valueID string, at time.Time, ip netip.Addr) bool {
	v := r.Value(valueID)
	if v == nil {
		return false
	}
	changed := false
	if at.After(v.LastUsedAt) {
		v.LastUsedAt, v.LastUsedIP, changed = at, ip, true
	}
	if at.After(r.LastUsedAt) {
		r.LastUsedAt, r.LastUsedIP, changed = at, ip, true
	}
	return changed
}

// StatusAt returns the key's status at instant t. A key is revoked from
// RevokedAt on and expired from ExpiresAt on: both bounds are exclusive
// of validity, so a key that expires at T is refused at T.
func (r *Record) StatusAt(t time.Time) Status {
	switch {
	case !r.RevokedAt.IsZero() && !t.Before(r.RevokedAt):
		return StatusRevoked
	case !r.ExpiresAt.IsZero() && !t.Before(r.ExpiresAt):
		return StatusExpired
	default:
		return StatusActive
	}
}

// ValidAt reports whether the key is active at instant t, and so its
// current value accepted.
func (r *Record) ValidAt(t time.Time) bool { return r.StatusAt(t) == StatusActive }

// PreviousValidAt reports whether the previous value Previous[i] is
// accepted at instant t: the key is active and the value's grace window
// has not ended.
func (r *Record) PreviousValidAt(i int, t time.Time) bool {
	return r.ValidAt(t) && t.Before(r.Previous[i].ExpiresAt)
}

// Value is the stored record of one of a key's values: its digest, its
// hint, its own last use and, for keys that sign HMACs, the value sealed
// under a key-encryption key. It never holds the plaintext.
type Value struct {
	// ID names the value, uniquely within its keyset. The sealed value is
	// bound to it, so ciphertexts cannot be swapped between values.
	ID     string
	Hint   string         // the value's last four characters, for display
	Digest secrets.Digest // of the full key, for lookup and comparison
	// Sealed is the value encrypted under a key-encryption key, kept only
	// for keys that sign or verify HMACs; zero otherwise.
	Sealed secrets.Sealed

	CreatedAt time.Time // when the value was issued
	// ExpiresAt ends a previous value's grace window; zero for a key's
	// current value, which lasts as long as the key.
	ExpiresAt time.Time

	LastUsedAt time.Time  // latest recorded use of this value; zero if never
	LastUsedIP netip.Addr // client address of that use

	// RemindedAt is when the coming end of this previous value's grace
	// window was told, zero until it is.
	RemindedAt time.Time
}

// Clone returns a deep copy of v.
func (v Value) Clone() Value {
	v.Sealed = v.Sealed.Clone()
	return v
}

// Status is where a key stands at an instant; see [Record.StatusAt].
type Status int

const (
	// StatusActive: the key is valid.
	StatusActive Status = iota + 1
	// StatusExpired: ExpiresAt has passed.
	StatusExpired
	// StatusRevoked: the key was revoked.
	StatusRevoked
)

// String returns "active", "expired" or "revoked".
func (s Status) String() string {
	switch s {
	case StatusActive:
		return "active"
	case StatusExpired:
		return "expired"
	case StatusRevoked:
		return "revoked"
	}
	return "unknown"
}

// Use is one recorded use of a value of a key.
type Use struct {
	Owner   string
	KeyID   string // the key, Record.ID
	ValueID string // the value presented, Value.ID
	At      time.Time
	IP      netip.Addr // the zero Addr when unknown
}

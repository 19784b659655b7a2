package rotation

import (
	"net/netip"
	"time"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

// Status is where a secret stands at an instant: active, expired or
// revoked.
type Status = store.Status

// The statuses a [Secret] can have.
const (
	StatusActive  = store.StatusActive
	StatusExpired = store.StatusExpired
	StatusRevoked = store.StatusRevoked
)

// Attributes are what a secret carries besides its values: name, format,
// scopes, networks, rate limit, metadata and expiry, as its owner chose
// them. They belong to the secret's id and survive every regeneration.
// They are one struct everywhere a secret is described: in a [Spec] to
// create one, in a [Secret] that shows one, in the record a store keeps,
// and in [Rotator.Update]; a regeneration copies the whole struct, so it
// cannot forget a field.
type Attributes = store.Attributes

// Spec describes a secret to create. The zero value is a managed secret in
// the Rotator's default format, with no scopes, networks, limit or
// expiry. Its Format, when zero, means Options.Format; HMAC keeps the
// value sealed under Options.Keyring so that the secret can sign and
// verify HMACs, and is implied by the webhook format. The bounds on its
// text are those of package store ([MaxNameLen] and the others).
type Spec = Attributes

// MaxNameLen is the longest name a secret may have, in bytes.
const MaxNameLen = store.MaxNameLen

// Secret is what may be shown about a secret: its attributes, its
// status when it was read, and what may be shown of its values, never a
// value itself. Slices and maps in a Secret belong to the caller.
type Secret struct {
	// ID is the secret's identity for life: Regenerate gives it a new
	// value and keeps the id.
	ID    string
	Owner string
	Attributes

	CreatedAt time.Time
	UpdatedAt time.Time
	RevokedAt time.Time // zero: not revoked
	// LastUsedAt and LastUsedIP are the latest use of any of its values.
	LastUsedAt time.Time
	LastUsedIP netip.Addr

	// Signing reports whether this secret signs the owner's webhooks.
	Signing bool
	// Status is the secret's status at the time it was read.
	Status Status

	// Current is the value the secret has now.
	Current ValueInfo
	// Previous are the values it had before whose grace windows are still
	// open, newest first: each still works until its ExpiresAt.
	Previous []ValueInfo
}

// ValueInfo is what may be shown of one value of a secret. It never holds
// the value.
type ValueInfo struct {
	// ID names the value; it changes with every regeneration, so it can
	// stand as an HTTP entity tag. See [Rotator.RegenerateIf].
	ID string
	// Hint is the value's last four characters, for display.
	Hint      string
	CreatedAt time.Time
	// ExpiresAt is when a previous value stops working: the end of its
	// grace window. It is zero for a current value, which lasts as long
	// as its secret.
	ExpiresAt  time.Time
	LastUsedAt time.Time
	LastUsedIP netip.Addr
}

func valueInfo(v *store.Value) ValueInfo {
	return ValueInfo{
		ID:         v.ID,
		Hint:       v.Hint,
		CreatedAt:  v.CreatedAt,
		ExpiresAt:  v.ExpiresAt,
		LastUsedAt: v.LastUsedAt,
		LastUsedIP: v.LastUsedIP,
	}
}

// secretOf turns a key into what may be shown at instant now. signing
// says whether it signs the owner's webhooks. It shares rec's slices and
// maps, so callers pass a record nobody else holds.
func secretOf(owner string, rec *store.Record, signing bool, now time.Time) Secret {
	s := Secret{
		ID:         rec.ID,
		Owner:      owner,
		Attributes: rec.Attributes,
		CreatedAt:  rec.CreatedAt,
		UpdatedAt:  rec.UpdatedAt,
		RevokedAt:  rec.RevokedAt,
		LastUsedAt: rec.LastUsedAt,
		LastUsedIP: rec.LastUsedIP,
		Signing:    signing,
		Status:     rec.StatusAt(now),
		Current:    valueInfo(&rec.Current),
	}
	for i := range rec.Previous {
		if rec.PreviousValidAt(i, now) {
			s.Previous = append(s.Previous, valueInfo(&rec.Previous[i]))
		}
	}
	return s
}

// Issued is a newly made secret: its metadata and, this once, its value.
// Show the value to its owner and drop it; it cannot be had again.
type Issued struct {
	Secret
	// Value is the plaintext key. It prints as [REDACTED]; call
	// Value.Reveal to get the text to hand over.
	Value secrets.Value
}

// Regenerated is the result of [Rotator.Regenerate]: the same secret with
// its new value, and what became of the one it had.
type Regenerated struct {
	Issued
	// Old is the value the secret had until now. Old.ExpiresAt is when it
	// stops working: the end of the grace window (capped at the secret's
	// own expiry), or the instant of the regeneration when no window was
	// asked for.
	Old ValueInfo
	// CutShort lists the previous values, of this secret or of the
	// owner's others, whose grace windows were ended now to keep the
	// number in grace within Policy.MaxInGrace, soonest ending first. It
	// never holds Old.
	CutShort []Cut
}

// Cut is a previous value whose grace window a regeneration ended early.
type Cut struct {
	SecretID string
	// Value is the value as it was: its ExpiresAt is when its window
	// would have ended.
	Value ValueInfo
}

// Principal is who a key authenticated.
type Principal struct {
	Owner string
	// Secret is the key's metadata, with its status at authentication.
	Secret Secret
	// Presented is the value that matched: the secret's current one, or a
	// previous one inside its grace window.
	Presented ValueInfo
	// Previous reports whether Presented is a previous value: it works
	// only until Presented.ExpiresAt, and its holder should switch to the
	// current one.
	Previous bool
}

// Request is what Authenticate needs to know about the request a key came
// with.
type Request struct {
	// IP is the client address, checked against the key's authorized
	// networks and recorded as its last use. The zero Addr passes only
	// keys with no authorized networks.
	IP netip.Addr
	// Scope is the scope the request needs; empty means none.
	Scope string
}

package rotation

import (
	"net/netip"
	"slices"
	"time"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
)

// Status is where a secret stands at an instant: active, in its grace
// window, expired or revoked.
type Status = store.Status

// The statuses a [Secret] can have.
const (
	StatusActive  = store.StatusActive
	StatusGrace   = store.StatusGrace
	StatusExpired = store.StatusExpired
	StatusRevoked = store.StatusRevoked
)

// Secret is what may be shown about a secret: its metadata and its status
// when it was read, never its value. Slices and maps in a Secret belong to
// the caller.
type Secret struct {
	ID     string
	Owner  string
	Name   string
	Format secrets.Format // prefix and environment, such as sk and live
	// Custom secrets can only be created and deleted; managed ones can be
	// regenerated.
	Custom bool
	// HMAC reports whether the value is kept, sealed, so the secret can
	// sign and verify HMACs.
	HMAC bool

	Scopes    []string
	Networks  []netip.Prefix // empty: any client address
	RateLimit int            // requests per minute; 0: none
	Metadata  map[string]string

	CreatedAt  time.Time
	UpdatedAt  time.Time
	ExpiresAt  time.Time // zero: never
	RevokedAt  time.Time // zero: not revoked
	ReplacedBy string    // the secret that took its place, once rotated
	LastUsedAt time.Time
	LastUsedIP netip.Addr

	// Signing reports whether this secret signs the owner's webhooks.
	Signing bool
	// Hint is the last four characters of the key, for display.
	Hint string
	// Status is the secret's status at the time it was read.
	Status Status
}

// HasScope reports whether the secret was granted scope.
func (s *Secret) HasScope(scope string) bool {
	return slices.Contains(s.Scopes, scope)
}

// secretOf turns a record into what may be shown. It shares rec's slices,
// so callers pass a record nobody else holds.
func secretOf(owner string, rec *store.Record, now time.Time) Secret {
	return Secret{
		ID:         rec.ID,
		Owner:      owner,
		Name:       rec.Name,
		Format:     rec.Format,
		Custom:     rec.Custom,
		HMAC:       !rec.Sealed.IsZero(),
		Scopes:     rec.Scopes,
		Networks:   rec.Networks,
		RateLimit:  rec.RateLimit,
		Metadata:   rec.Metadata,
		CreatedAt:  rec.CreatedAt,
		UpdatedAt:  rec.UpdatedAt,
		ExpiresAt:  rec.ExpiresAt,
		RevokedAt:  rec.RevokedAt,
		ReplacedBy: rec.ReplacedBy,
		LastUsedAt: rec.LastUsedAt,
		LastUsedIP: rec.LastUsedIP,
		Signing:    rec.Signing,
		Hint:       rec.Hint,
		Status:     rec.StatusAt(now),
	}
}

// MaxNameLen is the longest name a secret may have, in bytes.
const MaxNameLen = 200

// Spec describes a secret to create. The zero value is a managed secret in
// the Rotator's default format, with no scopes, networks, limit or expiry.
type Spec struct {
	// Name is shown in lists; at most MaxNameLen bytes.
	Name string
	// Format is the key's prefix and environment; zero means the
	// Rotator's format. secrets.Webhook makes a Standard Webhooks signing
	// secret (whsec_…), which always keeps its value sealed.
	Format secrets.Format
	// Custom makes a secret that can only be created and deleted.
	Custom bool
	// HMAC keeps the value sealed under the Rotator's keyring so the
	// secret can sign and verify HMACs. It needs Options.Keyring.
	HMAC bool

	Scopes    []string          // granted scopes
	Networks  []netip.Prefix    // authorized client networks; empty: any
	RateLimit int               // requests per minute; 0: none
	Metadata  map[string]string // copied through untouched
	// ExpiresAt ends the secret; zero means never. Regenerated
	// successors keep it: a rotated key never outlives the one it replaces.
	ExpiresAt time.Time
}

// Issued is a newly made secret: its metadata and, this once, its value.
// Show the value to its owner and drop it; it cannot be had again.
type Issued struct {
	Secret
	// Value is the plaintext key. It prints as [REDACTED]; call
	// Value.Reveal to get the text to hand over.
	Value secrets.Value
}

// Regenerated is the result of [Rotator.Regenerate]: the new secret with
// its value, and what became of the old one.
type Regenerated struct {
	Issued
	// OldID is the secret that was replaced.
	OldID string
	// OldExpiresAt is when the old secret stops working. It is zero when
	// no grace window was asked for: the old secret was revoked at once.
	OldExpiresAt time.Time
	// CutShort lists the secrets whose grace window was ended early to
	// keep the number in grace within the policy, oldest first. It can
	// include OldID when its window would have been the shortest.
	CutShort []string
}

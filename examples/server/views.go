package main

import (
	"time"

	"github.com/rotorkit/rotor/rotation"
)

// The JSON the service speaks. Times are RFC 3339 in UTC, in whole
// seconds.

// secretView is a secret as a list shows it: metadata, never a value.
type secretView struct {
	ID              string     `json:"id"`
	Name            string     `json:"name"`
	Hint            string     `json:"hint"` // the key's last four characters
	CreatedAt       time.Time  `json:"createdAt"`
	LastUsedAt      *time.Time `json:"lastUsedAt"` // null: never used
	LastUsedIP      *string    `json:"lastUsedIp"` // null: never used
	ExpiresAt       *time.Time `json:"expiresAt"`  // null: never expires
	Status          string     `json:"status"`     // active, expiring, expired or revoked
	UsedForWebhooks bool       `json:"usedForWebhooks"`
}

// shownOnce is the part of a reply that holds a new secret's value: the
// only time anyone sees it. It is exactly the integrator API's reply.
type shownOnce struct {
	Secret string `json:"secret"`
	// OldSecretExpiresAt is when the replaced secret stops working; absent
	// when no grace window was asked for and it stopped at once.
	OldSecretExpiresAt time.Time `json:"oldSecretExpiresAt,omitzero"`
}

// issuedView is a secret just created or regenerated: its metadata and,
// this once, its value.
type issuedView struct {
	secretView
	shownOnce
}

// webhookView is what POST /v1/webhooks/test would send: the headers and
// the body, byte for byte as signed.
type webhookView struct {
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// testEvent is the payload of a test webhook, in the shape Standard
// Webhooks recommends.
type testEvent struct {
	Type      string            `json:"type"`
	Timestamp time.Time         `json:"timestamp"`
	Data      map[string]string `json:"data"`
}

func viewOf(s rotation.Secret) secretView {
	v := secretView{
		ID:              s.ID,
		Name:            s.Name,
		Hint:            s.Hint,
		CreatedAt:       stamp(s.CreatedAt),
		LastUsedAt:      nullable(s.LastUsedAt),
		ExpiresAt:       nullable(s.ExpiresAt),
		Status:          statusName(s.Status),
		UsedForWebhooks: s.Signing,
	}
	if s.LastUsedIP.IsValid() {
		ip := s.LastUsedIP.String()
		v.LastUsedIP = &ip
	}
	return v
}

func shownOnceOf(res *rotation.Regenerated) shownOnce {
	return shownOnce{
		Secret:             res.Value.Reveal(), // the one time it is shown
		OldSecretExpiresAt: stamp(res.OldExpiresAt),
	}
}

// statusName is the word the API uses for a status: Status.String's,
// except that a secret in the grace window after a regeneration is
// "expiring".
func statusName(st rotation.Status) string {
	if st == rotation.StatusGrace {
		return "expiring"
	}
	return st.String() // active, expired or revoked
}

// stamp is t in UTC, in whole seconds; the zero time stays zero.
func stamp(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Second)
}

func nullable(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = stamp(t)
	return &t
}

package main

import (
	"time"

	"github.com/rotorkit/rotor/rotation"
)

// The JSON the service speaks. Times are RFC 3339 in UTC, in whole
// seconds.

// secretView is a secret as a list shows it: metadata, never a value. A
// secret keeps its id, name, creation date and designation through every
// regeneration; only its value changes, and the values it had before stay
// listed under previous for as long as their grace windows last.
type secretView struct {
	ID              string         `json:"id"`
	Name            string         `json:"name"`
	Hint            string         `json:"hint"`       // the current value's last four characters
	CreatedAt       time.Time      `json:"createdAt"`  // when the secret was created, not its latest value
	LastUsedAt      *time.Time     `json:"lastUsedAt"` // of any of its values; null: never used
	LastUsedIP      *string        `json:"lastUsedIp"` // null: never used
	ExpiresAt       *time.Time     `json:"expiresAt"`  // null: never expires
	Status          string         `json:"status"`     // active, expired or revoked
	UsedForWebhooks bool           `json:"usedForWebhooks"`
	Previous        []previousView `json:"previous"` // newest first; [] when none is in grace
}

// previousView is a value a secret had before its latest regeneration,
// which keeps working until expiresAt.
type previousView struct {
	Hint       string     `json:"hint"`
	ExpiresAt  time.Time  `json:"expiresAt"`  // the end of its grace window
	LastUsedAt *time.Time `json:"lastUsedAt"` // its own last use; null: never used
}

// shownOnce is the part of a reply that holds a new secret's value: the
// only time anyone sees it. It is exactly the integrator API's reply.
type shownOnce struct {
	Secret string `json:"secret"`
	// OldSecretExpiresAt is when the value just replaced stops working;
	// absent when no grace window was asked for and it stopped at once.
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
		Hint:            s.Current.Hint,
		CreatedAt:       stamp(s.CreatedAt),
		LastUsedAt:      nullable(s.LastUsedAt),
		ExpiresAt:       nullable(s.ExpiresAt),
		Status:          s.Status.String(), // active, expired or revoked
		UsedForWebhooks: s.Signing,
		Previous:        make([]previousView, 0, len(s.Previous)), // [] rather than null
	}
	if s.LastUsedIP.IsValid() {
		ip := s.LastUsedIP.String()
		v.LastUsedIP = &ip
	}
	for _, p := range s.Previous {
		v.Previous = append(v.Previous, previousView{
			Hint:       p.Hint,
			ExpiresAt:  stamp(p.ExpiresAt),
			LastUsedAt: nullable(p.LastUsedAt),
		})
	}
	return v
}

// shownOnceOf is what a regeneration's reply shows once: the new value
// and, when a grace window was asked for, when the old value stops
// working. Without one, the old value stopped at the regeneration.
func shownOnceOf(res *rotation.Regenerated, grace time.Duration) shownOnce {
	v := shownOnce{Secret: res.Value.Reveal()} // the one time it is shown
	if grace > 0 {
		v.OldSecretExpiresAt = stamp(res.Old.ExpiresAt)
	}
	return v
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

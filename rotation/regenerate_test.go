package rotation_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
)

func TestRegenerateGraceWindow(t *testing.T) {
	tests := []struct {
		name  string
		grace time.Duration
	}{
		{"no grace", 0},
		{"one minute", time.Minute},
		{"the bound", time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, nil)
			old := f.create(t, "acme", rotation.Spec{Name: "ci"})
			f.clock.Advance(time.Second)

			res, err := f.r.Regenerate(t.Context(), "acme", old.ID, tt.grace)
			is.NoErr(err)                        // a grace within the bound is accepted
			is.Equal(res.OldID, old.ID)          // the result names the replaced secret
			is.True(!res.Value.Equal(old.Value)) // a new value
			is.NoErr(f.auth(t, res.Value))       // the new key works at once

			if tt.grace == 0 {
				is.True(res.OldExpiresAt.IsZero())                            // no expiry is reported without a window
				is.True(errors.Is(f.auth(t, old.Value), rotation.ErrRevoked)) // the old key dies at once
				return
			}
			end := f.clock.Now().Add(tt.grace)
			is.Equal(res.OldExpiresAt, end) // the old key's expiry is reported

			f.clock.Set(end.Add(-time.Nanosecond))
			is.NoErr(f.auth(t, old.Value)) // the old key works until the very end of the window
			is.NoErr(f.auth(t, res.Value)) // and so does the new one

			f.clock.Set(end)
			err = f.auth(t, old.Value)
			is.True(errors.Is(err, rotation.ErrExpired))    // at the end of the window the old key is refused
			is.True(errors.Is(err, rotation.ErrInvalidKey)) // as an invalid key
			is.NoErr(f.auth(t, res.Value))                  // the new key goes on
		})
	}
}

func TestRegenerateRejectsGraceOutOfRange(t *testing.T) {
	for _, grace := range []time.Duration{-time.Second, time.Hour + time.Second, time.Hour + time.Nanosecond} {
		t.Run(grace.String(), func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, nil)
			old := f.create(t, "acme", rotation.Spec{})
			before, err := f.r.List(t.Context(), "acme")
			is.NoErr(err)
			version := f.version(t, "acme")

			res, err := f.r.Regenerate(t.Context(), "acme", old.ID, grace)
			is.True(res == nil)                             // no result
			is.True(errors.Is(err, rotation.ErrValidation)) // a validation error
			var verr *rotation.ValidationError
			is.True(errors.As(err, &verr))                                          // of the typed kind
			is.Equal(verr.Field, "grace")                                           // naming the field
			is.Equal(verr.Reason, "must be from 0s to 1h0m0s, got "+grace.String()) // and the range

			after, err := f.r.List(t.Context(), "acme")
			is.NoErr(err)
			if d := diff(before, after); d != "" {
				t.Errorf("a refused regenerate changed the secrets (-before +after):\n%s", d)
			}
			is.Equal(f.version(t, "acme"), version) // nothing was saved
			is.NoErr(f.auth(t, old.Value))          // the old key still works
		})
	}
}

func TestRegenerateCustomBound(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, func(o *rotation.Options) { o.Policy.MaxGracePeriod = 10 * time.Minute })
	old := f.create(t, "acme", rotation.Spec{})
	_, err := f.r.Regenerate(t.Context(), "acme", old.ID, 11*time.Minute)
	is.True(errors.Is(err, rotation.ErrValidation)) // the policy's bound applies
	_, err = f.r.Regenerate(t.Context(), "acme", old.ID, 10*time.Minute)
	is.NoErr(err) // up to the bound itself
}

func TestRegenerateKeepsAttributes(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	spec := rotation.Spec{
		Name:      "billing",
		HMAC:      true,
		Scopes:    []string{"invoices:read", "invoices:write"},
		Networks:  []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")},
		RateLimit: 120,
		Metadata:  map[string]string{"team": "payments"},
		ExpiresAt: t0.Add(90 * 24 * time.Hour),
	}
	old := f.create(t, "acme", spec)
	is.True(old.Signing) // the first secret signs

	f.clock.Advance(time.Hour)
	res, err := f.r.Regenerate(t.Context(), "acme", old.ID, 30*time.Minute)
	is.NoErr(err)

	want := old.Secret
	want.ID, want.Hint = res.ID, res.Hint
	want.CreatedAt, want.UpdatedAt = f.clock.Now(), f.clock.Now()
	if d := diff(want, res.Secret); d != "" {
		t.Errorf("the new secret differs from the old one beyond id, hint and times (-want +got):\n%s", d)
	}

	got, err := f.r.Get(t.Context(), "acme", old.ID)
	is.NoErr(err)
	is.Equal(got.Status, rotation.StatusGrace) // the old one is in grace
	is.Equal(got.ReplacedBy, res.ID)           // and says what replaced it
	is.True(!got.Signing)                      // the designation moved
}

func TestRegenerateNeverOutlivesExpiry(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	old := f.create(t, "acme", rotation.Spec{ExpiresAt: t0.Add(10 * time.Minute)})
	res, err := f.r.Regenerate(t.Context(), "acme", old.ID, time.Hour)
	is.NoErr(err)
	is.Equal(res.OldExpiresAt, t0.Add(10*time.Minute)) // a grace window does not extend the old key's life
	is.Equal(res.ExpiresAt, t0.Add(10*time.Minute))    // nor does the new key outlive the old
}

func TestRegenerateRefuses(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(t *testing.T, f *fixture) string // returns the id to regenerate
		want   error
		status rotation.Status
	}{
		{
			name: "unknown secret",
			setup: func(t *testing.T, f *fixture) string {
				f.create(t, "acme", rotation.Spec{})
				return "sec_nosuchsecretnosuchsecretxx"
			},
			want: rotation.ErrNotFound,
		},
		{
			name:  "unknown owner",
			setup: func(t *testing.T, f *fixture) string { return "sec_nosuchsecretnosuchsecretxx" },
			want:  rotation.ErrNotFound,
		},
		{
			name:  "custom secret",
			setup: func(t *testing.T, f *fixture) string { return f.create(t, "acme", rotation.Spec{Custom: true}).ID },
			want:  rotation.ErrNotManaged,
		},
		{
			name: "in grace",
			setup: func(t *testing.T, f *fixture) string {
				old := f.create(t, "acme", rotation.Spec{})
				if _, err := f.r.Regenerate(t.Context(), "acme", old.ID, time.Minute); err != nil {
					t.Fatal(err)
				}
				return old.ID
			},
			want:   rotation.ErrNotActive,
			status: rotation.StatusGrace,
		},
		{
			name: "revoked",
			setup: func(t *testing.T, f *fixture) string {
				f.create(t, "acme", rotation.Spec{})
				s := f.create(t, "acme", rotation.Spec{})
				if err := f.r.Revoke(t.Context(), "acme", s.ID); err != nil {
					t.Fatal(err)
				}
				return s.ID
			},
			want:   rotation.ErrNotActive,
			status: rotation.StatusRevoked,
		},
		{
			name: "expired",
			setup: func(t *testing.T, f *fixture) string {
				s := f.create(t, "acme", rotation.Spec{ExpiresAt: t0.Add(time.Minute)})
				f.clock.Advance(time.Minute)
				return s.ID
			},
			want:   rotation.ErrNotActive,
			status: rotation.StatusExpired,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, nil)
			id := tt.setup(t, f)
			saves := f.store.saves.Load()
			_, err := f.r.Regenerate(t.Context(), "acme", id, time.Minute)
			is.True(errors.Is(err, tt.want)) // the refusal says why
			var serr *rotation.SecretError
			is.True(errors.As(err, &serr))        // as a typed error
			is.Equal(serr.ID, id)                 // naming the secret
			is.Equal(serr.Status, tt.status)      // and its status
			is.Equal(f.store.saves.Load(), saves) // nothing was saved
		})
	}
}

// Three active secrets regenerated four times inside one window: the grace
// set would hold four, so the one ending soonest is cut short and reported.
func TestRegenerateCutsGraceShort(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	var current []string // the active secret in each of three slots
	for _, name := range []string{"a", "b", "c"} {
		current = append(current, f.create(t, "acme", rotation.Spec{Name: name}).ID)
	}
	var rotated, cut []string
	for _, slot := range []int{0, 1, 2, 0} {
		f.clock.Advance(time.Second)
		res, err := f.r.Regenerate(t.Context(), "acme", current[slot], time.Minute)
		is.NoErr(err) // a regenerate never fails for lack of room
		rotated = append(rotated, current[slot])
		cut = append(cut, res.CutShort...)
		current[slot] = res.ID

		byStatus, designated := f.count(t, "acme")
		is.Equal(byStatus[rotation.StatusActive], 3) // the active count never moves
		is.True(byStatus[rotation.StatusGrace] <= 3) // the grace set stays bounded
		is.Equal(designated, 1)                      // one designated active secret
	}
	if d := diff([]string{rotated[0]}, cut); d != "" {
		t.Errorf("the secret whose window ends first should be cut short, once (-want +got):\n%s", d)
	}
	st := f.statuses(t, "acme")
	is.Equal(st[rotated[0]], rotation.StatusExpired) // the cut secret is over
	for _, id := range rotated[1:] {
		is.Equal(st[id], rotation.StatusGrace) // the others keep their windows
	}
}

// When the secret just rotated has the shortest window of a full grace set,
// it is the one cut.
func TestRegenerateCutsTheShortestWindow(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, func(o *rotation.Options) { o.Policy.MaxInGrace = 1 })
	a := f.create(t, "acme", rotation.Spec{})
	b := f.create(t, "acme", rotation.Spec{})
	_, err := f.r.Regenerate(t.Context(), "acme", a.ID, time.Hour)
	is.NoErr(err)
	res, err := f.r.Regenerate(t.Context(), "acme", b.ID, time.Minute)
	is.NoErr(err)
	if d := diff([]string{b.ID}, res.CutShort); d != "" {
		t.Errorf("CutShort (-want +got):\n%s", d)
	}
	is.Equal(res.OldExpiresAt, t0)                              // the old key's window is reported as ended
	is.True(errors.Is(f.auth(t, b.Value), rotation.ErrExpired)) // and it is refused
	is.NoErr(f.auth(t, a.Value))                                // the longer window stands
}

func TestKeepEnded(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, func(o *rotation.Options) { o.Policy.KeepEnded = 2 })
	s := f.create(t, "acme", rotation.Spec{})
	first := s
	for range 5 {
		f.clock.Advance(time.Second)
		res, err := f.r.Regenerate(t.Context(), "acme", s.ID, 0)
		is.NoErr(err)
		s = &res.Issued
	}
	byStatus, _ := f.count(t, "acme")
	is.Equal(byStatus[rotation.StatusRevoked], 2) // only the latest ended secrets are kept
	is.Equal(byStatus[rotation.StatusActive], 1)
	_, err := f.r.Get(t.Context(), "acme", first.ID)
	is.True(errors.Is(err, rotation.ErrNotFound))                      // the oldest was dropped
	is.True(errors.Is(f.auth(t, first.Value), rotation.ErrInvalidKey)) // and its key is unknown
}

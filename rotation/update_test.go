package rotation_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/secrets"
)

func TestUpdate(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	s := f.create(t, "acme", rotation.Spec{
		Name:     "ci",
		HMAC:     true,
		Scopes:   []string{"read"},
		Networks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
		Metadata: map[string]string{"team": "infra"},
	})
	before := f.get(t, "acme", s.ID)
	version, saves := f.version(t, "acme"), f.store.saves.Load()
	f.seen()
	at := f.clock.Advance(time.Minute)

	expiry := at.Add(24 * time.Hour)
	got, err := f.r.Update(ctx, "acme", s.ID, func(a *rotation.Attributes) {
		a.Name = "deploys"
		a.Scopes = append(a.Scopes, "write")
		a.Networks = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
		a.RateLimit = 60
		a.Metadata["owner"] = "ops"
		a.ExpiresAt = expiry
	})
	is.NoErr(err)                             // an edit within the rules is saved
	is.Equal(f.store.saves.Load(), saves+1)   // in one save
	is.Equal(f.version(t, "acme"), version+1) // of one version
	want := before
	want.Name, want.Scopes, want.RateLimit, want.ExpiresAt = "deploys", []string{"read", "write"}, 60, expiry
	want.Networks = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	want.Metadata = map[string]string{"team": "infra", "owner": "ops"}
	want.UpdatedAt = at
	if d := diff(want, got); d != "" {
		t.Errorf("Update changes what the edit changed and nothing else (-want +got):\n%s", d)
	}
	if d := diff(got, f.get(t, "acme", s.ID)); d != "" {
		t.Errorf("what Update returns is what Get shows (-update +get):\n%s", d)
	}
	if d := diff([]rotation.Event{{Kind: rotation.EventUpdated, Owner: "acme", SecretID: s.ID, Hint: s.Current.Hint, At: at}}, f.seen()); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}

	_, err = f.r.Authenticate(ctx, s.Value.Reveal(), rotation.Request{IP: netip.MustParseAddr("192.0.2.1")})
	is.True(errors.Is(err, rotation.ErrNetworkNotAllowed)) // the new networks apply at once
	_, err = f.r.Authenticate(ctx, s.Value.Reveal(), rotation.Request{IP: netip.MustParseAddr("198.51.100.1"), Scope: "write"})
	is.NoErr(err) // as do the new scopes, with the same value
}

// Update applies the rules Create applies, with the same errors, and a
// refused edit saves nothing.
func TestUpdateValidatesAsCreate(t *testing.T) {
	for _, tt := range createRefusals {
		if tt.spec.Format != "" {
			continue // a format cannot change at all: TestUpdateKeepsKind
		}
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, nil)
			s := f.create(t, "acme", rotation.Spec{Name: "ci"})
			_, createErr := f.r.Create(t.Context(), "acme", tt.spec)
			before, version := f.get(t, "acme", s.ID), f.version(t, "acme")
			f.seen()

			_, err := f.r.Update(t.Context(), "acme", s.ID, func(a *rotation.Attributes) {
				a.Name, a.Scopes, a.Networks = tt.spec.Name, tt.spec.Scopes, tt.spec.Networks
				a.RateLimit, a.Metadata, a.ExpiresAt = tt.spec.RateLimit, tt.spec.Metadata, tt.spec.ExpiresAt
			})
			var verr *rotation.ValidationError
			is.True(errors.As(err, &verr))           // a typed validation error
			is.Equal(verr.Field, tt.field)           // naming the field
			is.Equal(err.Error(), createErr.Error()) // exactly as Create says it
			is.Equal(f.version(t, "acme"), version)  // nothing saved
			is.Equal(len(f.seen()), 0)               // nor reported
			if d := diff(before, f.get(t, "acme", s.ID)); d != "" {
				t.Errorf("a refused update changed the secret (-before +after):\n%s", d)
			}
		})
	}
}

// Format, Custom and HMAC are what kind of key a secret is; they cannot
// change.
func TestUpdateKeepsKind(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*rotation.Attributes)
		field string
	}{
		{"Format", func(a *rotation.Attributes) { a.Format = "sk_test" }, "Format"},
		{"Format to webhook", func(a *rotation.Attributes) { a.Format = secrets.Webhook }, "Format"},
		{"Custom", func(a *rotation.Attributes) { a.Custom = true }, "Custom"},
		{"HMAC", func(a *rotation.Attributes) { a.HMAC = false }, "HMAC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, nil)
			s := f.create(t, "acme", rotation.Spec{HMAC: true})
			version := f.version(t, "acme")
			_, err := f.r.Update(t.Context(), "acme", s.ID, tt.edit)
			var verr *rotation.ValidationError
			is.True(errors.As(err, &verr)) // refused as invalid
			is.Equal(verr.Field, tt.field) // naming the field
			is.Equal(verr.Reason, "cannot be changed")
			is.Equal(f.version(t, "acme"), version) // and nothing saved
		})
	}
}

func TestUpdateExpiry(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	s := f.create(t, "acme", rotation.Spec{ExpiresAt: t0.Add(48 * time.Hour)})
	res := f.regenerate(t, "acme", s.ID, time.Hour)
	is.Equal(res.Old.ExpiresAt, t0.Add(time.Hour)) // an hour of grace

	setExpiry := func(at time.Time) (rotation.Secret, error) {
		return f.r.Update(ctx, "acme", s.ID, func(a *rotation.Attributes) { a.ExpiresAt = at })
	}
	got, err := setExpiry(t0.Add(10 * time.Minute))
	is.NoErr(err)                                               // an expiry may be brought forward
	is.Equal(got.ExpiresAt, t0.Add(10*time.Minute))             // to the new instant
	is.Equal(got.Previous[0].ExpiresAt, t0.Add(10*time.Minute)) // and the grace window never outlives it

	got, err = setExpiry(time.Time{})
	is.NoErr(err)                                               // an expiry may be removed
	is.True(got.ExpiresAt.IsZero())                             // the secret lasts
	is.Equal(got.Previous[0].ExpiresAt, t0.Add(10*time.Minute)) // and a shortened window is not lengthened again

	f.clock.Advance(time.Minute)
	for _, at := range []time.Time{f.clock.Now(), t0} {
		version := f.version(t, "acme")
		_, err = setExpiry(at)
		var verr *rotation.ValidationError
		is.True(errors.As(err, &verr))                 // an expiry not in the future is refused
		is.Equal(verr.Field, "ExpiresAt")              // by name
		is.Equal(verr.Reason, "must be in the future") // and rule
		is.Equal(f.version(t, "acme"), version)        // and saves nothing
	}

	f.clock.Set(t0.Add(10*time.Minute - time.Nanosecond))
	is.NoErr(f.auth(t, s.Value)) // the old value works until the shortened end
	f.clock.Set(t0.Add(10 * time.Minute))
	is.True(errors.Is(f.auth(t, s.Value), rotation.ErrExpired)) // and not after
	is.NoErr(f.auth(t, res.Value))                              // while the secret, now without expiry, goes on
}

func TestUpdateNoOp(t *testing.T) {
	tests := []struct {
		name string
		edit func(*rotation.Attributes)
	}{
		{"no change", func(*rotation.Attributes) {}},
		{"same values", func(a *rotation.Attributes) {
			a.Name = "ci"
			a.Scopes = []string{"read"}
			a.ExpiresAt = t0.Add(time.Hour).In(time.FixedZone("CET", 3600)) // the same instant
		}},
		{"nil for empty", func(a *rotation.Attributes) { a.Metadata, a.Networks = map[string]string{}, []netip.Prefix{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, nil)
			s := f.create(t, "acme", rotation.Spec{Name: "ci", Scopes: []string{"read"}, ExpiresAt: t0.Add(time.Hour)})
			saves := f.store.saves.Load()
			f.seen()
			f.clock.Advance(time.Second)
			got, err := f.r.Update(t.Context(), "acme", s.ID, tt.edit)
			is.NoErr(err)                         // an edit that changes nothing succeeds
			is.Equal(f.store.saves.Load(), saves) // and saves nothing
			is.Equal(len(f.seen()), 0)            // nor reports anything
			if d := diff(s.Secret, got, cmpopts.IgnoreFields(rotation.Secret{}, "Status")); d != "" {
				t.Errorf("Update returns the secret as it is (-want +got):\n%s", d)
			}
		})
	}
}

func TestUpdateRefuses(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(t *testing.T, f *fixture) string
		want   error
		status rotation.Status
	}{
		{"unknown secret", func(t *testing.T, f *fixture) string { f.create(t, "acme", rotation.Spec{}); return noSuchID }, rotation.ErrNotFound, 0},
		{"unknown owner", func(t *testing.T, f *fixture) string { return noSuchID }, rotation.ErrNotFound, 0},
		{"revoked", func(t *testing.T, f *fixture) string {
			s := f.create(t, "acme", rotation.Spec{})
			if err := f.r.Revoke(t.Context(), "acme", s.ID); err != nil {
				t.Fatal(err)
			}
			return s.ID
		}, rotation.ErrNotActive, rotation.StatusRevoked},
		{"expired", func(t *testing.T, f *fixture) string {
			s := f.create(t, "acme", rotation.Spec{ExpiresAt: t0.Add(time.Minute)})
			f.clock.Advance(time.Minute)
			return s.ID
		}, rotation.ErrNotActive, rotation.StatusExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, nil)
			id := tt.setup(t, f)
			saves := f.store.saves.Load()
			_, err := f.r.Update(t.Context(), "acme", id, func(a *rotation.Attributes) { a.Name = "renamed" })
			is.True(errors.Is(err, tt.want)) // refused for the reason
			var serr *rotation.SecretError
			is.True(errors.As(err, &serr))        // as a typed error
			is.Equal(serr.Op, "update")           // naming the operation
			is.Equal(serr.ID, id)                 // and the secret
			is.Equal(serr.Status, tt.status)      // and its status
			is.Equal(f.store.saves.Load(), saves) // nothing saved
		})
	}
}

// An edit may set a metadata entry on a secret created without any, and
// removing the last entry leaves none.
func TestUpdateMetadataOfSecretWithout(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	s := f.create(t, "acme", rotation.Spec{})

	got, err := f.r.Update(t.Context(), "acme", s.ID, func(a *rotation.Attributes) { a.Metadata["team"] = "payments" })
	is.NoErr(err)                                                                    // edit is given a map to set entries in
	is.Equal(got.Metadata, map[string]string{"team": "payments"})                    // which is saved
	is.Equal(f.get(t, "acme", s.ID).Metadata, map[string]string{"team": "payments"}) // and read back

	got, err = f.r.Update(t.Context(), "acme", s.ID, func(a *rotation.Attributes) { delete(a.Metadata, "team") })
	is.NoErr(err)                  // removing the entry works
	is.Equal(len(got.Metadata), 0) // and leaves no metadata
}

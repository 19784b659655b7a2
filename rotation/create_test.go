package rotation_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/secrets"
)

func TestCreate(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	spec := rotation.Spec{
		Name:     "deploy bot",
		Scopes:   []string{"deploys:write"},
		Networks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
		Metadata: map[string]string{"team": "infra"},
	}
	iss := f.create(t, "acme", spec)
	is.True(strings.HasPrefix(iss.ID, "sec_"))                 // a secret id
	is.Equal(iss.Owner, "acme")                                // of the owner
	is.Equal(iss.Format, rotation.DefaultFormat)               // in the default format
	is.True(strings.HasPrefix(iss.Value.Reveal(), "sk_live_")) // whose value it has
	is.Equal(iss.Status, rotation.StatusActive)                // active
	is.Equal(iss.CreatedAt, t0)                                // created now
	is.Equal(iss.UpdatedAt, t0)                                // and not changed since
	is.Equal(iss.Current.CreatedAt, t0)                        // its value too
	is.Equal(iss.Current.Hint, iss.Value.Hint())               // with the value's hint
	is.True(iss.Current.ExpiresAt.IsZero())                    // a current value lasts as long as its secret
	is.Equal(len(iss.Previous), 0)                             // nothing in grace
	is.True(!iss.HMAC)                                         // a plain key
	is.True(!iss.Signing)                                      // which cannot sign
	if d := diff(iss.Secret, f.get(t, "acme", iss.ID)); d != "" {
		t.Errorf("what Create returns is what Get shows (-create +get):\n%s", d)
	}
	_, err := f.r.Authenticate(t.Context(), iss.Value.Reveal(), rotation.Request{IP: netip.MustParseAddr("192.0.2.7")})
	is.NoErr(err) // and the value works

	spec.Scopes[0], spec.Metadata["team"] = "changed", "changed"
	iss.Scopes[0] = "changed too"
	got := f.get(t, "acme", iss.ID)
	is.Equal(got.Scopes, []string{"deploys:write"}) // neither the spec nor the result shares memory with the store
	is.Equal(got.Metadata["team"], "infra")
}

func TestCreateLimit(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	var keys []*rotation.Issued
	for range 3 {
		keys = append(keys, f.create(t, "acme", rotation.Spec{}))
	}
	_, err := f.r.Create(ctx, "acme", rotation.Spec{})
	is.True(errors.Is(err, rotation.ErrLimitReached)) // a fourth active secret is refused
	var lerr *rotation.LimitError
	is.True(errors.As(err, &lerr)) // with a typed error
	is.Equal(lerr.Limit, 3)        // that says the limit
	is.Equal(lerr.Owner, "acme")   // and the owner

	f.regenerate(t, "acme", keys[0].ID, time.Hour)
	_, err = f.r.Create(ctx, "acme", rotation.Spec{})
	is.True(errors.Is(err, rotation.ErrLimitReached)) // a value in grace frees no place: the secret is still one

	is.NoErr(f.r.Revoke(ctx, "acme", keys[1].ID))
	expiring := f.create(t, "acme", rotation.Spec{ExpiresAt: t0.Add(time.Minute)}) // a revoked secret frees its place
	_, err = f.r.Create(ctx, "acme", rotation.Spec{})
	is.True(errors.Is(err, rotation.ErrLimitReached)) // and only one
	f.clock.Advance(time.Minute)
	f.create(t, "acme", rotation.Spec{}) // an expired secret frees its place too
	is.Equal(f.get(t, "acme", expiring.ID).Status, rotation.StatusExpired)

	f.create(t, "other", rotation.Spec{}) // limits are per owner
}

func TestCreateLimitIsPolicy(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, func(o *rotation.Options) { o.Policy.MaxActive = 1 })
	f.create(t, "acme", rotation.Spec{})
	_, err := f.r.Create(t.Context(), "acme", rotation.Spec{})
	var lerr *rotation.LimitError
	is.True(errors.As(err, &lerr)) // the policy's limit applies
	is.Equal(lerr.Limit, 1)        // and is reported
}

// createRefusals are specs Create refuses, with the field it names.
var createRefusals = []struct {
	name  string
	spec  rotation.Spec
	field string
}{
	{"long name", rotation.Spec{Name: strings.Repeat("n", rotation.MaxNameLen+1)}, "Name"},
	{"NUL in name", rotation.Spec{Name: "ci\x00bot"}, "Name"},
	{"invalid UTF-8 in name", rotation.Spec{Name: "ci\xffbot"}, "Name"},
	{"bad format", rotation.Spec{Format: "SK_LIVE"}, "Format"},
	{"negative rate limit", rotation.Spec{RateLimit: -1}, "RateLimit"},
	{"empty scope", rotation.Spec{Scopes: []string{""}}, "Scopes"},
	{"NUL in scope", rotation.Spec{Scopes: []string{"read\x00"}}, "Scopes"},
	{"invalid UTF-8 in scope", rotation.Spec{Scopes: []string{"read\xc3"}}, "Scopes"},
	{"unmasked network", rotation.Spec{Networks: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24")}}, "Networks"},
	{"invalid network", rotation.Spec{Networks: []netip.Prefix{{}}}, "Networks"},
	{"empty metadata key", rotation.Spec{Metadata: map[string]string{"": "x"}}, "Metadata"},
	{"invalid UTF-8 in metadata key", rotation.Spec{Metadata: map[string]string{"te\xffam": "x"}}, "Metadata"},
	{"invalid UTF-8 in metadata value", rotation.Spec{Metadata: map[string]string{"team": "pay\xffments"}}, "Metadata"},
	{"NUL in metadata value", rotation.Spec{Metadata: map[string]string{"team": "pay\x00ments"}}, "Metadata"},
	{"expiry now", rotation.Spec{ExpiresAt: t0}, "ExpiresAt"},
	{"expiry in the past", rotation.Spec{ExpiresAt: t0.Add(-time.Second)}, "ExpiresAt"},
}

func TestCreateValidates(t *testing.T) {
	for _, tt := range createRefusals {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, nil)
			res, err := f.r.Create(t.Context(), "acme", tt.spec)
			is.True(res == nil)                             // no secret
			is.True(errors.Is(err, rotation.ErrValidation)) // a validation error
			var verr *rotation.ValidationError
			is.True(errors.As(err, &verr))           // of the typed kind
			is.Equal(verr.Field, tt.field)           // naming the field
			is.Equal(f.store.saves.Load(), int64(0)) // and nothing saved
			is.Equal(len(f.seen()), 0)               // nor reported
		})
	}
}

func TestCreateValidatesOwner(t *testing.T) {
	tests := []struct {
		name  string
		owner string
	}{
		{"empty", ""},
		{"too long", strings.Repeat("o", 201)},
		{"NUL", "ac\x00me"},
		{"invalid UTF-8", "ac\xffme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, nil)
			_, err := f.r.Create(t.Context(), tt.owner, rotation.Spec{})
			var verr *rotation.ValidationError
			is.True(errors.As(err, &verr)) // an owner that cannot be stored is refused
			is.Equal(verr.Field, "owner")  // by name
			if tt.owner != "" {
				is.True(!strings.Contains(err.Error(), tt.owner)) // without repeating it
			}
			is.Equal(f.store.saves.Load(), int64(0)) // before anything is saved
		})
	}
}

// A webhook-format secret is always an HMAC one.
func TestCreateWebhookImpliesHMAC(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	s := f.create(t, "acme", rotation.Spec{Format: secrets.Webhook})
	is.True(s.HMAC)                                               // HMAC is implied
	is.True(strings.HasPrefix(s.Value.Reveal(), "whsec_"))        // the value is a Standard Webhooks secret
	is.True(s.Signing)                                            // and it is designated
	is.True(!f.keyset(t, "acme").Keys[0].Current.Sealed.IsZero()) // sealed
}

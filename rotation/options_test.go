package rotation_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store/memstore"
)

func TestNewRefusesOptions(t *testing.T) {
	tests := []struct {
		name  string
		opts  rotation.Options
		field string
	}{
		{"negative MaxActive", rotation.Options{Policy: rotation.Policy{MaxActive: -1}}, "Policy.MaxActive"},
		{"negative MaxInGrace", rotation.Options{Policy: rotation.Policy{MaxInGrace: -1}}, "Policy.MaxInGrace"},
		{"negative MaxGracePeriod", rotation.Options{Policy: rotation.Policy{MaxGracePeriod: -time.Nanosecond}}, "Policy.MaxGracePeriod"},
		{"negative Cache.MaxOwners", rotation.Options{Cache: rotation.CacheOptions{MaxOwners: -1}}, "Cache.MaxOwners"},
		{"negative Cache.MaxAge", rotation.Options{Cache: rotation.CacheOptions{MaxAge: -time.Second}}, "Cache.MaxAge"},
		{"negative Cache.PollInterval", rotation.Options{Cache: rotation.CacheOptions{PollInterval: -1}}, "Cache.PollInterval"},
		{"negative Cache.ListenRetry", rotation.Options{Cache: rotation.CacheOptions{ListenRetry: -1}}, "Cache.ListenRetry"},
		{"negative Cache.MaxMisses", rotation.Options{Cache: rotation.CacheOptions{MaxMisses: -1}}, "Cache.MaxMisses"},
		{"negative MaxPendingUses", rotation.Options{MaxPendingUses: -1}, "MaxPendingUses"},
		{"negative Reminders.GraceLead", rotation.Options{Reminders: rotation.Reminders{GraceLead: -1}}, "Reminders.GraceLead"},
		{"negative Reminders.SweepInterval", rotation.Options{Reminders: rotation.Reminders{SweepInterval: -time.Second}}, "Reminders.SweepInterval"},
		{"negative expiry lead", rotation.Options{Reminders: rotation.Reminders{ExpiryLeads: []time.Duration{day, -day}}}, "Reminders.ExpiryLeads"},
		{"zero expiry lead", rotation.Options{Reminders: rotation.Reminders{ExpiryLeads: []time.Duration{0}}}, "Reminders.ExpiryLeads"},
		{"upper-case format", rotation.Options{Format: "SK_LIVE"}, "Format"},
		{"format without env", rotation.Options{Format: "sk"}, "Format"},
		{"reserved prefix", rotation.Options{Format: "whsec_live"}, "Format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			r, err := rotation.New(memstore.New(), &tt.opts)
			is.True(r == nil) // no Rotator
			var oerr *rotation.OptionError
			is.True(errors.As(err, &oerr))                     // bad options are refused at construction, typed
			is.Equal(oerr.Field, tt.field)                     // naming the option
			is.True(errors.Is(err, rotation.ErrMisconfigured)) // as a misconfiguration
			is.True(!errors.Is(err, rotation.ErrValidation))   // not a caller's mistake
			is.True(strings.Contains(err.Error(), tt.field))   // and says which
		})
	}
}

func TestNewDefaults(t *testing.T) {
	tests := []struct {
		name string
		opts *rotation.Options
		want rotation.Policy
	}{
		{"nil", nil, rotation.Policy{MaxActive: 3, MaxInGrace: 3, MaxGracePeriod: time.Hour, KeepEnded: 10}},
		{"zero", &rotation.Options{}, rotation.Policy{MaxActive: 3, MaxInGrace: 3, MaxGracePeriod: time.Hour, KeepEnded: 10}},
		{"MaxInGrace follows MaxActive", &rotation.Options{Policy: rotation.Policy{MaxActive: 7}}, rotation.Policy{MaxActive: 7, MaxInGrace: 7, MaxGracePeriod: time.Hour, KeepEnded: 10}},
		{"set", &rotation.Options{Policy: rotation.Policy{MaxActive: 2, MaxInGrace: 5, MaxGracePeriod: time.Minute, KeepEnded: 1}}, rotation.Policy{MaxActive: 2, MaxInGrace: 5, MaxGracePeriod: time.Minute, KeepEnded: 1}},
		{"negative KeepEnded keeps none", &rotation.Options{Policy: rotation.Policy{KeepEnded: -1}}, rotation.Policy{MaxActive: 3, MaxInGrace: 3, MaxGracePeriod: time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			r, err := rotation.New(memstore.New(), tt.opts)
			is.NoErr(err) // zero means the default
			if d := diff(tt.want, r.Policy()); d != "" {
				t.Errorf("policy (-want +got):\n%s", d)
			}
		})
	}
	t.Run("default format", func(t *testing.T) {
		is := is.New(t)
		r, err := rotation.New(memstore.New(), &rotation.Options{Format: "pk_test"})
		is.NoErr(err)
		s, err := r.Create(t.Context(), "acme", rotation.Spec{})
		is.NoErr(err)
		is.Equal(s.Format, secrets.Format("pk_test")) // Options.Format is the default for a Spec without one
	})
}

func TestNewPanicsOnNilStore(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New with a nil store must panic: it is a programmer's error")
		}
	}()
	_, _ = rotation.New(nil, nil)
}

// A secret that must be sealed, asked of a Rotator with no keyring, is
// the service's misconfiguration, never the caller's invalid input.
func TestMisconfiguredKeyring(t *testing.T) {
	tests := []struct {
		name string
		spec rotation.Spec
	}{
		{"HMAC", rotation.Spec{HMAC: true}},
		{"webhook format", rotation.Spec{Format: secrets.Webhook}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, func(o *rotation.Options) { o.Keyring = nil })
			res, err := f.r.Create(t.Context(), "acme", tt.spec)
			is.True(res == nil) // nothing is made
			var oerr *rotation.OptionError
			is.True(errors.As(err, &oerr))                     // an option error
			is.Equal(oerr.Field, "Keyring")                    // naming the missing keyring
			is.True(errors.Is(err, rotation.ErrMisconfigured)) // matching ErrMisconfigured
			is.True(!errors.Is(err, rotation.ErrValidation))   // and not ErrValidation: the caller did nothing wrong
			var verr *rotation.ValidationError
			is.True(!errors.As(err, &verr))          // nor a ValidationError
			is.Equal(f.store.saves.Load(), int64(0)) // nothing saved

			plain := f.create(t, "acme", rotation.Spec{})
			is.True(!plain.HMAC) // plain keys need no keyring
		})
	}
}

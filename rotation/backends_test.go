package rotation_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/memstore"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// backends are the stores the model's rules must hold the same on. The
// PostgreSQL one needs ROTOR_POSTGRES_DSN: it skips without, and fails
// under CI=true.
var backends = []struct {
	name string
	open func(t *testing.T) store.Store
}{
	{"memstore", func(*testing.T) store.Store { return memstore.New() }},
	{"sqlite", func(t *testing.T) store.Store { return sqlstoretest.SQLite(t).Open(t) }},
	{"postgres", func(t *testing.T) store.Store { return sqlstoretest.Postgres(t).Open(t) }},
}

// onEveryBackend runs check on each backend as a subtest and returns what
// each returned, by backend, for the caller to compare; a skipped backend
// has no entry.
func onEveryBackend(t *testing.T, check func(t *testing.T, f *fixture) string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			got[b.name] = check(t, newFixtureOver(t, b.open(t), nil))
		})
	}
	return got
}

// sameEverywhere fails t unless every backend gave what memstore gave.
func sameEverywhere(t *testing.T, got map[string]string) {
	t.Helper()
	for name, g := range got {
		if g != got["memstore"] {
			t.Errorf("%s says %q where memstore says %q: the rules differ by backend", name, g, got["memstore"])
		}
	}
}

// textRefusals are texts some backend cannot store: every backend must
// refuse them the same way, before anything reaches it.
var textRefusals = []struct {
	name  string
	edit  func(*rotation.Attributes)
	field string
}{
	{"NUL in name", func(a *rotation.Attributes) { a.Name = "ci\x00bot" }, "Name"},
	{"invalid UTF-8 in name", func(a *rotation.Attributes) { a.Name = "caf\xe9" }, "Name"},
	{"invalid UTF-8 in metadata key", func(a *rotation.Attributes) { a.Metadata = map[string]string{"caf\xe9": "x"} }, "Metadata"},
	{"invalid UTF-8 in metadata value", func(a *rotation.Attributes) { a.Metadata = map[string]string{"team": "caf\xe9"} }, "Metadata"},
	{"NUL in metadata value", func(a *rotation.Attributes) { a.Metadata = map[string]string{"team": "a\x00b"} }, "Metadata"},
	{"NUL in metadata key", func(a *rotation.Attributes) { a.Metadata = map[string]string{"a\x00b": "x"} }, "Metadata"},
	{"NUL in scope", func(a *rotation.Attributes) { a.Scopes = []string{"read", "wr\x00ite"} }, "Scopes"},
	{"invalid UTF-8 in scope", func(a *rotation.Attributes) { a.Scopes = []string{"\xff"} }, "Scopes"},
}

func TestTextRulesOnEveryBackend(t *testing.T) {
	for _, tt := range textRefusals {
		t.Run(tt.name, func(t *testing.T) {
			t.Run("Create", func(t *testing.T) {
				sameEverywhere(t, onEveryBackend(t, func(t *testing.T, f *fixture) string {
					is := is.New(t)
					var spec rotation.Spec
					tt.edit(&spec)
					_, err := f.r.Create(t.Context(), "acme", spec)
					var verr *rotation.ValidationError
					is.True(errors.As(err, &verr))           // refused as invalid
					is.Equal(verr.Field, tt.field)           // naming the field
					is.Equal(f.store.saves.Load(), int64(0)) // before the store is asked to save
					_, loadErr := f.store.Load(t.Context(), "acme")
					is.True(errors.Is(loadErr, store.ErrNotFound)) // so nothing was saved
					return err.Error()
				}))
			})
			t.Run("Update", func(t *testing.T) {
				sameEverywhere(t, onEveryBackend(t, func(t *testing.T, f *fixture) string {
					is := is.New(t)
					s := f.create(t, "acme", rotation.Spec{Name: "ci", Scopes: []string{"read"}})
					version := f.version(t, "acme")
					_, err := f.r.Update(t.Context(), "acme", s.ID, tt.edit)
					var verr *rotation.ValidationError
					is.True(errors.As(err, &verr))          // refused as invalid
					is.Equal(verr.Field, tt.field)          // naming the field
					is.Equal(f.version(t, "acme"), version) // nothing saved
					got := f.get(t, "acme", s.ID)
					is.Equal(got.Name, "ci") // the secret is as it was
					is.Equal(got.Scopes, []string{"read"})
					return err.Error()
				}))
			})
		})
	}
}

// Valid text of any script is stored as it is and read back exactly, on
// every backend.
func TestTextRoundTripsOnEveryBackend(t *testing.T) {
	spec := rotation.Spec{
		Format: "sk_test",
		Name:   "café 東京 🔑",
		Scopes: []string{"read:café", "東京", "🔑:write"},
		Metadata: map[string]string{
			"ville":    "Zürich",
			"東京":       "🗼 tower",
			"emoji 🔑":  "valeur « é » ",
			"empty":    "",
			"newline":  "a\nb\tc",
			"combined": "e\u0301", // e and a combining acute, not normalized
		},
	}
	renamed := func(a *rotation.Attributes) {
		a.Name = "naïve — 日本語 ✅"
		a.Metadata["ville"] = "Ærøskøbing"
	}
	sameEverywhere(t, onEveryBackend(t, func(t *testing.T, f *fixture) string {
		is := is.New(t)
		ctx := t.Context()
		s := f.create(t, "acme", spec)
		// A Rotator made for each read reads what the store holds, not
		// what the first one has cached.
		fresh := func() *rotation.Rotator {
			r, err := rotation.New(f.store, &rotation.Options{Now: f.clock.Now, Keyring: f.ring})
			is.NoErr(err)
			return r
		}
		got, err := fresh().Get(ctx, "acme", s.ID)
		is.NoErr(err)
		if d := diff(spec, got.Attributes); d != "" {
			t.Errorf("attributes after a round trip (-want +got):\n%s", d)
		}

		want := spec.Clone()
		renamed(&want)
		_, err = f.r.Update(ctx, "acme", s.ID, renamed)
		is.NoErr(err)
		res := f.regenerate(t, "acme", s.ID, time.Minute)
		got, err = fresh().Get(ctx, "acme", s.ID)
		is.NoErr(err)
		if d := diff(want, got.Attributes); d != "" {
			t.Errorf("attributes after Update and Regenerate (-want +got):\n%s", d)
		}
		p, err := fresh().Authenticate(ctx, res.Value.Reveal(), rotation.Request{Scope: "東京"})
		is.NoErr(err)                      // the value works, scope and all
		is.Equal(p.Secret.Name, want.Name) // with the name as given
		return got.Name + "|" + got.Metadata["combined"]
	}))
}

// An owner that cannot be stored gets the same answer from every
// operation on every backend: what a memstore says, a PostgreSQL server
// says too.
func TestOwnerTextOnEveryBackend(t *testing.T) {
	noop := func(*rotation.Attributes) {}
	ops := []struct {
		name string
		do   func(ctx context.Context, r *rotation.Rotator, owner string) error
	}{
		{"List", func(ctx context.Context, r *rotation.Rotator, owner string) error {
			_, err := r.List(ctx, owner)
			return err
		}},
		{"Get", func(ctx context.Context, r *rotation.Rotator, owner string) error {
			_, err := r.Get(ctx, owner, noSuchID)
			return err
		}},
		{"Regenerate", func(ctx context.Context, r *rotation.Rotator, owner string) error {
			_, err := r.Regenerate(ctx, owner, noSuchID, 0)
			return err
		}},
		{"RegenerateIf", func(ctx context.Context, r *rotation.Rotator, owner string) error {
			_, err := r.RegenerateIf(ctx, owner, noSuchID, "val_x", 0)
			return err
		}},
		{"Update", func(ctx context.Context, r *rotation.Rotator, owner string) error {
			_, err := r.Update(ctx, owner, noSuchID, noop)
			return err
		}},
		{"Revoke", func(ctx context.Context, r *rotation.Rotator, owner string) error {
			return r.Revoke(ctx, owner, noSuchID)
		}},
		{"Delete", func(ctx context.Context, r *rotation.Rotator, owner string) error {
			return r.Delete(ctx, owner, noSuchID)
		}},
		{"SetSigning", func(ctx context.Context, r *rotation.Rotator, owner string) error {
			return r.SetSigning(ctx, owner, noSuchID)
		}},
		{"DeleteOwner", func(ctx context.Context, r *rotation.Rotator, owner string) error { return r.DeleteOwner(ctx, owner) }},
		{"SigningKeys", func(ctx context.Context, r *rotation.Rotator, owner string) error {
			_, err := r.SigningKeys(ctx, owner)
			return err
		}},
	}
	for _, owner := range []struct{ name, text string }{{"NUL", "ac\x00me"}, {"invalid UTF-8", "ac\xffme"}} {
		for _, op := range ops {
			t.Run(owner.name+"/"+op.name, func(t *testing.T) {
				sameEverywhere(t, onEveryBackend(t, func(t *testing.T, f *fixture) string {
					err := op.do(t.Context(), f.r, owner.text)
					var oerr *store.OpError
					if errors.As(err, &oerr) {
						t.Errorf("the backend's own error reached the caller: %v", err)
					}
					if err == nil {
						return "ok"
					}
					return err.Error()
				}))
			})
		}
	}
}

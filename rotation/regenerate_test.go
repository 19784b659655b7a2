package rotation_test

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store"
)

func TestRegenerateGraceWindow(t *testing.T) {
	tests := []struct {
		name  string
		grace time.Duration
	}{
		{"no grace", 0},
		{"60s", 60 * time.Second},
		{"3600s, the bound", 3600 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			ctx := t.Context()
			f := newFixture(t, nil)
			old := f.create(t, "acme", rotation.Spec{Name: "ci"})
			at := f.clock.Advance(time.Second) // the regeneration instant, T

			res, err := f.r.Regenerate(ctx, "acme", old.ID, tt.grace)
			is.NoErr(err)                                                    // a grace within the bound is accepted
			is.Equal(res.ID, old.ID)                                         // the secret keeps its id
			is.True(!res.Value.Equal(old.Value))                             // and gets a new value
			is.True(res.Current.ID != old.Current.ID)                        // under a new value id
			is.Equal(res.Current.Hint, res.Value.Hint())                     // whose hint is shown
			is.Equal(res.Old.ID, old.Current.ID)                             // Old is the value it had
			is.Equal(res.Old.Hint, old.Current.Hint)                         // with its hint
			is.Equal(res.Old.ExpiresAt, at.Add(tt.grace))                    // and the instant it stops working: T+grace, T itself for 0
			is.Equal(len(res.CutShort), 0)                                   // nothing else was in grace
			is.NoErr(f.auth(t, res.Value))                                   // the new value works at once
			is.Equal(len(f.list(t, "acme")), 1)                              // still one secret
			is.Equal(f.get(t, "acme", old.ID).Status, rotation.StatusActive) // and it is active

			if tt.grace == 0 {
				is.True(errors.Is(f.auth(t, old.Value), rotation.ErrInvalidKey)) // the old value dies at once
				is.Equal(len(f.get(t, "acme", old.ID).Previous), 0)              // and is not listed
				return
			}
			end := at.Add(tt.grace)
			f.clock.Set(end.Add(-time.Nanosecond))
			p, err := f.r.Authenticate(ctx, old.Value.Reveal(), rotation.Request{})
			is.NoErr(err)                                       // the old value works until the last instant of its window
			is.Equal(p.Secret.ID, old.ID)                       // as the same secret
			is.True(p.Previous)                                 // saying it is a previous value
			is.Equal(p.Presented.ID, res.Old.ID)                // which one
			is.Equal(p.Presented.ExpiresAt, end)                // and when it stops working
			is.NoErr(f.auth(t, res.Value))                      // the new value works too
			is.Equal(len(f.get(t, "acme", old.ID).Previous), 1) // the window is listed

			f.clock.Set(end)
			err = f.auth(t, old.Value)
			is.True(errors.Is(err, rotation.ErrExpired))        // at T+grace the old value is refused as expired
			is.True(errors.Is(err, rotation.ErrInvalidKey))     // which is an invalid key
			is.NoErr(f.auth(t, res.Value))                      // the new value goes on
			is.Equal(len(f.get(t, "acme", old.ID).Previous), 0) // and the ended window is no longer listed
		})
	}
}

func TestRegenerateRejectsGraceOutOfRange(t *testing.T) {
	tests := []struct {
		name  string
		grace time.Duration
	}{
		{"-1s", -time.Second},
		{"3601s", 3601 * time.Second},
		{"3600s+1ns", 3600*time.Second + time.Nanosecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, nil)
			old := f.create(t, "acme", rotation.Spec{})
			before := f.list(t, "acme")
			version := f.version(t, "acme")
			f.seen()

			for _, call := range []struct {
				name string
				do   func() (*rotation.Regenerated, error)
			}{
				{"Regenerate", func() (*rotation.Regenerated, error) {
					return f.r.Regenerate(t.Context(), "acme", old.ID, tt.grace)
				}},
				{"RegenerateIf", func() (*rotation.Regenerated, error) {
					return f.r.RegenerateIf(t.Context(), "acme", old.ID, old.Current.ID, tt.grace)
				}},
			} {
				res, err := call.do()
				is.True(res == nil)                             // no result
				is.True(errors.Is(err, rotation.ErrValidation)) // a validation error
				var verr *rotation.ValidationError
				is.True(errors.As(err, &verr))                     // of the typed kind
				is.Equal(verr.Field, "grace")                      // naming the field
				is.Equal(verr.Reason, "must be from 0s to 1h0m0s") // and the range, not the value
			}
			if d := diff(before, f.list(t, "acme")); d != "" {
				t.Errorf("a refused regenerate changed the list (-before +after):\n%s", d)
			}
			is.Equal(f.version(t, "acme"), version) // nothing was saved
			is.NoErr(f.auth(t, old.Value))          // the old value still works
			is.Equal(len(f.seen()), 0)              // and nothing was reported
		})
	}
}

func TestRegenerateGraceBoundIsPolicy(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, func(o *rotation.Options) { o.Policy.MaxGracePeriod = 10 * time.Minute })
	old := f.create(t, "acme", rotation.Spec{})
	_, err := f.r.Regenerate(t.Context(), "acme", old.ID, 10*time.Minute+time.Nanosecond)
	var verr *rotation.ValidationError
	is.True(errors.As(err, &verr))                    // the policy's bound applies
	is.Equal(verr.Field, "grace")                     // to the grace
	is.Equal(verr.Reason, "must be from 0s to 10m0s") // and says so
	res, err := f.r.Regenerate(t.Context(), "acme", old.ID, 10*time.Minute)
	is.NoErr(err)                                       // up to the bound itself
	is.Equal(res.Old.ExpiresAt, t0.Add(10*time.Minute)) // which is the window given
}

func TestRegenerateNeverOutlivesExpiry(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	expiry := t0.Add(10 * time.Minute)
	old := f.create(t, "acme", rotation.Spec{ExpiresAt: expiry})
	res := f.regenerate(t, "acme", old.ID, time.Hour)
	is.Equal(res.Old.ExpiresAt, expiry) // a grace window is capped at the key's own expiry
	is.Equal(res.ExpiresAt, expiry)     // and the key keeps its expiry

	f.clock.Set(expiry.Add(-time.Nanosecond))
	is.NoErr(f.auth(t, old.Value)) // the old value works until then
	f.clock.Set(expiry)
	is.True(errors.Is(f.auth(t, old.Value), rotation.ErrExpired)) // and not at the expiry
	is.True(errors.Is(f.auth(t, res.Value), rotation.ErrExpired)) // when the new one ends too
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
				return noSuchID
			},
			want: rotation.ErrNotFound,
		},
		{
			name:  "unknown owner",
			setup: func(t *testing.T, f *fixture) string { return noSuchID },
			want:  rotation.ErrNotFound,
		},
		{
			name:   "custom secret",
			setup:  func(t *testing.T, f *fixture) string { return f.create(t, "acme", rotation.Spec{Custom: true}).ID },
			want:   rotation.ErrNotManaged,
			status: rotation.StatusActive,
		},
		{
			name: "revoked",
			setup: func(t *testing.T, f *fixture) string {
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
		{
			name: "deleted",
			setup: func(t *testing.T, f *fixture) string {
				s := f.create(t, "acme", rotation.Spec{})
				if err := f.r.Delete(t.Context(), "acme", s.ID); err != nil {
					t.Fatal(err)
				}
				return s.ID
			},
			want: rotation.ErrNotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, nil)
			id := tt.setup(t, f)
			saves := f.store.saves.Load()
			f.seen()
			res, err := f.r.Regenerate(t.Context(), "acme", id, time.Minute)
			is.True(res == nil)              // no result
			is.True(errors.Is(err, tt.want)) // the refusal says why
			var serr *rotation.SecretError
			is.True(errors.As(err, &serr))        // as a typed error
			is.Equal(serr.Op, "regenerate")       // naming the operation
			is.Equal(serr.Owner, "acme")          // the owner
			is.Equal(serr.ID, id)                 // the secret
			is.Equal(serr.Status, tt.status)      // and its status
			is.Equal(f.store.saves.Load(), saves) // nothing was saved
			is.Equal(len(f.seen()), 0)            // nor reported
		})
	}
}

// A secret whose previous value is still in grace may be regenerated
// again: each value keeps its own window.
func TestRegenerateAgainDuringGrace(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	v0 := f.create(t, "acme", rotation.Spec{})
	t1 := f.clock.Advance(time.Second)
	r1 := f.regenerate(t, "acme", v0.ID, time.Hour)
	t2 := f.clock.Advance(time.Second)
	r2, err := f.r.Regenerate(t.Context(), "acme", v0.ID, 30*time.Minute)
	is.NoErr(err)                                      // a secret in grace rotates again
	is.Equal(r2.ID, v0.ID)                             // keeping its id
	is.Equal(r2.Old.ID, r1.Current.ID)                 // replacing the value the first regeneration gave
	is.Equal(r2.Old.ExpiresAt, t2.Add(30*time.Minute)) // with a window of its own

	got := f.get(t, "acme", v0.ID)
	is.Equal(got.Current.ID, r2.Current.ID) // the latest value is current
	if d := diff([]string{r1.Current.ID, v0.Current.ID}, valueIDs(got.Previous)); d != "" {
		t.Errorf("previous values, newest first (-want +got):\n%s", d)
	}
	is.Equal(got.Previous[0].ExpiresAt, t2.Add(30*time.Minute)) // each keeps the window it was given
	is.Equal(got.Previous[1].ExpiresAt, t1.Add(time.Hour))
	for _, v := range []secrets.Value{v0.Value, r1.Value, r2.Value} {
		is.NoErr(f.auth(t, v)) // all three values work
	}
	f.clock.Set(t2.Add(30 * time.Minute))
	is.True(errors.Is(f.auth(t, r1.Value), rotation.ErrExpired)) // the shorter window ends first
	is.NoErr(f.auth(t, v0.Value))                                // the longer one goes on
}

// fillAttributes gives every field of a a value that is not zero, except
// the ones in keepZero. A field of a type it does not know fails the test:
// whoever adds a field to Attributes must teach it, so that the field is
// proven to survive Regenerate.
func fillAttributes(t *testing.T, a *rotation.Attributes, keepZero map[string]string) {
	t.Helper()
	v := reflect.ValueOf(a).Elem()
	for i := range v.NumField() {
		field, fv := v.Type().Field(i), v.Field(i)
		if _, ok := keepZero[field.Name]; ok {
			continue
		}
		switch field.Type {
		case reflect.TypeFor[string]():
			fv.SetString("kept " + field.Name + " café 東京 🔑")
		case reflect.TypeFor[secrets.Format]():
			fv.Set(reflect.ValueOf(secrets.Format("sk_test"))) // not the Rotator's default
		case reflect.TypeFor[bool]():
			fv.SetBool(true)
		case reflect.TypeFor[int]():
			fv.SetInt(120)
		case reflect.TypeFor[[]string]():
			fv.Set(reflect.ValueOf([]string{"invoices:read", "invoices:write"}))
		case reflect.TypeFor[[]netip.Prefix]():
			fv.Set(reflect.ValueOf([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}))
		case reflect.TypeFor[map[string]string]():
			fv.Set(reflect.ValueOf(map[string]string{"team": "payments", "ville": "Zürich 東京"}))
		case reflect.TypeFor[time.Time]():
			fv.Set(reflect.ValueOf(t0.Add(90 * 24 * time.Hour)))
		default:
			t.Fatalf("Attributes.%s is a %s, which this test cannot fill yet: teach fillAttributes, so Regenerate is proven to keep it", field.Name, field.Type)
		}
	}
}

// checkSet fails the test if a field of v (a struct, walked into its
// embedded structs) is zero and not named in mayBeZero, or if mayBeZero
// names a field v does not have.
func checkSet(t *testing.T, v any, mayBeZero map[string]string) {
	t.Helper()
	seen := map[string]bool{}
	var walk func(rv reflect.Value)
	walk = func(rv reflect.Value) {
		for i := range rv.NumField() {
			field, fv := rv.Type().Field(i), rv.Field(i)
			seen[field.Name] = true
			if field.Anonymous && field.Type.Kind() == reflect.Struct {
				walk(fv)
				continue
			}
			if _, ok := mayBeZero[field.Name]; !ok && fv.IsZero() {
				t.Errorf("%s.%s is zero, so the test would not see it lost", rv.Type(), field.Name)
			}
		}
	}
	walk(reflect.ValueOf(v))
	for name := range mayBeZero {
		if !seen[name] {
			t.Errorf("%T has no field %s any more: update the test", v, name)
		}
	}
}

// TestRegenerateKeepsEverything sets every attribute of a secret, uses
// it, regenerates it and checks that nothing but its values and UpdatedAt
// changed, in what Regenerate returns, in Get, and in the stored record.
// Fields are walked by reflection, so a field added later is covered, or
// fails the test until it is.
func TestRegenerateKeepsEverything(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)

	var spec rotation.Spec
	custom := map[string]string{"Custom": "custom secrets cannot be regenerated (TestRegenerateRefuses)"}
	fillAttributes(t, &spec, custom)
	checkSet(t, spec, custom)
	iss := f.create(t, "acme", spec)
	is.True(iss.Signing) // the first secret that can sign is designated

	f.clock.Advance(time.Minute)
	ip := netip.MustParseAddr("10.1.2.3")
	_, err := f.r.Authenticate(ctx, iss.Value.Reveal(), rotation.Request{IP: ip, Scope: "invoices:write"})
	is.NoErr(err) // the secret is used
	is.NoErr(f.r.Flush(ctx))
	f.clock.Advance(time.Minute)

	before := f.get(t, "acme", iss.ID)
	recBefore := f.keyset(t, "acme").Keys[0]
	checkSet(t, before, map[string]string{
		"Custom":    custom["Custom"],
		"RevokedAt": "an active secret is not revoked",
		"Previous":  "no value is in grace yet",
	})
	is.Equal(before.LastUsedIP, ip) // the use is recorded

	res := f.regenerate(t, "acme", iss.ID, 30*time.Minute)
	after := f.get(t, "acme", iss.ID)
	mayChange := cmpopts.IgnoreFields(rotation.Secret{}, "Current", "Previous", "UpdatedAt")
	if d := diff(before, res.Secret, mayChange); d != "" {
		t.Errorf("Regenerate returned a secret that lost or changed something (-before +result):\n%s", d)
	}
	if d := diff(before, after, mayChange); d != "" {
		t.Errorf("Regenerate lost or changed something of the secret (-before +after):\n%s", d)
	}
	is.Equal(after.UpdatedAt, f.clock.Now())                        // what changes: the update time
	is.True(after.Current.ID != before.Current.ID)                  // the current value
	is.Equal(valueIDs(after.Previous), []string{before.Current.ID}) // and the previous ones

	ks := f.keyset(t, "acme")
	is.Equal(ks.Signing, iss.ID) // the designation stays with the id
	if d := diff(recBefore, ks.Keys[0], cmpopts.IgnoreFields(store.Record{}, "Current", "Previous", "UpdatedAt")); d != "" {
		t.Errorf("the stored record lost or changed something (-before +after):\n%s", d)
	}
	var regenerated []rotation.Event
	for _, e := range f.seen() {
		if e.Kind == rotation.EventRegenerated {
			regenerated = append(regenerated, e)
		}
	}
	is.Equal(len(regenerated), 1)             // the regeneration is reported
	is.Equal(regenerated[0].SecretID, iss.ID) // under the secret's id
	is.Equal(regenerated[0].Hint, res.Current.Hint)
	is.Equal(regenerated[0].OldHint, iss.Current.Hint)
	is.Equal(regenerated[0].OldExpiresAt, res.Old.ExpiresAt)
}

// What Regenerate and Update return shows the secret's latest use, as
// Get does, even when that use has not been written to the store yet.
func TestResultsShowLatestUse(t *testing.T) {
	tests := []struct {
		name string
		do   func(t *testing.T, f *fixture, id string) (rotation.Secret, rotation.ValueInfo)
	}{
		{"Regenerate", func(t *testing.T, f *fixture, id string) (rotation.Secret, rotation.ValueInfo) {
			res := f.regenerate(t, "acme", id, time.Minute)
			return res.Secret, res.Old
		}},
		{"Update", func(t *testing.T, f *fixture, id string) (rotation.Secret, rotation.ValueInfo) {
			s, err := f.r.Update(t.Context(), "acme", id, func(a *rotation.Attributes) { a.Name = "renamed" })
			if err != nil {
				t.Fatal(err)
			}
			return s, s.Current
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			ctx := t.Context()
			f := newFixture(t, nil)
			iss := f.create(t, "acme", rotation.Spec{})
			_, err := f.r.Authenticate(ctx, iss.Value.Reveal(), rotation.Request{IP: netip.MustParseAddr("192.0.2.1")})
			is.NoErr(err) // the first use is written at once
			f.clock.Advance(time.Second)
			latest := netip.MustParseAddr("192.0.2.2")
			_, err = f.r.Authenticate(ctx, iss.Value.Reveal(), rotation.Request{IP: latest})
			is.NoErr(err) // the second waits for the interval
			before := f.get(t, "acme", iss.ID)
			is.Equal(before.LastUsedIP, latest) // Get shows the latest use

			got, value := tt.do(t, f, iss.ID)
			is.Equal(got.LastUsedAt, before.LastUsedAt) // and so does the result
			is.Equal(got.LastUsedIP, latest)
			is.Equal(value.LastUsedIP, latest) // for the value that was used too
		})
	}
}

// The example: grace 3600 s three times, then 10 s. The fourth
// window must be the one asked for; one of the hour-long ones is cut.
func TestRegenerateCutsGraceShort(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	s := f.create(t, "acme", rotation.Spec{})
	values := []secrets.Value{s.Value}
	var olds []rotation.ValueInfo
	for range 3 {
		f.clock.Advance(time.Second)
		res := f.regenerate(t, "acme", s.ID, 3600*time.Second)
		is.Equal(len(res.CutShort), 0) // three windows fit
		values = append(values, res.Value)
		olds = append(olds, res.Old)
	}
	now := f.clock.Advance(time.Second)
	res, err := f.r.Regenerate(t.Context(), "acme", s.ID, 10*time.Second)
	is.NoErr(err)                                        // a regenerate never fails for lack of room
	is.Equal(res.Old.ExpiresAt, now.Add(10*time.Second)) // the window asked for is the one given
	want := []rotation.Cut{{SecretID: s.ID, Value: olds[0]}}
	if d := diff(want, res.CutShort); d != "" {
		t.Errorf("the window ending soonest among the others is cut, and reported as it was (-want +got):\n%s", d)
	}
	got := f.get(t, "acme", s.ID)
	is.Equal(len(got.Previous), 3) // the grace set stays at MaxInGrace
	if d := diff([]string{res.Old.ID, olds[2].ID, olds[1].ID}, valueIDs(got.Previous)); d != "" {
		t.Errorf("previous values after the cut (-want +got):\n%s", d)
	}

	is.True(errors.Is(f.auth(t, values[0]), rotation.ErrInvalidKey)) // the cut value is refused now
	for _, v := range values[1:] {
		is.NoErr(f.auth(t, v)) // the others keep working
	}
	is.NoErr(f.auth(t, res.Value)) // as does the new one
	f.clock.Set(now.Add(10*time.Second - time.Nanosecond))
	is.NoErr(f.auth(t, values[3])) // the 10 s value works for its 10 s
	f.clock.Set(now.Add(10 * time.Second))
	is.True(errors.Is(f.auth(t, values[3]), rotation.ErrExpired)) // and not after
	is.NoErr(f.auth(t, values[1]))                                // while the hour-long ones go on
}

// The grace set is the owner's: a regeneration of one secret can cut the
// window of another.
func TestRegenerateCutsAcrossSecrets(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	a := f.create(t, "acme", rotation.Spec{Name: "a"})
	b := f.create(t, "acme", rotation.Spec{Name: "b"})
	c := f.create(t, "acme", rotation.Spec{Name: "c"})
	other := f.create(t, "other", rotation.Spec{})
	f.regenerate(t, "other", other.ID, time.Hour) // another owner's windows do not count

	f.clock.Advance(time.Second)
	rb := f.regenerate(t, "acme", b.ID, time.Hour) // ends first
	f.clock.Advance(time.Second)
	f.regenerate(t, "acme", a.ID, time.Hour)
	f.clock.Advance(time.Second)
	f.regenerate(t, "acme", c.ID, time.Hour)
	f.clock.Advance(time.Second)
	res := f.regenerate(t, "acme", c.ID, time.Hour)
	want := []rotation.Cut{{SecretID: b.ID, Value: rb.Old}}
	if d := diff(want, res.CutShort); d != "" {
		t.Errorf("the owner's window ending soonest is cut, whichever secret holds it (-want +got):\n%s", d)
	}
	is.True(errors.Is(f.auth(t, b.Value), rotation.ErrInvalidKey)) // b's old value is refused
	is.Equal(len(f.get(t, "acme", b.ID).Previous), 0)              // and b lists no window
	is.NoErr(f.auth(t, a.Value))                                   // a's old value is not cut
	is.NoErr(f.auth(t, c.Value))                                   // nor c's first
	is.NoErr(f.auth(t, other.Value))                               // nor the other owner's
	is.Equal(len(f.get(t, "other", other.ID).Previous), 1)
}

// The window just asked for is never cut, even when it is the shortest.
func TestRegenerateNeverCutsTheWindowAskedFor(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, func(o *rotation.Options) { o.Policy.MaxInGrace = 1 })
	a := f.create(t, "acme", rotation.Spec{})
	b := f.create(t, "acme", rotation.Spec{})
	ra := f.regenerate(t, "acme", a.ID, time.Hour)
	res := f.regenerate(t, "acme", b.ID, time.Minute)
	is.Equal(res.Old.ExpiresAt, t0.Add(time.Minute)) // the shorter window is given
	want := []rotation.Cut{{SecretID: a.ID, Value: ra.Old}}
	if d := diff(want, res.CutShort); d != "" {
		t.Errorf("CutShort (-want +got):\n%s", d)
	}
	is.NoErr(f.auth(t, b.Value))                                   // the value just put in grace works
	is.True(errors.Is(f.auth(t, a.Value), rotation.ErrInvalidKey)) // the other is cut
}

// Policy.MaxInGrace defaults to MaxActive.
func TestRegenerateGraceSetDefaultsToMaxActive(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, func(o *rotation.Options) { o.Policy.MaxActive = 5 })
	is.Equal(f.r.Policy().MaxInGrace, 5) // MaxInGrace follows MaxActive
	s := f.create(t, "acme", rotation.Spec{})
	for i := range 6 {
		f.clock.Advance(time.Second)
		res := f.regenerate(t, "acme", s.ID, time.Hour)
		is.Equal(len(res.CutShort), max(0, i-4)) // five windows fit, the sixth cuts one
	}
	is.Equal(len(f.get(t, "acme", s.ID).Previous), 5) // five stay in grace
}

// Ended windows are dropped from the store at the next change, so their
// values become unknown.
func TestRegeneratePrunesEndedWindows(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	s := f.create(t, "acme", rotation.Spec{})
	f.regenerate(t, "acme", s.ID, time.Minute)
	is.Equal(len(f.keyset(t, "acme").Keys[0].Previous), 1) // the window is stored
	f.clock.Advance(time.Minute)
	is.True(errors.Is(f.auth(t, s.Value), rotation.ErrExpired)) // ended, still known
	f.create(t, "acme", rotation.Spec{})                        // any change
	is.Equal(len(f.keyset(t, "acme").Keys[0].Previous), 0)      // drops it
	err := f.auth(t, s.Value)
	is.True(errors.Is(err, rotation.ErrInvalidKey)) // and its value is unknown
	is.True(!errors.Is(err, rotation.ErrExpired))   // not merely expired
}

func TestKeepEnded(t *testing.T) {
	tests := []struct {
		name      string
		keepEnded int
		kept      int
	}{
		{"default keeps 10", 0, 5},
		{"two", 2, 2},
		{"negative keeps none", -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, func(o *rotation.Options) { o.Policy.KeepEnded = tt.keepEnded })
			var ended []*rotation.Issued
			for i := range 5 {
				f.clock.Advance(time.Second)
				if i%2 == 0 {
					s := f.create(t, "acme", rotation.Spec{})
					is.NoErr(f.r.Revoke(t.Context(), "acme", s.ID))
					ended = append(ended, s)
					continue
				}
				s := f.create(t, "acme", rotation.Spec{ExpiresAt: f.clock.Now().Add(time.Second)})
				f.clock.Advance(time.Second)
				ended = append(ended, s)
			}
			live := f.create(t, "acme", rotation.Spec{}) // a change after the last one ended

			var want []string
			for _, s := range ended[len(ended)-tt.kept:] {
				want = append(want, s.ID)
			}
			want = append(want, live.ID)
			if d := diff(want, secretIDs(f.list(t, "acme"))); d != "" {
				t.Errorf("the latest ended secrets are kept, the first ended go (-want +got):\n%s", d)
			}
			for _, s := range ended[:len(ended)-tt.kept] {
				_, err := f.r.Get(t.Context(), "acme", s.ID)
				is.True(errors.Is(err, rotation.ErrNotFound))                  // a dropped secret is gone
				is.True(errors.Is(f.auth(t, s.Value), rotation.ErrInvalidKey)) // and its value unknown
			}
		})
	}
}

func TestHMACValuesSealed(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	s := f.create(t, "acme", rotation.Spec{HMAC: true})
	plain := f.create(t, "acme", rotation.Spec{})
	is.True(s.HMAC)                            // the secret says its values are kept sealed
	is.Equal(s.Format, rotation.DefaultFormat) // in the Rotator's format
	res := f.regenerate(t, "acme", s.ID, time.Minute)

	ks := f.keyset(t, "acme")
	rec := ks.Keys[ks.Find(s.ID)]
	for _, c := range []struct {
		v     store.Value
		value secrets.Value
	}{{rec.Current, res.Value}, {rec.Previous[0], s.Value}} {
		is.True(!c.v.Sealed.IsZero()) // every value of an HMAC secret is sealed
		opened, err := f.ring.Open(c.v.ID, c.v.Sealed)
		is.NoErr(err)                  // bound to its value id
		is.True(opened.Equal(c.value)) // it opens to the value handed out
		_, err = f.ring.Open(s.ID, c.v.Sealed)
		is.True(err != nil) // and under no other id
	}
	plainRec := ks.Keys[ks.Find(plain.ID)]
	is.True(plainRec.Current.Sealed.IsZero()) // a plain key keeps nothing sealed, only a digest
	// Nothing the store holds is plaintext, in any form.
	secretstest.NoLeak(t, fmt.Sprintf("%#v", ks), s.Value.Reveal(), res.Value.Reveal(), plain.Value.Reveal())
}

// A bound lowered since the windows were opened (another process, a new
// deployment) is met at the next regeneration: as many windows as needed
// are cut, soonest ending first, and never the one asked for.
func TestRegenerateCutsDownToALoweredBound(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	s := f.create(t, "acme", rotation.Spec{})
	var olds []rotation.ValueInfo
	for range 3 {
		f.clock.Advance(time.Second)
		olds = append(olds, f.regenerate(t, "acme", s.ID, time.Hour).Old)
	}
	strict, err := rotation.New(f.store, &rotation.Options{Now: f.clock.Now, Policy: rotation.Policy{MaxInGrace: 1}})
	is.NoErr(err)
	res, err := strict.Regenerate(t.Context(), "acme", s.ID, time.Minute)
	is.NoErr(err)
	want := []rotation.Cut{{SecretID: s.ID, Value: olds[0]}, {SecretID: s.ID, Value: olds[1]}, {SecretID: s.ID, Value: olds[2]}}
	if d := diff(want, res.CutShort); d != "" {
		t.Errorf("every window beyond the bound is cut, soonest ending first (-want +got):\n%s", d)
	}
	got, err := strict.Get(t.Context(), "acme", s.ID)
	is.NoErr(err)
	is.Equal(valueIDs(got.Previous), []string{res.Old.ID}) // leaving the one asked for
}

package rotation_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
)

// List shows one entry per secret, however many values it has, with the
// previous values still in their windows and each value's own last use.
func TestListOneEntryPerSecret(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, nil)
	a := f.create(t, "acme", rotation.Spec{Name: "a"})
	b := f.create(t, "acme", rotation.Spec{Name: "b"})
	t1 := f.clock.Advance(time.Second)
	ra1 := f.regenerate(t, "acme", a.ID, time.Hour)
	t2 := f.clock.Advance(time.Second)
	ra2 := f.regenerate(t, "acme", a.ID, time.Minute)

	f.clock.Advance(time.Second)
	oldIP, newIP := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	_, err := f.r.Authenticate(ctx, a.Value.Reveal(), rotation.Request{IP: oldIP})
	is.NoErr(err) // the oldest value is used
	usedOld := f.clock.Now()
	f.clock.Advance(time.Second)
	_, err = f.r.Authenticate(ctx, ra2.Value.Reveal(), rotation.Request{IP: newIP})
	is.NoErr(err) // and then the current one
	usedNew := f.clock.Now()

	list := f.list(t, "acme")
	is.Equal(secretIDs(list), []string{a.ID, b.ID}) // one entry per secret, oldest first
	got := list[0]
	want := []rotation.ValueInfo{
		{ID: ra1.Current.ID, Hint: ra1.Value.Hint(), CreatedAt: t1, ExpiresAt: t2.Add(time.Minute)},
		{ID: a.Current.ID, Hint: a.Value.Hint(), CreatedAt: t0, ExpiresAt: t1.Add(time.Hour), LastUsedAt: usedOld, LastUsedIP: oldIP},
	}
	if d := diff(want, got.Previous); d != "" {
		t.Errorf("previous values in their windows, newest first, with hint, end and own last use (-want +got):\n%s", d)
	}
	is.Equal(got.Current.ID, ra2.Current.ID)     // the current value
	is.Equal(got.Current.Hint, ra2.Value.Hint()) // shown by its hint
	is.Equal(got.Current.LastUsedAt, usedNew)    // with its own last use
	is.Equal(got.Current.LastUsedIP, newIP)
	is.Equal(got.LastUsedAt, usedNew) // the secret's last use is the latest of any value
	is.Equal(got.LastUsedIP, newIP)
	is.Equal(len(list[1].Previous), 0) // a secret never regenerated has none

	f.clock.Set(t2.Add(time.Minute)) // the newer, shorter window has ended
	got = f.get(t, "acme", a.ID)
	is.Equal(valueIDs(got.Previous), []string{a.Current.ID}) // only windows still open are listed
}

func TestListCopies(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	s := f.create(t, "acme", rotation.Spec{Scopes: []string{"read"}, Metadata: map[string]string{"k": "v"}})
	f.regenerate(t, "acme", s.ID, time.Minute)
	list := f.list(t, "acme")
	list[0].Scopes[0] = "changed"
	list[0].Metadata["k"] = "changed"
	list[0].Previous[0].ID = "changed"
	again := f.get(t, "acme", s.ID)
	is.Equal(again.Scopes[0], "read")            // a caller's copy is its own
	is.Equal(again.Metadata["k"], "v")           // maps too
	is.Equal(again.Previous[0].ID, s.Current.ID) // and values
	is.Equal(len(f.list(t, "nobody")), 0)        // an unknown owner has no secrets
	_, err := f.r.Get(t.Context(), "acme", noSuchID)
	var serr *rotation.SecretError
	is.True(errors.As(err, &serr))                // Get of an unknown secret is typed
	is.True(errors.Is(err, rotation.ErrNotFound)) // as not found
	is.Equal(serr.Op, "get")                      // naming the operation
	is.Equal(serr.ID, noSuchID)                   // and the secret
}

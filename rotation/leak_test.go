package rotation_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/secrets"
)

// where is where the tests' leaks were seen.
var where = rotation.Leak{URL: "https://github.com/octo/app/blob/abc/config.yml", Source: "content"}

// leak reports key leaked under policy, or fails the test.
func (f *fixture) leak(t *testing.T, key secrets.Value, policy rotation.LeakPolicy) rotation.Leaked {
	t.Helper()
	got, err := f.r.ReportLeak(t.Context(), key.Reveal(), where, policy)
	if err != nil {
		t.Fatalf("report leak: %v", err)
	}
	return got
}

func TestReportLeakRevokesTheCurrentValue(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	k := f.create(t, "acme", rotation.Spec{Name: "ci"})
	f.seen()

	got := f.leak(t, k.Value, rotation.LeakRevoke)
	want := rotation.Leaked{Found: true, Owner: "acme", SecretID: k.ID, Hint: k.Current.Hint, Action: rotation.LeakRevoked}
	if d := diff(want, got); d != "" {
		t.Fatalf("the result (-want +got):\n%s", d)
	}
	is.True(errors.Is(f.auth(t, k.Value), rotation.ErrRevoked)) // the key stops working at once
	is.Equal(f.get(t, "acme", k.ID).Status, rotation.StatusRevoked)

	events := f.seen()
	wantEvents := []rotation.Event{
		{Kind: rotation.EventLeaked, Owner: "acme", SecretID: k.ID, Hint: k.Current.Hint, At: t0,
			Leak: rotation.Leak{URL: where.URL, Source: where.Source, Revoked: true}},
		{Kind: rotation.EventRevoked, Owner: "acme", SecretID: k.ID, Hint: k.Current.Hint, At: t0},
	}
	if d := diff(wantEvents, events); d != "" {
		t.Errorf("the events (-want +got):\n%s", d)
	}
}

func TestReportLeakReportOnlyKeepsTheKey(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	k := f.create(t, "acme", rotation.Spec{})
	f.seen()
	before := f.version(t, "acme")

	got := f.leak(t, k.Value, rotation.LeakReportOnly)
	is.True(got.Found)                         // a true positive
	is.Equal(got.Action, rotation.LeakKept)    // kept, as asked
	is.NoErr(f.auth(t, k.Value))               // the key works on
	is.Equal(f.version(t, "acme"), before)     // and nothing was saved
	is.Equal(f.store.lookups.Load(), int64(0)) // a cached owner's key costs no lookup
	events := f.seen()
	is.Equal(kinds(events), []rotation.EventKind{rotation.EventLeaked}) // one event, that says so
	is.Equal(events[0].Leak, where)                                     // with Revoked false
}

// A previous value still in grace has its window ended; the value the
// customer rotated to works on.
func TestReportLeakOfAPreviousValueEndsItsWindow(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	k := f.create(t, "acme", rotation.Spec{})
	reg := f.regenerate(t, "acme", k.ID, time.Hour)
	f.clock.Advance(time.Minute)
	f.seen()

	got := f.leak(t, k.Value, rotation.LeakRevoke)
	want := rotation.Leaked{Found: true, Owner: "acme", SecretID: k.ID, Hint: k.Current.Hint, Previous: true, Action: rotation.LeakGraceEnded}
	if d := diff(want, got); d != "" {
		t.Fatalf("the result (-want +got):\n%s", d)
	}
	is.True(errors.Is(f.auth(t, k.Value), rotation.ErrInvalidKey)) // the leaked value is dead
	is.NoErr(f.auth(t, reg.Value))                                 // the current one works
	s := f.get(t, "acme", k.ID)
	is.Equal(s.Status, rotation.StatusActive) // the secret is not revoked
	is.Equal(len(s.Previous), 0)              // and keeps no window

	now := t0.Add(time.Minute)
	events := f.seen()
	is.Equal(kinds(events), []rotation.EventKind{rotation.EventLeaked, rotation.EventGraceEnded}) // no revocation, and the window's end
	is.Equal(events[1].OldHint, k.Current.Hint)                                                   // of the leaked value
	is.True(events[1].OldExpiresAt.Equal(now))
	e := events[0]
	is.Equal(e.Hint, reg.Current.Hint)                              // the current value's hint
	is.Equal(e.OldHint, k.Current.Hint)                             // and the leaked one's
	is.True(e.OldExpiresAt.Equal(now))                              // which stopped now
	is.True(e.Leak.Revoked)                                         // ended because of the report
	is.Equal(len(e.CutShort), 1)                                    // its window, listed as cut
	is.Equal(e.CutShort[0].Value.Hint, k.Current.Hint)              //
	is.True(e.CutShort[0].Value.ExpiresAt.Equal(t0.Add(time.Hour))) // where it was to end

	// rotor keeps nothing of a value whose window is over: a second report
	// of it cannot be told from a key never issued.
	again := f.leak(t, k.Value, rotation.LeakRevoke)
	is.True(!again.Found)
}

func TestReportLeakOfAPreviousValueReportOnly(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	k := f.create(t, "acme", rotation.Spec{})
	f.regenerate(t, "acme", k.ID, time.Hour)
	f.seen()
	got := f.leak(t, k.Value, rotation.LeakReportOnly)
	is.True(got.Found && got.Previous)      // found, as a previous value
	is.Equal(got.Action, rotation.LeakKept) // and kept
	is.NoErr(f.auth(t, k.Value))            // it works until its window ends
	events := f.seen()
	is.Equal(kinds(events), []rotation.EventKind{rotation.EventLeaked})
	is.Equal(events[0].OldHint, k.Current.Hint)              // naming the value
	is.True(events[0].OldExpiresAt.Equal(t0.Add(time.Hour))) // and its window's end
	is.Equal(len(events[0].CutShort), 0)                     // cut short by nothing
}

// A value that had stopped working is a true positive all the same, and
// nothing is done.
func TestReportLeakOfAnEndedKey(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, f *fixture, k *rotation.Issued) secrets.Value
	}{
		{"revoked", func(t *testing.T, f *fixture, k *rotation.Issued) secrets.Value {
			if err := f.r.Revoke(t.Context(), "acme", k.ID); err != nil {
				t.Fatal(err)
			}
			return k.Value
		}},
		{"expired", func(t *testing.T, f *fixture, k *rotation.Issued) secrets.Value {
			f.clock.Set(t0.Add(2 * time.Hour))
			return k.Value
		}},
		{"previous value past its window, not yet dropped", func(t *testing.T, f *fixture, k *rotation.Issued) secrets.Value {
			f.regenerate(t, "acme", k.ID, time.Minute)
			f.clock.Advance(time.Minute)
			return k.Value
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, nil)
			k := f.create(t, "acme", rotation.Spec{ExpiresAt: t0.Add(time.Hour)})
			key := tt.setup(t, f, k)
			f.seen()
			before := f.version(t, "acme")
			for _, policy := range []rotation.LeakPolicy{rotation.LeakRevoke, rotation.LeakReportOnly} {
				got := f.leak(t, key, policy)
				is.True(got.Found)                         // a true positive
				is.Equal(got.Action, rotation.LeakNothing) // with nothing to do
			}
			is.Equal(f.version(t, "acme"), before) // nothing saved
			events := f.seen()
			is.Equal(kinds(events), []rotation.EventKind{rotation.EventLeaked, rotation.EventLeaked})
			is.True(!events[0].Leak.Revoked) // nothing ended by the report
		})
	}
}

// What is not a key of any format is a false positive decided offline.
func TestReportLeakFalsePositivesOffline(t *testing.T) {
	f := newFixture(t, nil)
	good := f.create(t, "acme", rotation.Spec{}).Value.Reveal()
	webhook, err := secrets.Webhook.Generate()
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]string{
		"empty":            "",
		"bad checksum":     good[:len(good)-1] + string(good[len(good)-1]^1),
		"truncated":        good[:len(good)-1],
		"another shape":    "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB",
		"a webhook secret": webhook.Reveal(),
		"quoted":           `"` + good + `"`,
		"random text":      "correct horse battery staple",
	} {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			fresh, err := rotation.New(f.store, &rotation.Options{Now: f.clock.Now})
			is.NoErr(err)
			before := f.store.lookups.Load()
			got, err := fresh.ReportLeak(t.Context(), key, where, rotation.LeakRevoke)
			is.NoErr(err)
			is.Equal(got, rotation.Leaked{})         // a false positive
			is.Equal(f.store.lookups.Load(), before) // with no lookup
		})
	}
	is.New(t).NoErr(f.auth(t, secrets.NewValue(good))) // and the real key untouched
}

// Well-formed keys no secret holds are looked up within the bounds
// Authenticate keeps: each once per MissTTL, and at most MaxMissLookups
// a second.
func TestReportLeakOfUnknownKeysIsBounded(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, func(o *rotation.Options) { o.Cache.MaxMissLookups = 3 })
	unknown := func() string {
		v, err := rotation.DefaultFormat.Generate()
		is.NoErr(err)
		return v.Reveal()
	}
	key := unknown()
	for range 5 {
		got, err := f.r.ReportLeak(t.Context(), key, where, rotation.LeakRevoke)
		is.NoErr(err)
		is.True(!got.Found) // a false positive
	}
	is.Equal(f.store.lookups.Load(), int64(1)) // looked up once, then remembered

	var overloaded int
	for range 10 {
		_, err := f.r.ReportLeak(t.Context(), unknown(), where, rotation.LeakRevoke)
		if errors.Is(err, rotation.ErrOverloaded) {
			overloaded++
			is.True(strings.Contains(err.Error(), "report leak")) // saying what was refused
		} else {
			is.NoErr(err)
		}
	}
	is.Equal(f.store.lookups.Load(), int64(3)) // the cap holds
	is.Equal(overloaded, 8)                    // and the rest are to be retried
}

// A leak ends even the designated secret: a value in public signs for
// anyone. The designation moves to another secret that can sign.
func TestReportLeakRevokesTheDesignatedSecret(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	first := f.create(t, "acme", rotation.Spec{HMAC: true})
	second := f.create(t, "acme", rotation.Spec{HMAC: true})
	is.True(f.get(t, "acme", first.ID).Signing)
	f.seen()

	got := f.leak(t, first.Value, rotation.LeakRevoke)
	is.Equal(got.Action, rotation.LeakRevoked)
	is.True(errors.Is(f.auth(t, first.Value), rotation.ErrRevoked)) // revoked
	is.True(f.get(t, "acme", second.ID).Signing)                    // the other signs now
	events := f.seen()
	is.Equal(kinds(events), []rotation.EventKind{rotation.EventLeaked, rotation.EventRevoked, rotation.EventDesignated})
	is.Equal(events[2].SecretID, second.ID)
	is.Equal(events[2].PreviousID, first.ID)
}

// What a report says of where the key was seen reaches events and logs,
// so it never carries the key and never floods them.
func TestReportLeakCleansWhere(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	k := f.create(t, "acme", rotation.Spec{})
	f.seen()
	key := k.Value.Reveal()
	seen := rotation.Leak{URL: "https://gist.example/raw?k=" + key + "&" + strings.Repeat("é", 2000), Source: key + strings.Repeat("x", 100)}
	_, err := f.r.ReportLeak(t.Context(), key, seen, rotation.LeakReportOnly)
	is.NoErr(err)
	e := f.seen()[0]
	is.True(!strings.Contains(e.Leak.URL, key))                                      // the key is not repeated
	is.True(strings.HasPrefix(e.Leak.URL, "https://gist.example/raw?k=[REDACTED]&")) // the rest is
	is.True(len(e.Leak.URL) <= 2048 && len(e.Leak.Source) <= 64)                     // within bounds
	is.True(!strings.Contains(e.Leak.Source, key))
	is.True(strings.ToValidUTF8(e.Leak.URL, "") == e.Leak.URL) // cut between runes
}

func TestReportLeakRefusesAnUnknownPolicy(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	k := f.create(t, "acme", rotation.Spec{})
	_, err := f.r.ReportLeak(t.Context(), k.Value.Reveal(), where, rotation.LeakPolicy(7))
	is.True(errors.Is(err, rotation.ErrValidation)) // refused
	is.NoErr(f.auth(t, k.Value))                    // and nothing done
	is.Equal(rotation.LeakPolicy(7).String(), "unknown")
	is.Equal(rotation.LeakRevoke.String(), "revoke")
	is.Equal(rotation.LeakReportOnly.String(), "report only")
	is.Equal(rotation.LeakGraceEnded.String(), "grace ended")
}

// A key found in a stale cached copy is ended as the store holds it: here
// another Rotator revoked it first, so the report does nothing more.
func TestReportLeakReadsTheStoreBeforeChanging(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	k := f.create(t, "acme", rotation.Spec{})
	is.NoErr(f.auth(t, k.Value)) // cached here
	is.NoErr(f.fresh(t).Revoke(t.Context(), "acme", k.ID))
	f.seen()
	got := f.leak(t, k.Value, rotation.LeakRevoke)
	is.True(got.Found)                         // a true positive
	is.Equal(got.Action, rotation.LeakNothing) // already revoked, elsewhere
	events := f.seen()
	is.Equal(kinds(events), []rotation.EventKind{rotation.EventLeaked}) // no second revocation
	is.True(!events[0].Leak.Revoked)
}

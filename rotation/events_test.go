package rotation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
)

func TestEvents(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	var got []rotation.Event
	f := newFixture(t, func(o *rotation.Options) {
		o.Observer = func(_ context.Context, e rotation.Event) { got = append(got, e) }
	})
	a := f.create(t, "acme", rotation.Spec{})
	b := f.create(t, "acme", rotation.Spec{})
	f.clock.Advance(time.Second)
	reg, err := f.r.Regenerate(ctx, "acme", a.ID, time.Minute)
	is.NoErr(err)
	is.NoErr(f.r.SetSigning(ctx, "acme", b.ID))
	is.NoErr(f.r.Revoke(ctx, "acme", a.ID))
	is.NoErr(f.r.Delete(ctx, "acme", reg.ID))
	_, err = f.r.Regenerate(ctx, "acme", b.ID, 0)
	is.NoErr(err)

	t1 := t0.Add(time.Second)
	want := []rotation.Event{
		{Kind: rotation.EventCreated, Owner: "acme", SecretID: a.ID, Hint: a.Hint, At: t0},
		{Kind: rotation.EventDesignated, Owner: "acme", SecretID: a.ID, Hint: a.Hint, At: t0},
		{Kind: rotation.EventCreated, Owner: "acme", SecretID: b.ID, Hint: b.Hint, At: t0},
		{Kind: rotation.EventRegenerated, Owner: "acme", SecretID: reg.ID, PreviousID: a.ID, Hint: reg.Hint, At: t1, OldExpiresAt: t1.Add(time.Minute)},
		{Kind: rotation.EventDesignated, Owner: "acme", SecretID: reg.ID, PreviousID: a.ID, Hint: reg.Hint, At: t1},
		{Kind: rotation.EventDesignated, Owner: "acme", SecretID: b.ID, PreviousID: reg.ID, Hint: b.Hint, At: t1},
		{Kind: rotation.EventRevoked, Owner: "acme", SecretID: a.ID, Hint: a.Hint, At: t1},
		{Kind: rotation.EventDeleted, Owner: "acme", SecretID: reg.ID, Hint: reg.Hint, At: t1},
	}
	if d := diff(want, got[:len(want)]); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	last := got[len(want)]
	is.Equal(last.Kind, rotation.EventRegenerated) // a grace-0 regeneration is reported
	is.True(last.OldExpiresAt.IsZero())            // with no window
	is.Equal(len(got), len(want)+2)                // and the designation moving with it
}

func TestLogEvents(t *testing.T) {
	is := is.New(t)
	var buf bytes.Buffer
	log := rotation.LogEvents(slog.New(slog.NewJSONHandler(&buf, nil)))
	log(t.Context(), rotation.Event{
		Kind: rotation.EventRegenerated, Owner: "acme", SecretID: "sec_new", PreviousID: "sec_old",
		Hint: "x9Zq", At: t0, OldExpiresAt: t0.Add(time.Minute), CutShort: []string{"sec_older"},
	})
	var line struct {
		Msg   string
		Event map[string]any
	}
	is.NoErr(json.Unmarshal(buf.Bytes(), &line)) // one JSON record
	is.Equal(line.Msg, "rotor: secret regenerated")
	want := map[string]any{
		"kind": "regenerated", "owner": "acme", "secret": "sec_new", "previous": "sec_old", "hint": "x9Zq",
		"old_expires_at": "2026-11-23T09:01:00Z", "cut_short": []any{"sec_older"}, "at": "2026-11-23T09:00:00Z",
	}
	if d := diff(want, line.Event); d != "" {
		t.Errorf("logged event (-want +got):\n%s", d)
	}
}

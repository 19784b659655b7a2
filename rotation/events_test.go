package rotation_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/secrets"
)

func TestEvents(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	f := newFixture(t, func(o *rotation.Options) { o.Policy.MaxInGrace = 1 })
	a := f.create(t, "acme", rotation.Spec{HMAC: true})
	b := f.create(t, "acme", rotation.Spec{Format: secrets.Webhook})
	t1 := f.clock.Advance(time.Second)
	r1 := f.regenerate(t, "acme", a.ID, time.Minute)
	r2 := f.regenerate(t, "acme", a.ID, 0)
	_, err := f.r.Update(ctx, "acme", a.ID, func(x *rotation.Attributes) { x.Name = "renamed" })
	is.NoErr(err)
	is.NoErr(f.r.SetSigning(ctx, "acme", b.ID))
	is.NoErr(f.r.Revoke(ctx, "acme", a.ID))
	is.NoErr(f.r.Delete(ctx, "acme", a.ID))
	t2 := f.clock.Advance(time.Second)
	rb := f.regenerate(t, "acme", b.ID, time.Hour)
	c := f.create(t, "acme", rotation.Spec{})
	rc := f.regenerate(t, "acme", c.ID, time.Minute) // cuts b's window: one in grace at most
	is.NoErr(f.r.DeleteOwner(ctx, "acme"))

	hint := func(s *rotation.Issued) string { return s.Current.Hint }
	want := []rotation.Event{
		{Kind: rotation.EventCreated, Owner: "acme", SecretID: a.ID, Hint: hint(a), At: t0},
		{Kind: rotation.EventDesignated, Owner: "acme", SecretID: a.ID, Hint: hint(a), At: t0},
		{Kind: rotation.EventCreated, Owner: "acme", SecretID: b.ID, Hint: hint(b), At: t0},
		{Kind: rotation.EventRegenerated, Owner: "acme", SecretID: a.ID, Hint: hint(&r1.Issued), At: t1, OldHint: hint(a), OldExpiresAt: t1.Add(time.Minute)},
		{Kind: rotation.EventRegenerated, Owner: "acme", SecretID: a.ID, Hint: hint(&r2.Issued), At: t1, OldHint: hint(&r1.Issued), OldExpiresAt: t1},
		{Kind: rotation.EventUpdated, Owner: "acme", SecretID: a.ID, Hint: hint(&r2.Issued), At: t1},
		{Kind: rotation.EventDesignated, Owner: "acme", SecretID: b.ID, PreviousID: a.ID, Hint: hint(b), At: t1},
		{Kind: rotation.EventRevoked, Owner: "acme", SecretID: a.ID, Hint: hint(&r2.Issued), At: t1},
		{Kind: rotation.EventDeleted, Owner: "acme", SecretID: a.ID, Hint: hint(&r2.Issued), At: t1},
		{Kind: rotation.EventRegenerated, Owner: "acme", SecretID: b.ID, Hint: hint(&rb.Issued), At: t2, OldHint: hint(b), OldExpiresAt: t2.Add(time.Hour)},
		{Kind: rotation.EventCreated, Owner: "acme", SecretID: c.ID, Hint: hint(c), At: t2},
		{
			Kind: rotation.EventRegenerated, Owner: "acme", SecretID: c.ID, Hint: hint(&rc.Issued), At: t2, OldHint: hint(c), OldExpiresAt: t2.Add(time.Minute),
			CutShort: []rotation.Cut{{SecretID: b.ID, Value: rb.Old}},
		},
		// The window cut short ends like any other, in the save that cut it.
		{Kind: rotation.EventGraceEnded, Owner: "acme", SecretID: b.ID, Hint: hint(&rb.Issued), At: t2, OldHint: hint(b), OldExpiresAt: t2},
		{Kind: rotation.EventOwnerDeleted, Owner: "acme", At: t2, Count: 2},
	}
	if d := diff(want, f.seen()); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	is.Equal(rc.CutShort, []rotation.Cut{{SecretID: b.ID, Value: rb.Old}}) // the event's cuts are the result's
}

func TestEventKindString(t *testing.T) {
	is := is.New(t)
	want := map[rotation.EventKind]string{
		rotation.EventCreated:         "created",
		rotation.EventRegenerated:     "regenerated",
		rotation.EventUpdated:         "updated",
		rotation.EventRevoked:         "revoked",
		rotation.EventDeleted:         "deleted",
		rotation.EventDesignated:      "designated",
		rotation.EventOwnerDeleted:    "owner deleted",
		rotation.EventExpiringSoon:    "expiring soon",
		rotation.EventGraceEndingSoon: "grace ending soon",
		rotation.EventGraceEnded:      "grace ended",
		rotation.EventExpired:         "expired",
		rotation.EventLeaked:          "leaked",
		0:                             "unknown",
	}
	for k, s := range want {
		is.Equal(k.String(), s) // every kind has its name
	}
}

func TestLogEvents(t *testing.T) {
	tests := []struct {
		name  string
		event rotation.Event
		msg   string
		want  map[string]any
	}{
		{
			name: "regenerated with a cut",
			event: rotation.Event{
				Kind: rotation.EventRegenerated, Owner: "acme", SecretID: "sec_a", Hint: "x9Zq", At: t0,
				OldHint: "Ab12", OldExpiresAt: t0.Add(time.Minute),
				CutShort: []rotation.Cut{{SecretID: "sec_b", Value: rotation.ValueInfo{ID: "val_b", Hint: "Cd34", ExpiresAt: t0.Add(time.Hour)}}},
			},
			msg: "rotor: secret regenerated",
			want: map[string]any{
				"kind": "regenerated", "owner": "acme", "secret": "sec_a", "hint": "x9Zq",
				"old_hint": "Ab12", "old_expires_at": "2026-11-23T09:01:00Z",
				"cut_short": map[string]any{"0": map[string]any{"secret": "sec_b", "hint": "Cd34", "was_until": "2026-11-23T10:00:00Z"}},
				"at":        "2026-11-23T09:00:00Z",
			},
		},
		{
			name:  "designated",
			event: rotation.Event{Kind: rotation.EventDesignated, Owner: "acme", SecretID: "sec_b", PreviousID: "sec_a", Hint: "Cd34", At: t0},
			msg:   "rotor: secret designated",
			want: map[string]any{
				"kind": "designated", "owner": "acme", "secret": "sec_b", "previous": "sec_a", "hint": "Cd34", "at": "2026-11-23T09:00:00Z",
			},
		},
		{
			name:  "owner deleted",
			event: rotation.Event{Kind: rotation.EventOwnerDeleted, Owner: "acme", At: t0, Count: 3},
			msg:   "rotor: owner deleted",
			want:  map[string]any{"kind": "owner deleted", "owner": "acme", "count": float64(3), "at": "2026-11-23T09:00:00Z"},
		},
		{
			name: "expiring soon",
			event: rotation.Event{
				Kind: rotation.EventExpiringSoon, Owner: "acme", SecretID: "sec_a", Hint: "x9Zq", At: t0,
				Name: "deploys", ExpiresAt: t0.Add(7 * 24 * time.Hour), Lead: 7 * 24 * time.Hour,
			},
			msg: "rotor: secret expiring soon",
			want: map[string]any{
				"kind": "expiring soon", "owner": "acme", "secret": "sec_a", "hint": "x9Zq", "name": "deploys",
				"expires_at": "2026-11-30T09:00:00Z", "lead": float64(7 * 24 * time.Hour), "at": "2026-11-23T09:00:00Z",
			},
		},
		{
			name: "grace ended, used at its end",
			event: rotation.Event{
				Kind: rotation.EventGraceEnded, Owner: "acme", SecretID: "sec_a", Hint: "x9Zq", At: t0,
				Name: "deploys", OldHint: "Ab12", OldExpiresAt: t0, LastUsedAt: t0.Add(-time.Minute), UsedAtEnd: true,
			},
			msg: "rotor: secret grace ended",
			want: map[string]any{
				"kind": "grace ended", "owner": "acme", "secret": "sec_a", "hint": "x9Zq", "name": "deploys",
				"old_hint": "Ab12", "old_expires_at": "2026-11-23T09:00:00Z", "last_used_at": "2026-11-23T08:59:00Z",
				"used_at_end": true, "at": "2026-11-23T09:00:00Z",
			},
		},
		{
			name: "leaked",
			event: rotation.Event{
				Kind: rotation.EventLeaked, Owner: "acme", SecretID: "sec_a", Hint: "x9Zq", At: t0,
				Leak: rotation.Leak{URL: "https://github.com/o/r/blob/x/f", Source: "content", Revoked: true},
			},
			msg: "rotor: secret leaked",
			want: map[string]any{
				"kind": "leaked", "owner": "acme", "secret": "sec_a", "hint": "x9Zq",
				"url": "https://github.com/o/r/blob/x/f", "source": "content", "revoked": true, "at": "2026-11-23T09:00:00Z",
			},
		},
		{
			name: "leaked previous value",
			event: rotation.Event{
				Kind: rotation.EventLeaked, Owner: "acme", SecretID: "sec_a", Hint: "x9Zq", At: t0,
				OldHint: "Ab12", OldExpiresAt: t0,
				CutShort: []rotation.Cut{{SecretID: "sec_a", Value: rotation.ValueInfo{ID: "val_a", Hint: "Ab12", ExpiresAt: t0.Add(time.Hour)}}},
				Leak:     rotation.Leak{URL: "https://github.com/o/r/blob/x/f", Source: "commit", Revoked: true},
			},
			msg: "rotor: secret leaked",
			want: map[string]any{
				"kind": "leaked", "owner": "acme", "secret": "sec_a", "hint": "x9Zq",
				"cut_short": map[string]any{"0": map[string]any{"secret": "sec_a", "hint": "Ab12", "was_until": "2026-11-23T10:00:00Z"}},
				"old_hint":  "Ab12", "old_expires_at": "2026-11-23T09:00:00Z",
				"url": "https://github.com/o/r/blob/x/f", "source": "commit", "revoked": true, "at": "2026-11-23T09:00:00Z",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			var buf bytes.Buffer
			rotation.LogEvents(slog.New(slog.NewJSONHandler(&buf, nil)))(t.Context(), tt.event)
			var line struct {
				Level string
				Msg   string
				Event map[string]any
			}
			is.NoErr(json.Unmarshal(buf.Bytes(), &line)) // one JSON record
			is.Equal(line.Level, "INFO")                 // at level Info
			is.Equal(line.Msg, tt.msg)                   // under the kind's message
			if d := diff(tt.want, line.Event); d != "" {
				t.Errorf("logged event (-want +got):\n%s", d)
			}
		})
	}
}

// An event that cut several windows logs every one of them, in a record
// that a JSON reader decodes without losing any.
func TestLogEventsKeepsEveryCut(t *testing.T) {
	is := is.New(t)
	var buf bytes.Buffer
	rotation.LogEvents(slog.New(slog.NewJSONHandler(&buf, nil)))(t.Context(), rotation.Event{
		Kind: rotation.EventRegenerated, Owner: "acme", SecretID: "sec_a", At: t0,
		CutShort: []rotation.Cut{
			{SecretID: "sec_b", Value: rotation.ValueInfo{ID: "val_b", Hint: "Bb12"}},
			{SecretID: "sec_c", Value: rotation.ValueInfo{ID: "val_c", Hint: "Cc34"}},
		},
	})
	var record map[string]any
	is.NoErr(json.Unmarshal(buf.Bytes(), &record)) // one JSON record
	decoded, err := json.Marshal(record)
	is.NoErr(err)
	is.True(bytes.Contains(decoded, []byte(`"sec_b"`))) // the first cut survives decoding
	is.True(bytes.Contains(decoded, []byte(`"sec_c"`))) // and so does the second
}

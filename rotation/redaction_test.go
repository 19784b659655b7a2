package rotation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/secrets/secretstest"
)

// TestRedaction formats and encodes every exported type that holds or
// follows from a secret, every way Go can, and looks for the secret.
func TestRedaction(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var events []rotation.Event
	f := newFixture(t, func(o *rotation.Options) {
		o.Logger = logger
		o.Observer = func(ctx context.Context, e rotation.Event) {
			events = append(events, e)
			rotation.LogEvents(logger)(ctx, e)
		}
	})
	ctx := t.Context()
	iss := f.create(t, "acme", rotation.Spec{HMAC: true})
	reg, err := f.r.Regenerate(ctx, "acme", iss.ID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.r.Authenticate(ctx, reg.Value.Reveal(), rotation.Request{})
	if err != nil {
		t.Fatal(err)
	}
	list, err := f.r.List(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	_, authErr := f.r.Authenticate(ctx, iss.Value.Reveal()+"x", rotation.Request{})
	// Callers paste keys where ids belong; the refusal must not repeat them.
	_, getErr := f.r.Get(ctx, "acme", reg.Value.Reveal())
	deleteErr := f.r.Delete(ctx, "acme", iss.Value.Reveal())

	subjects := map[string]any{
		"*Issued":     iss,
		"Issued":      *iss,
		"Regenerated": reg,
		"Principal":   p,
		"[]Secret":    list,
		"Events":      events,
		"AuthError":   authErr,
		"GetError":    getErr,
		"DeleteError": deleteErr,
	}
	values := []string{iss.Value.Reveal(), reg.Value.Reveal()}
	for _, v := range values[:2] {
		// A dump of a struct would show the body between prefix and checksum.
		values = append(values, v[8:40])
	}
	for name, subject := range subjects {
		t.Run(name, func(t *testing.T) {
			var out []string
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
				out = append(out, fmt.Sprintf(verb, subject))
			}
			if b, err := json.Marshal(subject); err == nil {
				out = append(out, string(b))
			}
			var buf bytes.Buffer
			slog.New(slog.NewTextHandler(&buf, nil)).Info("m", "v", subject)
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("m", "v", subject)
			out = append(out, buf.String())
			for _, o := range out {
				secretstest.NoLeak(t, o, values...) // no secret material in any output
			}
		})
	}
	t.Run("logs", func(t *testing.T) {
		is := is.New(t)
		is.True(logs.Len() > 0)                         // events were logged
		secretstest.NoLeak(t, logs.String(), values...) // with no secret material
	})
	t.Run("json refuses values", func(t *testing.T) {
		is := is.New(t)
		_, err := json.Marshal(iss)
		is.True(err != nil) // encoding a result with its value fails loudly instead of leaking
	})
}

package outage_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/internal/outage"
	"github.com/rotorkit/rotor/secrets/secretstest"
)

func TestTracker(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	logs := &secretstest.Logs{}
	tr := &outage.Tracker{Logger: slog.New(slog.NewTextHandler(logs, nil)), Down: "down", Up: "up"}

	probe, skip := tr.Begin()
	is.True(!probe && !skip) // while up, every call tries the backend
	tr.End(ctx, probe, nil)
	is.Equal(tr.Failures(), uint64(0))

	probe, skip = tr.Begin()
	tr.End(ctx, probe, errors.New("connection refused"))
	is.True(tr.IsDown())               // a failure begins an outage
	is.Equal(tr.Failures(), uint64(1)) // counted

	probe, skip = tr.Begin()
	is.True(probe && !skip) // then one call tries the backend
	_, skipOther := tr.Begin()
	is.True(skipOther)                 // while the others do not
	is.Equal(tr.Failures(), uint64(2)) // and count as failed
	tr.End(ctx, probe, errors.New("connection refused"))
	is.Equal(tr.Failures(), uint64(3))

	probe, _ = tr.Begin()
	is.True(probe) // the probe's turn passed on
	tr.Abandon(probe)
	is.True(tr.IsDown()) // a call abandoned says nothing of the backend
	probe, _ = tr.Begin()
	is.True(probe) // and passes its turn on
	tr.End(ctx, probe, nil)
	is.True(!tr.IsDown()) // an answer ends the outage
	probe, skip = tr.Begin()
	is.True(!probe && !skip) // and every call tries the backend again

	is.Equal(strings.Count(logs.String(), "level=WARN msg=down err=\"connection refused\""), 1) // one record for the outage
	is.Equal(strings.Count(logs.String(), "level=INFO msg=up failures=3"), 1)                   // and one for its end
}

func TestTrackerZeroValue(t *testing.T) {
	var tr outage.Tracker
	tr.End(t.Context(), false, errors.New("down")) // logs nowhere, without panicking
	tr.End(t.Context(), false, nil)
	if tr.Failures() != 1 || tr.IsDown() {
		t.Errorf("Failures %d, IsDown %v; want 1, false", tr.Failures(), tr.IsDown())
	}
}

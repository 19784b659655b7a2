package outage_test

import (
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
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

// TestTrackerConcurrent runs calls from 32 goroutines through an outage
// and its end, with readers of the counts beside them: at most one call
// at a time tries the backend while it is down, every call it did not
// answer is counted once, and each edge is logged once.
func TestTrackerConcurrent(t *testing.T) {
	ctx := t.Context()
	logs := &secretstest.Logs{}
	tr := &outage.Tracker{Logger: slog.New(slog.NewTextHandler(logs, nil)), Down: "down", Up: "up"}
	errDown := errors.New("connection refused")
	var probing, unanswered atomic.Int64 // probes in flight; calls the backend did not answer
	var overlap atomic.Bool
	phase := func(up bool) {
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() {
				for range 200 {
					probe, skip := tr.Begin()
					if skip {
						unanswered.Add(1)
						continue
					}
					if probe && probing.Add(1) > 1 {
						overlap.Store(true)
					}
					runtime.Gosched() // the call to the backend, a while
					var err error
					if !up {
						err = errDown
						unanswered.Add(1)
					}
					if probe {
						probing.Add(-1)
					}
					tr.End(ctx, probe, err)
				}
			})
			wg.Go(func() { // readers, as a metrics endpoint is
				for range 200 {
					_, _ = tr.Failures(), tr.IsDown()
				}
			})
		}
		wg.Wait()
	}

	phase(false)
	if !tr.IsDown() {
		t.Fatal("not down after every call failed")
	}
	phase(true)
	if tr.IsDown() {
		t.Fatal("still down after the backend answered")
	}
	if overlap.Load() {
		t.Error("two calls tried the backend at once while it was down")
	}
	if got, want := tr.Failures(), uint64(unanswered.Load()); got != want {
		t.Errorf("Failures = %d; %d calls were not answered", got, want)
	}
	if n := strings.Count(logs.String(), "msg=down"); n != 1 {
		t.Errorf("the outage is logged %d times; want once", n)
	}
	if n := strings.Count(logs.String(), "msg=up"); n != 1 {
		t.Errorf("its end is logged %d times; want once", n)
	}
}

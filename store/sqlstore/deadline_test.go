package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/sqlstore"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// deadlineCalls is how many calls each deadline test makes, each with a
// deadline of its own.
const deadlineCalls = 150

// deadlineSpread returns the deadline of call i of n, a fraction of
// typical. Every third call takes the next step of an even spread from
// 10% to 150%, so that some calls end before the save begins, some during
// it and some after it; the others step evenly from 80% to 120%, densely
// about the end of a typical call, where its COMMIT runs and an answer
// gets lost.
func deadlineSpread(typical time.Duration, i, n int) time.Duration {
	step := func(j, m int, from, to float64) float64 {
		if m < 2 {
			return from
		}
		return from + (to-from)*float64(j)/float64(m-1)
	}
	wide := (n + 2) / 3 // calls 0, 3, 6, …
	var frac float64
	if i%3 == 0 {
		frac = step(i/3, wide, 0.1, 1.5)
	} else {
		frac = step(i-i/3-1, n-wide, 0.8, 1.2)
	}
	return time.Duration(frac * float64(typical))
}

// pacer tells how long a call takes now: the median of the latest calls
// made without a deadline, so that deadlines follow the machine's pace as
// it drifts during a run.
type pacer struct {
	recent []time.Duration // the latest, at most pacerWindow
	lo, hi time.Duration   // the least and greatest pace given
}

const pacerWindow = 15

// run times op, then runs after, if not nil, untimed.
func (p *pacer) run(t *testing.T, op, after func() error) {
	t.Helper()
	d := p.call(t, op, after)
	if len(p.recent) == pacerWindow {
		p.recent = p.recent[1:]
	}
	p.recent = append(p.recent, d)
}

// warm runs op and after without counting the time. A call stopped by its
// deadline closes its connection, and the next one would dial a new
// connection and prepare its statements there, far slower than a typical
// call: warm runs that call.
func (p *pacer) warm(t *testing.T, op, after func() error) {
	t.Helper()
	p.call(t, op, after)
}

func (p *pacer) call(t *testing.T, op, after func() error) time.Duration {
	t.Helper()
	start := time.Now()
	err := op()
	d := time.Since(start)
	if err == nil && after != nil {
		err = after()
	}
	if err != nil {
		t.Fatalf("a call without a deadline: %v", err)
	}
	return d
}

// typical returns the median of the recent durations.
func (p *pacer) typical() time.Duration {
	ds := slices.Sorted(slices.Values(p.recent))
	m := ds[len(ds)/2]
	if p.lo == 0 || m < p.lo {
		p.lo = m
	}
	p.hi = max(p.hi, m)
	return m
}

// readBacks counts what the Rotator logs about read-backs after saves
// whose answers were lost: those that found the save committed, and
// those that could not tell. It is a slog.Handler, safe for concurrent
// use.
type readBacks struct {
	committed, unknown atomic.Int64
}

func (h *readBacks) Enabled(context.Context, slog.Level) bool { return true }

func (h *readBacks) Handle(_ context.Context, r slog.Record) error {
	switch {
	case strings.Contains(r.Message, "had committed"):
		h.committed.Add(1)
	case strings.Contains(r.Message, "cannot read back"):
		h.unknown.Add(1)
	}
	return nil
}

func (h *readBacks) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *readBacks) WithGroup(string) slog.Handler      { return h }

// deadlineTally counts the outcomes of calls made with deadlines.
type deadlineTally struct {
	failed, succeeded, late int
}

// log reports the tally, also when a check failed.
func (c *deadlineTally) log(t *testing.T, op string, pace *pacer, rb *readBacks) {
	t.Logf("%s: %d calls with deadlines of 10%%..150%% (densely 80%%..120%%) of a typical call (%v..%v): %d failed, %d succeeded, %d of them after their deadline; read-backs found %d saves committed, %d unknown",
		op, c.failed+c.succeeded, pace.lo, pace.hi, c.failed, c.succeeded, c.late, rb.committed.Load(), rb.unknown.Load())
}

// check fails t if no call ended in the window where a deadline matters:
// then the run proved nothing about lost answers.
func (c *deadlineTally) check(t *testing.T, op string) {
	t.Helper()
	if c.failed == 0 && c.late == 0 {
		t.Fatalf("%s: no call was stopped by its deadline, nor succeeded past it: the run tested nothing; widen the spread", op)
	}
}

// loadFresh loads the owner's keyset with a context of its own, as an
// observer after the call would.
func loadFresh(t *testing.T, s *sqlstore.Store, owner string) store.Keyset {
	t.Helper()
	ks, err := s.Load(t.Context(), owner)
	if err != nil {
		t.Fatalf("load %s after the call: %v", owner, err)
	}
	return ks
}

// savesTold counts the saves of one owner that callers were told of, and
// checks that the stored version counts no more: a save that a failed
// call made would show there, even if it became visible only after the
// call's own check.
type savesTold struct {
	version int64 // the version the saves told of make
	failed  int   // the last call that failed, or -1
}

// check fails t unless ks is at the version the saves told of make.
func (v *savesTold) check(t *testing.T, ks store.Keyset, when string) {
	t.Helper()
	if ks.Version == v.version {
		return
	}
	blame := ""
	if v.failed >= 0 {
		blame = fmt.Sprintf("; call %d was the last to fail", v.failed)
	}
	t.Fatalf("%s: the owner is at version %d, but the saves callers were told of make %d: a call that failed saved%s",
		when, ks.Version, v.version, blame)
}

// TestDeadlineRegenerate regenerates one key with no grace over and over
// on PostgreSQL, each call with a deadline that may fire anywhere in it,
// COMMIT included, which once asked for finishes whatever the deadline
// does. Whatever the
// deadline did, what the caller was told must be what holds: a call that
// failed changed nothing (so the value the caller still holds was not
// revoked behind its back, with the new one never seen), and a call that
// succeeded left the value it returned current, even when the answer of
// its save was lost and the Rotator had to read back to find that it
// committed.
func TestDeadlineRegenerate(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	s := sqlstoretest.Postgres(t).Open(t)
	var rb readBacks
	rot, err := rotation.New(s, &rotation.Options{Logger: slog.New(&rb)})
	is.NoErr(err) // the Rotator is made
	const owner = "deadline-regenerate"
	iss, err := rot.Create(ctx, owner, rotation.Spec{Name: "regenerated"})
	is.NoErr(err) // the key is made
	id := iss.ID
	told := savesTold{version: 1, failed: -1}

	regenerate := func() error { // without a deadline: one save
		_, err := rot.Regenerate(ctx, owner, id, 0)
		if err == nil {
			told.version++
		}
		return err
	}
	var pace pacer
	for range pacerWindow {
		pace.run(t, regenerate, nil)
	}
	var tally deadlineTally
	defer tally.log(t, "Regenerate", &pace, &rb)
	for i := range deadlineCalls {
		pace.run(t, regenerate, nil)
		before := loadFresh(t, s, owner)
		told.check(t, before, fmt.Sprintf("before call %d", i))
		was := before.Keys[before.Find(id)].Current.ID

		d := deadlineSpread(pace.typical(), i, deadlineCalls)
		callCtx, cancel := context.WithTimeout(ctx, d)
		res, err := rot.Regenerate(callCtx, owner, id, 0)
		late := callCtx.Err() != nil
		cancel()

		after := loadFresh(t, s, owner)
		k := after.Find(id)
		if k < 0 {
			t.Fatalf("call %d (deadline %v): the key is gone", i, d)
		}
		cur := after.Keys[k].Current.ID
		if err != nil {
			tally.failed++
			told.failed = i
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("call %d (deadline %v) failed with %v, want only its deadline", i, d, err)
			}
			if cur != was {
				t.Fatalf("call %d (deadline %v) failed (%v), yet the key's current value went from %s to %s: the value its caller holds was revoked, and the new one never given",
					i, d, err, was, cur)
			}
			told.check(t, after, fmt.Sprintf("after call %d (deadline %v), which failed (%v)", i, d, err))
			pace.warm(t, regenerate, nil)
			continue
		}
		tally.succeeded++
		if late {
			tally.late++
		}
		told.version++
		if cur != res.Current.ID {
			t.Fatalf("call %d (deadline %v) succeeded with value %s, but the current value is %s", i, d, res.Current.ID, cur)
		}
		told.check(t, after, fmt.Sprintf("after call %d (deadline %v), which succeeded", i, d))
	}
	told.check(t, loadFresh(t, s, owner), "at the end")
	tally.check(t, "Regenerate")
}

// TestDeadlineCreate creates keys on PostgreSQL, each call with a
// deadline that may fire anywhere in it. A call that failed must leave no
// key behind (an orphan nobody was given would take one of the owner's
// slots for good), and one that succeeded must leave exactly its key: the
// owner's active keys are always those of the creates that succeeded.
// Each key made is deleted before the next call, so the limit of active
// keys is never what stops one.
func TestDeadlineCreate(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	s := sqlstoretest.Postgres(t).Open(t)
	var rb readBacks
	rot, err := rotation.New(s, &rotation.Options{Logger: slog.New(&rb)})
	is.NoErr(err) // the Rotator is made
	const owner = "deadline-create"
	spec := rotation.Spec{Name: "created"}
	first, err := rot.Create(ctx, owner, spec)
	is.NoErr(err)                                 // the owner is made, so every call below saves over a version
	is.NoErr(rot.Delete(ctx, owner, first.ID))    // and emptied
	is.Equal(len(loadFresh(t, s, owner).Keys), 0) // of keys
	told := savesTold{version: 2, failed: -1}

	var made string
	create := func() error { // without a deadline: one save
		iss, err := rot.Create(ctx, owner, spec)
		if err == nil {
			made = iss.ID
			told.version++
		}
		return err
	}
	remove := func() error { // one save
		err := rot.Delete(ctx, owner, made)
		if err == nil {
			told.version++
		}
		return err
	}
	var pace pacer
	for range pacerWindow {
		pace.run(t, create, remove)
	}
	var tally deadlineTally
	defer tally.log(t, "Create", &pace, &rb)
	for i := range deadlineCalls {
		pace.run(t, create, remove)
		before := loadFresh(t, s, owner)
		told.check(t, before, fmt.Sprintf("before call %d", i))
		if len(before.Keys) != 0 {
			t.Fatalf("before call %d: the owner has %d keys, %s among them, though every key made was deleted: an orphan of call %d that takes a slot",
				i, len(before.Keys), before.Keys[0].ID, told.failed)
		}

		d := deadlineSpread(pace.typical(), i, deadlineCalls)
		callCtx, cancel := context.WithTimeout(ctx, d)
		res, err := rot.Create(callCtx, owner, spec)
		late := callCtx.Err() != nil
		cancel()

		after := loadFresh(t, s, owner)
		if err != nil {
			tally.failed++
			told.failed = i
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("call %d (deadline %v) failed with %v, want only its deadline", i, d, err)
			}
			if len(after.Keys) != 0 {
				t.Fatalf("call %d (deadline %v) failed (%v), yet the owner has %d keys, %s among them: an orphan that takes a slot",
					i, d, err, len(after.Keys), after.Keys[0].ID)
			}
			told.check(t, after, fmt.Sprintf("after call %d (deadline %v), which failed (%v)", i, d, err))
			pace.warm(t, create, remove)
			continue
		}
		tally.succeeded++
		if late {
			tally.late++
		}
		told.version++
		if len(after.Keys) != 1 || after.Keys[0].ID != res.ID {
			t.Fatalf("call %d (deadline %v) succeeded with key %s, but the owner has %d keys", i, d, res.ID, len(after.Keys))
		}
		told.check(t, after, fmt.Sprintf("after call %d (deadline %v), which succeeded", i, d))
		made = res.ID
		if err := remove(); err != nil {
			t.Fatalf("deleting the key of call %d: %v", i, err)
		}
	}
	told.check(t, loadFresh(t, s, owner), "at the end")
	tally.check(t, "Create")
}

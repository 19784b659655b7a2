package hmacsign_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/secrets"
)

// snapshotSource is a KeySource the way rotation.Rotator is one: readers
// load an immutable snapshot, writers build a new one and swap it in.
type snapshotSource struct {
	snap atomic.Pointer[snapshot]
}

type snapshot struct {
	sign, verify []hmacsign.Key
}

func (s *snapshotSource) SigningKeys(context.Context, string) ([]hmacsign.Key, error) {
	return s.snap.Load().sign, nil
}

func (s *snapshotSource) VerifyingKeys(context.Context, string) ([]hmacsign.Key, error) {
	return s.snap.Load().verify, nil
}

func TestVerifyWhileKeysRotate(t *testing.T) {
	ctx := t.Context()
	stay := newKey(t, "stay", secretA, time.Time{})
	src := &snapshotSource{}
	src.snap.Store(&snapshot{sign: []hmacsign.Key{stay}, verify: []hmacsign.Key{stay}})
	now := fixed(t0)
	v := newVerifier(t, src, &hmacsign.VerifierOptions{Now: now})
	signer := hmacsign.NewSigner(src, &hmacsign.SignerOptions{Now: now})

	// The writer adds and removes a second key, in front of the first or
	// behind it, designated or not, until the readers are done. Each
	// snapshot gets fresh keys, as a rebuild from the store would.
	done := make(chan struct{})
	var swaps atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			stayCopy, err1 := hmacsign.NewKey("stay", secrets.NewValue(secretA), time.Time{})
			extra, err2 := hmacsign.NewKey(fmt.Sprint("extra_", i), secrets.NewValue(secretB), t0.Add(time.Minute))
			if err1 != nil || err2 != nil {
				panic("NewKey failed for a valid secret")
			}
			next := &snapshot{sign: []hmacsign.Key{stayCopy}, verify: []hmacsign.Key{stayCopy}}
			switch i % 4 {
			case 1:
				next = &snapshot{sign: []hmacsign.Key{extra, stayCopy}, verify: []hmacsign.Key{extra, stayCopy}}
			case 3:
				next = &snapshot{sign: []hmacsign.Key{stayCopy, extra}, verify: []hmacsign.Key{stayCopy, extra}}
			}
			src.snap.Store(next)
			swaps.Add(1)
		}
	})

	// Signed by the key that stays, whatever else the snapshot holds:
	// every verify must accept them.
	const readers, rounds = 4, 500
	var stayMsgs [readers][rounds]hmacsign.Message
	for r := range readers {
		for i := range rounds {
			stayMsgs[r][i] = sign(t, hmacsign.StaticKeys{stay}, nil, t0, fmt.Sprintf("msg_%d_%d", r, i), payload)
		}
	}
	var failures atomic.Int64
	var rg sync.WaitGroup
	for r := range readers {
		rg.Go(func() {
			for i := range rounds {
				m := stayMsgs[r][i]
				if got, err := v.Verify(ctx, "owner", m); err != nil || got != "stay" {
					failures.Add(1)
				}
				// Signed by whatever the snapshot says: verifies too.
				m, err := signer.Sign(ctx, "owner", m.ID, []byte(payload))
				if err != nil {
					failures.Add(1)
					continue
				}
				if _, err := v.Verify(ctx, "owner", m); err != nil {
					failures.Add(1)
				}
			}
		})
	}
	rg.Wait()
	close(done)
	wg.Wait()

	is := is.New(t)
	is.Equal(failures.Load(), int64(0)) // no verify failed while the keys changed under it
	is.True(swaps.Load() > 0)           // and they did change
}

func TestKeySharedByGoroutines(t *testing.T) {
	ctx := t.Context()
	keys := hmacsign.StaticKeys{newKey(t, "a", secretA, time.Time{}), newKey(t, "b", secretB, time.Time{})}
	v := newVerifier(t, keys, &hmacsign.VerifierOptions{Now: fixed(t0)})
	msgs := []hmacsign.Message{
		sign(t, keys[:1], nil, t0, "msg_a", payload),
		sign(t, keys[1:], nil, t0, "msg_b", payload),
	}
	var failures atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				m := msgs[(g+i)%2]
				want := keys[(g+i)%2].ID()
				if got, err := v.Verify(ctx, "owner", m); err != nil || got != want {
					failures.Add(1)
				}
			}
		})
	}
	wg.Wait()
	is := is.New(t)
	is.Equal(failures.Load(), int64(0)) // keys and their pooled MACs are shared safely, and the right key is named
}

package rotation

import (
	"context"
	"sync"
)

// turns lets the changes of one owner through one Rotator take turns:
// racing each other, all but one of them would read the keyset only to
// lose the compare-and-swap, and try again, while the database did the
// work of every attempt. Changes of different owners do not wait for each
// other. The zero value is ready for use.
type turns struct {
	mu     sync.Mutex       // guards owners
	owners map[string]*turn // the owners with a change running or waiting
}

// turn is one owner's: the token its changes pass on, and how many hold
// or wait for it, so the entry goes when the last is done.
type turn struct {
	token   chan struct{}
	waiting int // guarded by turns.mu
}

// take waits for owner's turn, heeding ctx, and returns the function that
// ends it.
func (t *turns) take(ctx context.Context, owner string) (done func(), err error) {
	t.mu.Lock()
	tn := t.owners[owner]
	if tn == nil {
		if t.owners == nil {
			t.owners = make(map[string]*turn)
		}
		tn = &turn{token: make(chan struct{}, 1)}
		t.owners[owner] = tn
	}
	tn.waiting++
	t.mu.Unlock()
	leave := func() {
		t.mu.Lock()
		if tn.waiting--; tn.waiting == 0 {
			delete(t.owners, owner)
		}
		t.mu.Unlock()
	}
	select {
	case tn.token <- struct{}{}:
		return func() { <-tn.token; leave() }, nil
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	}
}

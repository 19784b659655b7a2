package ratelimit

import (
	"context"
	"time"
)

// Limiter takes requests from per-key budgets of n requests a minute,
// refilled evenly (see the package doc). Implementations must be safe for
// concurrent use; one shared by several processes, such as package
// redislimit's, limits them all together.
type Limiter interface {
	// Allow takes one request from the budget of the key whose id is id,
	// limited to perMinute requests a minute, and reports whether the
	// request is allowed. When it is not, retryAfter is how long until a
	// request would be; when it is, retryAfter is zero.
	//
	// It returns an error and takes nothing when ctx is done (the
	// context's error, wrapped or not), when the budget cannot be read
	// (an error matching [ErrUnavailable]), and when id is empty or
	// perMinute not positive (the [*OptionError] of [CheckArgs]).
	Allow(ctx context.Context, id string, perMinute int) (ok bool, retryAfter time.Duration, err error)
}

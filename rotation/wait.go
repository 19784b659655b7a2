package rotation

import (
	"context"
	"time"
)

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

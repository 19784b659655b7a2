package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/rotorkit/rotor/store/sqlstore"
)

// Listener is the [sqlstore.Listener] of pgx: it listens on pgx's own
// connection beneath a [*sql.Conn] of a pool that pgx's database/sql
// driver opened. [Open] and [New] give one to the Stores they make; a
// program that makes a Store with [sqlstore.New] over pgx may pass
// Listener{} in [sqlstore.Options]. It holds nothing: the zero value is
// the one to use, and it is safe for concurrent use.
type Listener struct{}

var _ sqlstore.Listener = Listener{}

// Listen runs LISTEN channel on conn's pgx connection, then calls ready,
// then notified for each notification on channel, until waiting fails,
// as [sqlstore.Listener] describes. Over another driver it returns an
// error matching [errors.ErrUnsupported] at once.
func (Listener) Listen(ctx context.Context, conn *sql.Conn, channel string, ready func(), notified func(payload string)) error {
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("postgres: Listen needs the pgx driver, not %T: %w", dc, errors.ErrUnsupported)
		}
		c := sc.Conn()
		if _, err := c.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
			return err
		}
		ready()
		for {
			n, err := c.WaitForNotification(ctx)
			if err != nil {
				return err
			}
			if n.Channel == channel {
				notified(n.Payload)
			}
		}
	})
}

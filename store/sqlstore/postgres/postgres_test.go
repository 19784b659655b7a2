package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/sqlstore/postgres"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

func TestErrorsOmitDSN(t *testing.T) {
	const password = "hunter2-correct-horse"
	open := func(ctx context.Context, dsn string) error {
		_, err := postgres.Open(ctx, dsn)
		return err
	}
	newOver := func(ctx context.Context, dsn string) error {
		db, err := sql.Open("pgx", dsn) // parses only when it connects
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = postgres.New(ctx, db)
		return err
	}
	tests := []struct {
		name  string
		open  func(ctx context.Context, dsn string) error
		dsn   string
		parse bool // whether the string fails to parse
	}{
		// Port 1 on the loopback address refuses at once.
		{name: "Unreachable", open: open, dsn: "postgres://rotor:" + password + "@127.0.0.1:1/rotor?sslmode=disable&connect_timeout=5"},
		{name: "BadURL", open: open, dsn: "postgres://rotor:" + password + "@127.0.0.1:notaport/rotor", parse: true},
		{name: "BadKeywords", open: open, dsn: "host=127.0.0.1 user=rotor password=" + password + " port=notaport", parse: true},
		{name: "NewWithBadURL", open: newOver, dsn: "postgres://rotor:" + password + "@127.0.0.1:notaport/rotor", parse: true},
		{name: "NewWithBadKeywords", open: newOver, dsn: "host=127.0.0.1 user=rotor password=" + password + " port=notaport", parse: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			err := tt.open(t.Context(), tt.dsn)
			is.True(err != nil) // the failure is reported
			var oe *store.OpError
			is.True(errors.As(err, &oe))                                  // as an *OpError
			is.Equal(errors.Is(err, postgres.ErrUnparsableDSN), tt.parse) // that says whether the string did not parse
			msg := err.Error()
			for _, part := range []string{tt.dsn, password, "postgres://", "password", "port="} {
				is.True(!strings.Contains(msg, part)) // and never shows the connection string, or a part of it
			}
		})
	}
}

func TestOpenHeedsContext(t *testing.T) {
	is := is.New(t)
	db := sqlstoretest.Postgres(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	s, err := postgres.Open(ctx, db.DSN())
	is.True(errors.Is(err, context.Canceled)) // a context already done is reported
	var oe *store.OpError
	is.True(errors.As(err, &oe)) // as an *OpError
	is.True(s == nil)            // with no store
}

// The Listener listens only through pgx: over another driver's
// connection it says so at once, without calling back.
func TestListenerNeedsPgx(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	conn, err := sqlstoretest.SQLite(t).SQL(t).Conn(ctx)
	is.NoErr(err) // a connection of another driver
	defer conn.Close()
	called := false
	err = postgres.Listener{}.Listen(ctx, conn, "rotor_keysets:public", func() { called = true }, func(string) { called = true })
	is.True(errors.Is(err, errors.ErrUnsupported)) // cannot be listened on
	is.True(!called)                               // and nothing is called
}

// A Store over a pool the caller opened leaves it open when it closes,
// and listens.
func TestNewKeepsCallersDB(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	db := sqlstoretest.Postgres(t)
	pool := db.SQL(t)
	s, err := postgres.New(ctx, pool)
	is.NoErr(err) // a Store is made over the caller's pool

	ready := make(chan struct{})
	listenCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Listen(listenCtx, func() { close(ready) }, func(string) {}) }()
	select {
	case <-ready: // it listens
	case err := <-done:
		t.Fatalf("Listen returned before it was ready: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Listen was not ready within ten seconds")
	}
	stop()
	is.True(errors.Is(<-done, context.Canceled)) // until stopped

	is.NoErr(s.Close())             // the Store closes
	is.NoErr(pool.PingContext(ctx)) // leaving the caller's pool open
}

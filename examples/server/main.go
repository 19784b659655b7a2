// Command server is a small HTTP service that hands secrets to its
// customers, built from rotor's pieces: a [rotation.Rotator] over a SQL
// store, rotationhttp's bearer middleware and problem details, and an
// hmacsign Signer for webhooks. Each handler in handlers.go is a few
// dozen lines.
//
//	go run ./examples/server                          # listens on 127.0.0.1:8080
//	go run ./examples/server -create-owner acme       # prints owner=… and secret=…, once
//
// Secrets are kept in a SQLite file under -data, or in PostgreSQL when
// ROTOR_POSTGRES_DSN is set (then cached in memory, and kept in step with
// other replicas by cachestore's Run). Their values are sealed under a
// key-encryption key read from ROTOR_KEK (base64, as in the kek file), or
// else from the file kek under -data, created on first start with mode
// 0600. Replicas sharing a database must share that key, so with
// ROTOR_POSTGRES_DSN the server makes no kek file: give every replica the
// same ROTOR_KEK (openssl rand -base64 32 makes one).
//
// Routes (every one needs "Authorization: Bearer <secret>"):
//
//	POST   /v1/integrator/regenerate-secret   regenerate the caller's own secret
//	GET    /v1/secrets                        list the caller's secrets
//	POST   /v1/secrets                        create one (at most 3 active)
//	POST   /v1/secrets/{id}/regenerate        regenerate one
//	POST   /v1/secrets/{id}/use-for-webhooks  designate it to sign webhooks
//	DELETE /v1/secrets/{id}                   delete it for good
//	POST   /v1/webhooks/test                  sign a test event and show it
//
// Errors are RFC 9457 problem details (application/problem+json). Logs go
// to stderr through log/slog and never hold a secret; stdout carries only
// the "listening on" line, or the output of -create-owner.
//
// [rotation.Rotator]: https://pkg.go.dev/github.com/rotorkit/rotor/rotation#Rotator
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/rotorkit/rotor/store/cachestore"
)

func main() {
	// SIGINT (Ctrl-C) and SIGTERM (docker stop, systemd, kill) cancel ctx,
	// and the server shuts down gracefully instead of dying mid-request.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // a second Ctrl-C ends the program at once, as usual
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// errUsage reports bad flags or arguments, which the flag package has
// already explained on stderr.
var errUsage = errors.New("usage")

// run is the whole program, with its surroundings passed in.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("server", flag.ContinueOnError)
	flags.SetOutput(stderr)
	addr := flags.String("addr", "127.0.0.1:8080", "address to listen on; port 0 picks a free one")
	data := flags.String("data", "./rotor-data", "directory of the SQLite database and the key-encryption key")
	owner := flags.String("create-owner", "", "create an owner whose first secret is named `NAME`, print its id and secret once, and exit")
	rateLimit := flags.Int("rate-limit", 600, "requests a minute allowed to each key created from now on; 0 for no limit")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage // the flag package has said what is wrong
	}
	if flags.NArg() > 0 || *rateLimit < 0 {
		flags.Usage()
		return errUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	dsn := getenv("ROTOR_POSTGRES_DSN")
	// Replicas may share a PostgreSQL database, and must then share the
	// key too: with one, the key comes from ROTOR_KEK (or a kek file put
	// there by hand), never from a file each host makes for itself.
	ring, err := openKeyring(*data, getenv("ROTOR_KEK"), dsn == "")
	if err != nil {
		return err
	}
	st, where, err := openStore(ctx, *data, dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	opts := Options{Store: st, Keyring: ring, Logger: log, RateLimit: *rateLimit}

	if *owner != "" {
		srv, err := NewServer(opts)
		if err != nil {
			return err
		}
		iss, err := srv.CreateOwner(ctx, *owner)
		if err != nil {
			return err
		}
		// Lines a shell can eval: eval "$(server -create-owner acme)".
		fmt.Fprintf(stdout, "owner=%s\nsecret=%s\n", iss.Owner, iss.Value.Reveal())
		fmt.Fprintf(stderr, "created owner %s with secret %s (…%s); the secret is shown this once: keep it\n", iss.Owner, iss.ID, iss.Current.Hint)
		return nil
	}

	// With PostgreSQL, several replicas may share the database: keep
	// keysets in memory so authenticating skips the database, and let
	// cachestore's Run hear of the changes other replicas make.
	var cache *cachestore.Store
	if dsn != "" {
		if cache, err = cachestore.New(st, &cachestore.Options{Logger: log}); err != nil {
			return err
		}
		opts.Store = cache
	}
	srv, err := NewServer(opts)
	if err != nil {
		return err
	}
	log.Info("secrets are kept in " + where)
	return serve(ctx, *addr, srv, cache, stdout, log)
}

// serve answers HTTP on addr until ctx is cancelled, then stops taking
// connections, waits for the requests in flight, and writes the last uses
// of keys. cache, if not nil, is kept in step for as long as the server
// runs.
func serve(ctx context.Context, addr string, srv *Server, cache *cachestore.Store, stdout io.Writer, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second, // slow clients must not hold connections forever
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	// The cache outlives ctx by the time Shutdown takes, since requests
	// still in flight use it; it stops after them.
	background, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stopBackground()
	if cache != nil {
		wg.Go(func() {
			if err := cache.Run(background); !errors.Is(err, context.Canceled) {
				log.Error("cache stopped following changes; copies now live up to their MaxAge", "err", err)
			}
		})
	}

	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	// The address goes to stdout, for people and for scripts that start
	// the server with port 0 and must learn the port. The listener is
	// open already, so the server is ready once this line is out.
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())

	select {
	case err := <-served:
		return err // Serve failed; it never returns nil
	case <-ctx.Done():
	}
	log.Info("shutting down")
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err = hs.Shutdown(stopCtx)
	<-served // http.ErrServerClosed, at once
	return errors.Join(err, srv.Flush(stopCtx))
}

// Package service is the plumbing the example services share, so that
// each example's own code is its routes: flags, where the secrets are kept
// (a SQLite file under -data, or PostgreSQL when ROTOR_POSTGRES_DSN is
// set; either may be shared by replicas, whose Rotators cache keysets in
// memory and run to keep them in step), where the counters that replicas
// share are kept (the rate limits of keys and the replay guard: in the
// process, or in Redis when ROTOR_REDIS_URL is set, for a service whose
// App says how), the key-encryption key for services that seal secrets,
// -create-owner, the route that takes secret scanning reports for a
// service whose App says so (-scanning-keys), and a server that says
// where it listens and stops gracefully on SIGTERM.
//
// # Environment
//
//	ROTOR_POSTGRES_DSN  PostgreSQL connection string; unset: SQLite under -data
//	ROTOR_REDIS_URL     Redis URL (redis.ParseURL), such as redis://127.0.0.1:6379/0;
//	                    unset: rate limits and replay guard in the process
//	ROTOR_REDIS_PREFIX  prefix of the service's keys in Redis; unset: rotor:<name>:
//	ROTOR_KEK           key-encryption key of a service that seals; or -kek FILE
//
// Replicas that share a database must share ROTOR_REDIS_URL too, or each
// keeps its own budgets: a key limited to n a minute would get n from
// each replica.
//
// Since the database is picked when a service starts, every service links
// both drivers, SQLite's and PostgreSQL's. A service that keeps its
// secrets in one imports only store/sqlstore/sqlite or
// store/sqlstore/postgres, and links only that driver.
//
// It is not part of rotor: a service of one's own does these its own way.
package service

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"syscall"
	"time"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/ratelimit"
	"github.com/rotorkit/rotor/rotation/scanning"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/sqlstore"
	"github.com/rotorkit/rotor/store/sqlstore/postgres"
	"github.com/rotorkit/rotor/store/sqlstore/sqlite"
)

// App is what an example service is made of besides the plumbing.
type App struct {
	// Name is the command's name, as its usage and errors give it.
	Name string
	// Seal reports whether the service's secrets sign or verify HMACs,
	// and so are kept sealed under a key-encryption key that the service
	// must be given. Services whose keys only authenticate keep digests
	// alone, and need none.
	Seal bool
	// Options, if not nil, sets what the service's Rotator needs beyond
	// the store, keyring, logger and audit log: its policy, its format.
	Options func(*rotation.Options)
	// Handler returns the service's routes.
	Handler func(Env) (http.Handler, error)
	// CreateOwner creates an owner named name with the keys it first
	// needs, and returns the shell assignments that show them, this once,
	// such as "owner=…" and "secret=…".
	CreateOwner func(ctx context.Context, env Env, name string) ([]string, error)
	// Scanning reports whether the service takes GitHub's secret
	// scanning reports of leaked keys at POST [ScanningRoute], which
	// revoke the keys reported. Run then takes -scanning-keys FILE, the
	// public keys that sign reports in the JSON GitHub publishes; without
	// it the route is absent. The route needs no bearer key: a report is
	// authenticated by its signature.
	Scanning bool
	// Redis, if not nil, opens the service's [Counters] in the Redis
	// server that ROTOR_REDIS_URL names, so that replicas share them;
	// redisenv.Open is the one the examples use. A service that keeps
	// no counters leaves it nil, ignores the variable, and so links no
	// Redis client.
	Redis func(RedisConfig) (Counters, error)
}

// RedisConfig is what [App].Redis opens the counters with.
type RedisConfig struct {
	// URL names the server, as ROTOR_REDIS_URL does. It may hold a
	// password: keep it out of errors and logs.
	URL string
	// Prefix begins every key the service keeps there.
	Prefix string
	// Now, if not nil, is the clock of the rate limits instead of the
	// Redis server's: a test's. Run leaves it nil.
	Now func() time.Time
	// Log receives the counters' diagnostics.
	Log *slog.Logger
}

// Counters are what replicas of a service share besides the store: the
// rate limits of keys and the replay guard of signed requests.
type Counters struct {
	Limiter ratelimit.Limiter
	Replay  hmacsign.ReplayGuard
	// Close, if not nil, releases what the counters hold, such as a
	// client's connections.
	Close func() error
}

// Env is what a service's routes are built on.
type Env struct {
	// Rotator manages the service's keys, over its store.
	Rotator *rotation.Rotator
	// Now is the service's clock, the Rotator's too.
	Now func() time.Time
	// Log receives diagnostics, never a secret.
	Log *slog.Logger
	// Limiter keeps the per-minute rate limits of keys, and Replay the
	// ids of the signed messages accepted: in the process on Now, or
	// where the App's Redis keeps them.
	Limiter ratelimit.Limiter
	Replay  hmacsign.ReplayGuard
	// Shared reports whether Limiter and Replay are shared with other
	// replicas, in Redis.
	Shared bool

	close func() error
}

// Close releases what env holds, such as the Redis client of its
// counters.
func (env Env) Close() error {
	if env.close == nil {
		return nil
	}
	return env.close()
}

// Main runs app as a command and exits: 0 once it has stopped on SIGINT or
// SIGTERM, or after -create-owner; 2 for bad flags; 1 for anything else.
func Main(app App) {
	// SIGINT (Ctrl-C) and SIGTERM (docker stop, systemd, kill) cancel ctx,
	// and the server shuts down gracefully instead of dying mid-request.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // a second Ctrl-C ends the program at once, as usual
	err := Run(ctx, app, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintf(os.Stderr, "%s: %v\n", app.Name, err)
		os.Exit(1)
	}
}

// errUsage reports bad flags or arguments, which the flag package has
// already explained.
var errUsage = errors.New("usage")

// Run is the whole program, with its surroundings passed in: flags, the
// environment, and where output goes. stdout carries only the
// "listening on" line, or the assignments of -create-owner.
func Run(ctx context.Context, app App, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet(app.Name, flag.ContinueOnError)
	flags.SetOutput(stderr)
	addr := flags.String("addr", "127.0.0.1:8080", "address to listen on; port 0 picks a free one")
	data := flags.String("data", "./"+app.Name+"-data", "directory of the SQLite database")
	owner := flags.String("create-owner", "", "create an owner named `NAME`, print its first keys once as shell assignments, and exit")
	var kekFile *string // only a service that seals needs a key-encryption key
	if app.Seal {
		kekFile = flags.String("kek", "", "`FILE` of the key-encryption key, created if missing; ROTOR_KEK instead gives the key itself")
	}
	scanningKeys := new(string) // only a service that takes leak reports has the flag
	if app.Scanning {
		scanningKeys = flags.String("scanning-keys", "", "`FILE` of the public keys that sign secret scanning reports, as GitHub publishes them; "+
			"unset: POST "+ScanningRoute+" is absent")
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if flags.NArg() > 0 {
		flags.Usage()
		return errUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	var ring *secrets.Keyring
	if app.Seal {
		var err error
		if ring, err = keyring(getenv("ROTOR_KEK"), *kekFile); err != nil {
			return err
		}
	}
	dsn := getenv("ROTOR_POSTGRES_DSN")
	st, where, err := openStore(ctx, *data, dsn)
	if err != nil {
		return err
	}
	defer st.Close()

	opts := &EnvOptions{Log: log, Keyring: ring, RedisPrefix: getenv("ROTOR_REDIS_PREFIX")}
	if *owner == "" { // -create-owner counts nothing
		opts.RedisURL = getenv("ROTOR_REDIS_URL")
	}
	env, err := app.NewEnv(st, opts)
	if err != nil {
		return err
	}
	defer env.Close()
	rot := env.Rotator

	if *owner != "" {
		lines, err := app.CreateOwner(ctx, env, *owner)
		if err != nil {
			return err
		}
		for _, l := range lines {
			fmt.Fprintln(stdout, l) // shown this once: eval "$(… -create-owner NAME)"
		}
		return rot.Flush(ctx)
	}
	h, err := app.Handler(env)
	if err != nil {
		return err
	}
	if *scanningKeys != "" {
		if h, err = withScanning(h, env, *scanningKeys); err != nil {
			return err
		}
		log.Info("secret scanning reports are taken at POST " + ScanningRoute)
	}
	log.Info("secrets are kept in " + where)
	switch {
	case env.Shared:
		log.Info("rate limits and replay guard are shared in Redis (ROTOR_REDIS_URL)") // never the URL: it may hold a password
	case opts.RedisURL != "":
		log.Info("ROTOR_REDIS_URL is set, but this service keeps no counters to share")
	}
	return serve(ctx, *addr, h, rot, stdout, log)
}

// ScanningRoute is where a service whose App takes secret scanning
// reports takes them.
const ScanningRoute = "/secret-scanning/report"

// withScanning returns h with POST ScanningRoute in front of it, served
// by a scanning.Handler whose public keys are in the file keysFile.
func withScanning(h http.Handler, env Env, keysFile string) (http.Handler, error) {
	data, err := os.ReadFile(keysFile)
	if err != nil {
		return nil, fmt.Errorf("-scanning-keys: %w", err)
	}
	keys, err := scanning.ParseKeys(data)
	if err != nil {
		return nil, fmt.Errorf("-scanning-keys %s: %w", keysFile, err)
	}
	leaks, err := scanning.New(env.Rotator, keys, &scanning.Options{Logger: env.Log})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("POST "+ScanningRoute, leaks)
	mux.Handle("/", h) // the service's own routes, and its own 404s
	return mux, nil
}

// CheckName refuses, as -create-owner's commands do, a name that is not
// 1 to 64 letters, digits, '.', '_' and '-', starting with a letter or
// digit: text that a shell assignment, an HTTP header and an owner such
// as "<name>/live" carry as it is. what names the thing named, as in
// "an account".
func CheckName(what, name string) error {
	if !simpleName.MatchString(name) {
		return errors.New(what + " name is 1 to 64 letters, digits, '.', '_' and '-', starting with a letter or digit")
	}
	return nil
}

var simpleName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// EnvOptions is what [App.NewEnv] builds an Env from besides its store.
// A nil *EnvOptions, and every zero field, means the default.
type EnvOptions struct {
	// Now is the clock of the Rotator and of counters kept in the
	// process; nil means time.Now. Counters in Redis keep their rate
	// limits on it too when it is set, and on the server's clock when it
	// is not, as in [Run]. Tests pass a clock of their own.
	Now func() time.Time
	// Log receives diagnostics and events; nil discards them.
	Log *slog.Logger
	// Keyring seals secrets; nil for a service that does not seal.
	Keyring *secrets.Keyring
	// RedisURL, if set, keeps the counters in that Redis server for an
	// App whose Redis is set, as ROTOR_REDIS_URL does in Run; empty keeps
	// them in the process.
	RedisURL string
	// RedisPrefix begins every key kept in Redis, as ROTOR_REDIS_PREFIX
	// does in Run. Empty means "rotor:" and the App's Name and ":", so
	// that services sharing a server keep apart.
	RedisPrefix string
}

// NewEnv makes the Rotator of app over st, as [Run] does, and the Env its
// routes are built on: app's Options apply, with the clock, logger,
// keyring and counters of opts. Tests build the service with it, on a
// clock of their own; they Close the Env when done.
func (app App) NewEnv(st store.Store, opts *EnvOptions) (Env, error) {
	var o EnvOptions
	if opts != nil {
		o = *opts
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	ropts := &rotation.Options{Now: o.Now, Logger: o.Log, Observer: rotation.LogEvents(o.Log), Keyring: o.Keyring}
	if app.Options != nil {
		app.Options(ropts)
	}
	rot, err := rotation.New(st, ropts)
	if err != nil {
		return Env{}, err
	}
	env := Env{Rotator: rot, Now: ropts.Now, Log: o.Log}
	if env.Now == nil {
		env.Now = time.Now
	}
	if o.RedisURL != "" && app.Redis != nil {
		prefix := o.RedisPrefix
		if prefix == "" {
			prefix = "rotor:" + app.Name + ":"
		}
		c, err := app.Redis(RedisConfig{URL: o.RedisURL, Prefix: prefix, Now: o.Now, Log: o.Log})
		if err != nil {
			return Env{}, err
		}
		env.Limiter, env.Replay, env.close, env.Shared = c.Limiter, c.Replay, c.Close, true
		return env, nil
	}
	if env.Limiter, err = ratelimit.NewMemory(&ratelimit.MemoryOptions{Now: env.Now}); err != nil {
		return Env{}, err
	}
	if env.Replay, err = hmacsign.NewMemoryReplayGuard(0, env.Now); err != nil {
		return Env{}, err
	}
	return env, nil
}

// serve answers HTTP on addr until ctx is cancelled, then stops taking
// connections, waits for the requests in flight, and writes the last uses
// of keys. For as long as the server runs, rot's Run keeps its cache in
// step with the changes other processes sharing the database make, and
// writes the uses of keys in batches.
func serve(ctx context.Context, addr string, h http.Handler, rot *rotation.Rotator, stdout io.Writer, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           logRequests(h, log),
		ReadHeaderTimeout: 10 * time.Second, // slow clients must not hold connections forever
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	// The Rotator's Run keeps its cache in step with other replicas and
	// writes the uses of keys while requests come. It outlives ctx by the
	// time Shutdown takes, since requests still in flight use the cache;
	// it stops after them, and Flush writes the last uses.
	running, stopRunning := context.WithCancel(context.WithoutCancel(ctx))
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		if err := rot.Run(running); !errors.Is(err, context.Canceled) {
			log.Error("the rotator stopped following changes and writing uses", "err", err)
		}
	}()
	stopRun := func() {
		stopRunning()
		<-ran
	}
	defer stopRun()

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
	stopRun()
	return errors.Join(err, rot.Flush(stopCtx))
}

// openStore opens PostgreSQL when dsn is set, and the SQLite file
// dir/rotor.db otherwise, and says where in words that never include dsn,
// which may hold a password.
func openStore(ctx context.Context, dir, dsn string) (*sqlstore.Store, string, error) {
	if dsn != "" {
		st, err := postgres.Open(ctx, dsn)
		return st, "PostgreSQL (ROTOR_POSTGRES_DSN)", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", err
	}
	path := filepath.Join(dir, "rotor.db")
	st, err := sqlite.Open(ctx, path)
	return st, "SQLite file " + path, err
}

// kekID names the key-encryption key in every sealed value. To rotate the
// key, a service would add a second one under a new id to the keyring and
// reseal; these examples keep one.
const kekID = "kek-1"

// errNoKEK refuses to start a service that seals secrets without a
// key-encryption key given to it: one made up and kept beside the
// database would let a copy of the data directory open every customer's
// secret.
var errNoKEK = errors.New("this service keeps secrets sealed, so it needs a key-encryption key: " +
	"set ROTOR_KEK to one (make it with `openssl rand -base64 32`), or pass -kek FILE, a file kept apart from -data; " +
	"replicas sharing a database must share the key, and losing it loses every sealed secret")

// keyring returns the keyring that seals secret values, with the
// key-encryption key given as text (ROTOR_KEK) or, when text is empty, the
// one in file, created on first start with mode 0600.
func keyring(text, file string) (*secrets.Keyring, error) {
	var kek secrets.KEK
	var err error
	switch {
	case text != "":
		if kek, err = secrets.ParseKEK(kekID, text); err != nil {
			return nil, fmt.Errorf("ROTOR_KEK: %w", err) // the error holds neither the id nor the key
		}
	case file != "":
		kek, err = readKEK(file)
		if errors.Is(err, fs.ErrNotExist) {
			kek, err = createKEK(file)
		}
		if err != nil {
			return nil, err
		}
	default:
		return nil, errNoKEK
	}
	return secrets.NewKeyring(kek)
}

func readKEK(path string) (secrets.KEK, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return secrets.KEK{}, err
	}
	kek, err := secrets.ParseKEK(kekID, string(text))
	if err != nil {
		return secrets.KEK{}, fmt.Errorf("%s: %w", path, err)
	}
	return kek, nil
}

// createKEK writes a new key to path, readable by this user only. The key
// is written whole to a temporary file first and then linked into place,
// which fails if path exists: a key that sealed values depend on is never
// overwritten, and a process starting at the same moment never reads half
// a key. If another process won the race, its key is the one used.
func createKEK(path string) (secrets.KEK, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return secrets.KEK{}, err
	}
	kek, err := secrets.GenerateKEK(kekID)
	if err != nil {
		return secrets.KEK{}, err
	}
	tmp, err := os.CreateTemp(dir, ".kek-*") // mode 0600
	if err != nil {
		return secrets.KEK{}, err
	}
	defer os.Remove(tmp.Name()) // once linked, path keeps the file
	_, err = tmp.WriteString(kek.Text().Reveal() + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return secrets.KEK{}, err
	}
	err = os.Link(tmp.Name(), path)
	if errors.Is(err, fs.ErrExist) {
		return readKEK(path)
	}
	if err != nil {
		return secrets.KEK{}, err
	}
	return kek, nil
}

// logRequests logs one line per request: the method, the route pattern
// that served it (never the path, which may hold a key pasted into it),
// the status and the time taken.
func logRequests(h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		route := r.Pattern // set by the ServeMux that served r
		if route == "" {
			route = "(no route)"
		}
		log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.Int("status", rec.status),
			slog.Duration("duration", time.Since(start)))
	})
}

// statusWriter keeps the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

// Unwrap gives http.ResponseController the writer underneath.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

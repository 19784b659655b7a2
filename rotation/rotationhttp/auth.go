package rotationhttp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/ratelimit"
)

// Options configures an [Authenticator]. A nil *Options, and every zero
// field, means the default.
type Options struct {
	// Realm names the protection space in WWW-Authenticate challenges and
	// in the realm member of 401 problems. Empty means [DefaultRealm]. It
	// must not hold control characters.
	Realm string

	// TrustedProxies are the networks of the reverse proxies in front of
	// the service. The client address is the connection's peer
	// (Request.RemoteAddr) unless the peer is in one of them; then
	// X-Forwarded-For is read from the right, skipping addresses of
	// trusted proxies, and the first other address is the client. Empty
	// means no proxy is trusted and X-Forwarded-For is ignored, so clients
	// cannot choose their own address. Only list proxies that append to
	// X-Forwarded-For.
	TrustedProxies []netip.Prefix

	// Limiter keeps the per-minute rate limits of keys, by their ids. Nil
	// means a [ratelimit.Memory] with its defaults, in this process, on
	// time.Now. Tests pass one on the Rotator's clock:
	//
	//	lim, err := ratelimit.NewMemory(&ratelimit.MemoryOptions{Now: clock.Now})
	//
	// Replicas of a service that must share the limits pass one that
	// keeps them where all replicas see them, such as package
	// redislimit's. A key without a rate limit never reaches it.
	Limiter ratelimit.Limiter

	// Logger receives one record per refused or failed request: Debug for
	// 4xx answers, Warn for 503 and Error for 500, with the status, the
	// code, the method, the path (with every segment longer than 23 bytes
	// that is not a secret id replaced by "REDACTED", as in a problem's
	// instance) and the error's text. nil discards them.
	// rotor's errors never hold secret material; keep yours the same.
	Logger *slog.Logger

	// Render writes every refusal and every error given to
	// [Authenticator.Error], in the shape of the service's API. nil means
	// [WriteProblem], RFC 9457 problem details.
	Render Renderer

	// Key returns the key a request presents, "" for none (which is
	// rotation.ErrMissingKey). nil means [BearerKey]. A service whose
	// clients send keys elsewhere, such as in an X-API-Key header, or
	// that refuses some keys by their look before they are looked up,
	// sets its own. An error refuses the request: it is answered as
	// [FailureFor] maps it, so return a [*Failure] to answer with a
	// failure of the service's own. Its text goes to the log: never put
	// the key in it.
	Key func(r *http.Request) (string, error)
}

// Authenticator is net/http middleware that admits requests carrying a
// valid key in "Authorization: Bearer <key>" (or where [Options].Key
// finds it), checked by
// [rotation.Rotator.Authenticate] with the client's address and the
// route's scope, within the key's per-minute rate limit. It is safe for
// concurrent use. Use [NewAuthenticator].
type Authenticator struct {
	rot     *rotation.Rotator
	realm   string
	proxies []netip.Prefix
	log     *slog.Logger
	render  Renderer
	key     func(*http.Request) (string, error)
	limiter ratelimit.Limiter
}

// NewAuthenticator returns an Authenticator over rot. A nil opts means the
// defaults. It returns an [*OptionError] for options out of range, and
// panics if rot is nil. It starts no goroutines.
func NewAuthenticator(rot *rotation.Rotator, opts *Options) (*Authenticator, error) {
	if rot == nil {
		panic("rotationhttp: NewAuthenticator with a nil Rotator")
	}
	if opts == nil {
		opts = &Options{}
	}
	a := &Authenticator{rot: rot, realm: opts.Realm, log: opts.Logger, render: opts.Render, key: opts.Key, limiter: opts.Limiter}
	if a.render == nil {
		a.render = WriteProblem
	}
	if a.key == nil {
		a.key = func(r *http.Request) (string, error) { return BearerKey(r), nil }
	}
	if a.realm == "" {
		a.realm = DefaultRealm
	}
	if strings.ContainsFunc(a.realm, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, &OptionError{Field: "Realm", Reason: "must not hold control characters"}
	}
	for _, p := range opts.TrustedProxies {
		if !p.IsValid() {
			return nil, &OptionError{Field: "TrustedProxies", Reason: "must hold valid networks"}
		}
		a.proxies = append(a.proxies, p.Masked())
	}
	if a.limiter == nil {
		a.limiter = new(ratelimit.Memory) // its zero value has the defaults
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	return a, nil
}

// Require returns a handler that lets a request through to next only if
// it carries a valid key that was granted scope (an empty scope admits any
// valid key) and is within the key's rate limit. next finds the
// [rotation.Principal] with [FromContext]. Refusals are rendered as
// [Authenticator.Error] renders them, with this Authenticator's realm and
// the route's scope:
//
//	mux.Handle("POST /v1/secrets", auth.Require("secrets:write", createSecret))
//
// It panics if next is nil.
func (a *Authenticator) Require(scope string, next http.Handler) http.Handler {
	if next == nil {
		panic("rotationhttp: Require with a nil handler")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.Authenticate(r, scope)
		if err != nil {
			a.write(w, r, err, scope)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), p)))
	})
}

// Authenticate does the checks of [Authenticator.Require] without the
// handler around them, for code that composes its own: it reads the key
// of r (the bearer key, unless [Options].Key says otherwise),
// authenticates it from [Authenticator.ClientIP] for scope, and takes one
// request from the key's rate limit, which a key keeps by its id through
// regenerations. It returns the Rotator's [*rotation.AuthError] (a
// missing or non-Bearer Authorization header is rotation.ErrMissingKey),
// a [*RateLimitError], the error of Options.Key, the store's error, or
// the error of [Options].Limiter (such as one matching
// ratelimit.ErrUnavailable, from a limiter that fails closed), each of
// which refuses the request.
func (a *Authenticator) Authenticate(r *http.Request, scope string) (rotation.Principal, error) {
	key, err := a.key(r)
	if err != nil {
		return rotation.Principal{}, err
	}
	ctx := r.Context()
	p, err := a.rot.Authenticate(ctx, key, rotation.Request{IP: a.ClientIP(r), Scope: scope})
	if err != nil {
		return rotation.Principal{}, err
	}
	if n := p.Secret.RateLimit; n > 0 {
		ok, wait, err := a.limiter.Allow(ctx, p.Secret.ID, n)
		if err != nil {
			return rotation.Principal{}, fmt.Errorf("rotationhttp: rate limit of secret %s: %w", p.Secret.ID, err)
		}
		if !ok {
			return rotation.Principal{}, &RateLimitError{SecretID: p.Secret.ID, Limit: n, RetryAfter: wait}
		}
	}
	return p, nil
}

// Error answers the request with the [Failure] for err, as [FailureFor]
// maps it, with this Authenticator's realm on a refused key, rendered by
// [Options].Render, and logs it (see [Options].Logger). Handlers call it
// for the errors of the Rotator and of the decoders, and pass it where
// other middleware takes an error writer, such as hmacsign's:
//
//	if err != nil {
//		auth.Error(w, r, err)
//		return
//	}
func (a *Authenticator) Error(w http.ResponseWriter, r *http.Request, err error) {
	a.write(w, r, err, "")
}

// ErrorFor returns [Authenticator.Error] for the errors of a route that
// requires scope, which then goes in the answer to a refused key as it
// does in the answers of [Authenticator.Require]: for middleware that
// takes an error writer and guards such a route, such as
// hmacsign.MiddlewareOptions.Error.
func (a *Authenticator) ErrorFor(scope string) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) { a.write(w, r, err, scope) }
}

// Render writes f as [Options].Render does: for failures a handler makes
// itself, and for [Routes].
func (a *Authenticator) Render(w http.ResponseWriter, r *http.Request, f Failure) {
	a.render(w, r, f)
}

func (a *Authenticator) write(w http.ResponseWriter, r *http.Request, err error, scope string) {
	if err == nil {
		err = errNil
	}
	f := FailureFor(err)
	if f.Realm != "" {
		f.Realm = a.realm
	}
	if f.Status == http.StatusUnauthorized && f.Scope == "" {
		f.Scope = scope
	}
	level := slog.LevelDebug
	switch {
	case f.Status == http.StatusServiceUnavailable:
		level = slog.LevelWarn
	case f.Status >= 500:
		level = slog.LevelError
	}
	if ctx := r.Context(); a.log.Enabled(ctx, level) {
		a.log.LogAttrs(ctx, level, "rotationhttp: request refused",
			slog.Int("status", f.Status),
			slog.String("code", f.Code),
			slog.String("method", r.Method),
			slog.String("path", shownPath(r.URL.Path)),
			slog.String("err", err.Error()))
	}
	a.render(w, r, f)
}

// errNil stands for a nil error passed where one was expected.
var errNil = errors.New("rotationhttp: nil error")

// BearerKey returns the key r carries in "Authorization: Bearer <key>", or
// "" when it carries none; the scheme is case-insensitive. It reads the
// header as [Authenticator.Authenticate] does by default, for an
// [Options].Key that looks at a key before it is authenticated, such as
// one that refuses publishable keys.
func BearerKey(r *http.Request) string { return bearerKey(r.Header.Get("Authorization")) }

// bearerKey returns the credentials of an "Authorization: Bearer" header
// value, or "" when there are none. The scheme is case-insensitive.
func bearerKey(h string) string {
	scheme, key, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimLeft(key, " ")
}

type principalKey struct{}

// NewContext returns a copy of ctx that carries p, as
// [Authenticator.Require] does; it is for testing handlers that call
// [FromContext].
func NewContext(ctx context.Context, p rotation.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal [Authenticator.Require]
// authenticated for the request whose context is ctx, and reports whether
// there is one. Its slices and maps are shared by every handler of the
// request: do not modify them.
func FromContext(ctx context.Context) (rotation.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(rotation.Principal)
	return p, ok
}

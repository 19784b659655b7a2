package scanning

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
)

// GitHubKeysURL is where GitHub publishes the public keys that sign its
// secret scanning reports.
const GitHubKeysURL = "https://api.github.com/meta/public_keys/secret_scanning"

// Defaults of [FetchOptions].
const (
	DefaultMinInterval  = time.Minute
	DefaultMaxAge       = 24 * time.Hour
	DefaultFetchTimeout = 10 * time.Second
)

// maxKeyListBytes bounds the key list read from the network.
const maxKeyListBytes = 1 << 20

// FetchOptions tunes [FetchedKeys]. A nil *FetchOptions, and every zero
// field, means the default.
type FetchOptions struct {
	// Client fetches the keys; nil means a client that gives up after
	// DefaultFetchTimeout. GitHub limits the rate of anonymous requests:
	// a client whose Transport adds "Authorization: Bearer <token>" (a
	// token with no scopes) avoids that. The fetch also asks with
	// If-None-Match, which GitHub does not count when nothing changed.
	Client *http.Client
	// Now is the clock that spaces fetches; nil means time.Now.
	Now func() time.Time
	// MinInterval is the least time between two fetches, whatever causes
	// them: a report that names a key not held, keys older than MaxAge,
	// or a failed fetch to try again. Identifiers come from requests, so
	// anyone can make them up; this bounds the fetches a flood of them
	// makes to one per MinInterval. 0 means [DefaultMinInterval].
	MinInterval time.Duration
	// MaxAge is how long keys fetched are used before they are fetched
	// again, at the next report; the old ones serve on if that fetch
	// fails. 0 means [DefaultMaxAge].
	MaxAge time.Duration
}

// FetchedKeys is a [KeySource] that fetches GitHub's list of keys from a
// URL, caches it, and fetches it again when a report names a key it does
// not hold (GitHub signs with a new key before it is ever seen here) or
// the list is older than MaxAge, never more than once per MinInterval.
// The first fetch happens at the first report, not in [NewFetchedKeys].
//
// It is safe for concurrent use: reports of keys held never wait, and one
// fetch at a time runs, which the reports that need it wait for.
type FetchedKeys struct {
	url         string
	client      *http.Client
	now         func() time.Time
	minInterval time.Duration
	maxAge      time.Duration

	keys    atomic.Pointer[fetched] // nil until a fetch succeeds
	fetches atomic.Int64            // fetches begun, for Fetches

	// turn is held by the one caller that may fetch; it guards the fields
	// below. A channel, so that a caller waiting for it stops with its
	// context.
	turn  chan struct{}
	tried time.Time // when the latest fetch began; zero before the first
	etag  string    // of the list held, for If-None-Match
}

// fetched is one list of keys and when it was fetched.
type fetched struct {
	keys map[string]*ecdsa.PublicKey
	at   time.Time
}

// NewFetchedKeys returns a KeySource over the key list at rawURL, such as
// [GitHubKeysURL]. It fetches nothing yet. rawURL must be an absolute http
// or https URL, and opts' durations not negative, else it returns an
// [*OptionError], which never repeats the URL: it may hold credentials.
func NewFetchedKeys(rawURL string, opts *FetchOptions) (*FetchedKeys, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, &OptionError{Field: "url", Reason: "must be an absolute http or https URL"}
	}
	var o FetchOptions
	if opts != nil {
		o = *opts
	}
	if o.MinInterval < 0 || o.MaxAge < 0 {
		return nil, &OptionError{Field: "FetchOptions.MinInterval and MaxAge", Reason: "must not be negative"}
	}
	k := &FetchedKeys{url: rawURL, client: o.Client, now: o.Now, minInterval: o.MinInterval, maxAge: o.MaxAge,
		turn: make(chan struct{}, 1)}
	if k.client == nil {
		k.client = &http.Client{Timeout: DefaultFetchTimeout}
	}
	if k.now == nil {
		k.now = time.Now
	}
	if k.minInterval == 0 {
		k.minInterval = DefaultMinInterval
	}
	if k.maxAge == 0 {
		k.maxAge = DefaultMaxAge
	}
	return k, nil
}

// PublicKey returns the key named id: from the list held, or from one
// fetched now if the list does not hold it or is older than MaxAge and
// no fetch began less than MinInterval ago. An id no list holds is
// [ErrUnknownKey]; with no list fetched yet, or when the fetch that
// should have found id failed, the error matches [ErrKeysUnavailable].
func (k *FetchedKeys) PublicKey(ctx context.Context, id string) (*ecdsa.PublicKey, error) {
	if pub, ok := k.held(id); ok {
		return pub, nil
	}
	select {
	case k.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-k.turn }()
	if pub, ok := k.held(id); ok { // fetched while this call waited
		return pub, nil
	}
	cur, now := k.keys.Load(), k.now()
	if !k.tried.IsZero() && now.Sub(k.tried) < k.minInterval {
		return answer(cur, id, nil)
	}
	k.tried = now
	next, err := k.fetch(ctx, cur, now)
	if err != nil {
		return answer(cur, id, err)
	}
	k.keys.Store(next)
	return answer(next, id, nil)
}

// held returns the key named id from a list younger than MaxAge.
func (k *FetchedKeys) held(id string) (*ecdsa.PublicKey, bool) {
	cur := k.keys.Load()
	if cur == nil || k.now().Sub(cur.at) >= k.maxAge {
		return nil, false
	}
	pub, ok := cur.keys[id]
	return pub, ok
}

// answer returns the key named id in cur, whatever its age. failed is
// why the fetch meant to find it failed, if it did: then an id cur lacks
// is unavailable rather than unknown, since the list fetched might have
// held it.
func answer(cur *fetched, id string, failed error) (*ecdsa.PublicKey, error) {
	if cur != nil {
		if pub, ok := cur.keys[id]; ok {
			return pub, nil
		}
	}
	switch {
	case failed != nil:
		return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, failed)
	case cur == nil:
		return nil, fmt.Errorf("%w: none fetched yet; the next fetch is due in at most a MinInterval", ErrKeysUnavailable)
	}
	return nil, ErrUnknownKey
}

// fetch gets the list, asking for it only if it changed from cur.
func (k *FetchedKeys) fetch(ctx context.Context, cur *fetched, now time.Time) (*fetched, error) {
	k.fetches.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, errors.New("scanning: fetching public keys: bad request")
	}
	req.Header.Set("Accept", "application/json")
	if cur != nil && k.etag != "" {
		req.Header.Set("If-None-Match", k.etag)
	}
	resp, err := k.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // a *url.Error repeats the URL, which may hold credentials
		}
		return nil, fmt.Errorf("scanning: fetching public keys: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && cur != nil:
		return &fetched{keys: cur.keys, at: now}, nil
	case resp.StatusCode != http.StatusOK:
		return nil, errors.New("scanning: fetching public keys: status " + strconv.Itoa(resp.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeyListBytes+1))
	if err != nil {
		return nil, fmt.Errorf("scanning: fetching public keys: %w", err)
	}
	if len(body) > maxKeyListBytes {
		return nil, errors.New("scanning: fetching public keys: the list is larger than 1 MiB")
	}
	keys, err := parseKeyList(body)
	if err != nil {
		return nil, err
	}
	k.etag = resp.Header.Get("ETag")
	return &fetched{keys: keys, at: now}, nil
}

// Fetches returns how many fetches k has begun, for a service's metrics
// and its tests.
func (k *FetchedKeys) Fetches() int64 { return k.fetches.Load() }

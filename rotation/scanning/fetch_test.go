package scanning_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/rotation/scanning"
)

// github serves a key list, as api.github.com does, and counts the
// fetches; the list and the status can be changed between them.
type github struct {
	fetches atomic.Int64

	mu     sync.Mutex // guards the fields below
	list   []byte
	status int    // 0: 200
	etag   string // sent, and honoured with 304
}

func (g *github) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.fetches.Add(1)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.status != 0 {
		w.WriteHeader(g.status)
		return
	}
	if g.etag != "" {
		if r.Header.Get("If-None-Match") == g.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", g.etag)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(g.list)
}

func (g *github) set(list []byte, status int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.list, g.status = list, status
}

// fetchedKeys returns keys fetched from a server with the given list, on
// clock.
func fetchedKeys(t *testing.T, clock *rotationtest.Clock, list []byte) (*scanning.FetchedKeys, *github) {
	t.Helper()
	g := &github{list: list}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	keys, err := scanning.NewFetchedKeys(srv.URL+"/meta/public_keys/secret_scanning", &scanning.FetchOptions{Client: srv.Client(), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return keys, g
}

func TestFetchedKeysFetchOnceAndCache(t *testing.T) {
	is := is.New(t)
	clock := rotationtest.NewClock(t0)
	a := newSigner(t, "key-a")
	keys, g := fetchedKeys(t, clock, keyList(t, a))
	is.Equal(keys.Fetches(), int64(0)) // nothing fetched before a report
	for range 10 {
		pub, err := keys.PublicKey(t.Context(), "key-a")
		is.NoErr(err)
		is.True(pub.Equal(&a.priv.PublicKey)) // the key listed
	}
	is.Equal(g.fetches.Load(), int64(1)) // fetched once
	is.Equal(keys.Fetches(), int64(1))
}

// GitHub signs with a key not yet seen here: the report that names it
// fetches the list again, once, and is verified.
func TestFetchedKeysUnknownIdentifierFetchesAgain(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, backends[0].open(t), nil, nil)
	old, next := newSigner(t, "key-old"), newSigner(t, "key-new")
	keys, g := fetchedKeys(t, f.clock, keyList(t, old))
	h, err := scanning.New(f.r, keys, nil)
	is.NoErr(err)
	k := f.create(t, "acme")
	b := body(t, match{Token: k.Value.Reveal(), Type: "acme_api_key"})

	is.Equal(post(h, b, old.id, old.sign(t, b)).Code, http.StatusOK) // the first fetch
	g.set(keyList(t, old, next), 0)                                  // GitHub adds a key
	f.clock.Advance(2 * time.Minute)
	got := feedback(t, post(h, b, next.id, next.sign(t, b)))
	is.Equal(got[0].Label, "true_positive") // verified with the key fetched
	is.Equal(g.fetches.Load(), int64(2))    // by one more fetch
	is.Equal(post(h, b, next.id, next.sign(t, b)).Code, http.StatusOK)
	is.Equal(g.fetches.Load(), int64(2)) // and none after
}

// Identifiers come from requests: a flood of made-up ones fetches at most
// once per MinInterval, and the keys known keep verifying meanwhile.
func TestFetchedKeysFloodOfUnknownIdentifiers(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, backends[0].open(t), nil, nil)
	a := newSigner(t, "key-a")
	keys, g := fetchedKeys(t, f.clock, keyList(t, a))
	h, err := scanning.New(f.r, keys, nil)
	is.NoErr(err)
	b := []byte("[]")
	is.Equal(post(h, b, a.id, a.sign(t, b)).Code, http.StatusOK) // one fetch
	var wg sync.WaitGroup
	for round := range 3 {
		f.clock.Advance(scanning.DefaultMinInterval)
		for i := range 200 {
			wg.Go(func() {
				w := post(h, b, fmt.Sprintf("made-up-%d-%d", round, i), a.sign(t, b))
				if w.Code != http.StatusUnauthorized {
					t.Errorf("a made-up identifier got %d", w.Code)
				}
			})
		}
		wg.Wait()
		is.Equal(g.fetches.Load(), int64(2+round))                   // one more fetch each interval, whatever the flood
		is.Equal(post(h, b, a.id, a.sign(t, b)).Code, http.StatusOK) // the known key verifies throughout
	}
}

func TestFetchedKeysFailures(t *testing.T) {
	is := is.New(t)
	clock := rotationtest.NewClock(t0)
	a := newSigner(t, "key-a")
	keys, g := fetchedKeys(t, clock, keyList(t, a))
	g.set(nil, http.StatusForbidden) // rate limited, say

	_, err := keys.PublicKey(t.Context(), "key-a")
	is.True(errors.Is(err, scanning.ErrKeysUnavailable)) // no keys yet: unavailable, not unknown
	is.True(!errors.Is(err, scanning.ErrUnknownKey))
	is.True(strings.Contains(err.Error(), "403"))        // saying why
	is.True(!strings.Contains(err.Error(), "127.0.0.1")) // never where
	_, err = keys.PublicKey(t.Context(), "key-a")
	is.True(errors.Is(err, scanning.ErrKeysUnavailable)) // and no new fetch within the interval
	is.Equal(g.fetches.Load(), int64(1))

	g.set(keyList(t, a), 0)
	clock.Advance(scanning.DefaultMinInterval)
	_, err = keys.PublicKey(t.Context(), "key-a")
	is.NoErr(err) // the next interval's fetch succeeds

	// Once the list is a day old it is fetched again; if that fails, the
	// keys held serve on.
	g.set([]byte(`{"public_keys": []}`), 0)
	clock.Advance(scanning.DefaultMaxAge)
	_, err = keys.PublicKey(t.Context(), "key-a")
	is.NoErr(err)                        // served from the old list
	is.Equal(g.fetches.Load(), int64(3)) // after trying a fetch
}

func TestFetchedKeysConditionalRequests(t *testing.T) {
	is := is.New(t)
	clock := rotationtest.NewClock(t0)
	a := newSigner(t, "key-a")
	keys, g := fetchedKeys(t, clock, keyList(t, a))
	g.etag = `"v1"`
	_, err := keys.PublicKey(t.Context(), "key-a")
	is.NoErr(err)
	clock.Advance(scanning.DefaultMaxAge)
	_, err = keys.PublicKey(t.Context(), "key-a") // 304: the list held is kept, and younger
	is.NoErr(err)
	_, err = keys.PublicKey(t.Context(), "key-a")
	is.NoErr(err)
	is.Equal(g.fetches.Load(), int64(2)) // no third fetch: the 304 renewed the list
}

func TestNewFetchedKeysRefuses(t *testing.T) {
	for _, u := range []string{"", "api.github.com/meta", "ftp://x/y", "https://user:secret@/"} {
		_, err := scanning.NewFetchedKeys(u, nil)
		if _, ok := errors.AsType[*scanning.OptionError](err); !ok {
			t.Errorf("URL %q: got %v, want an *OptionError", u, err)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("the error repeats the URL")
		}
	}
	if _, err := scanning.NewFetchedKeys(scanning.GitHubKeysURL, &scanning.FetchOptions{MinInterval: -1}); !errors.As(err, new(*scanning.OptionError)) {
		t.Errorf("a negative MinInterval: got %v, want an *OptionError", err)
	}
}

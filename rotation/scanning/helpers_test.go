package scanning_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationtest"
	"github.com/rotorkit/rotor/rotation/scanning"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/memstore"
	"github.com/rotorkit/rotor/store/sqlstore/sqlstoretest"
)

// t0 is where every test clock starts.
var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// backends are the stores the handler is tested over.
var backends = []struct {
	name string
	open func(t *testing.T) store.Store
}{
	{"memstore", func(*testing.T) store.Store { return memstore.New() }},
	{"SQLite", func(t *testing.T) store.Store { return sqlstoretest.SQLite(t).Open(t) }},
}

// eachStore runs test over each backend.
func eachStore(t *testing.T, test func(t *testing.T, st store.Store)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b.open(t)) })
	}
}

// signer stands for GitHub: a P-256 key and its identifier.
type signer struct {
	id   string
	priv *ecdsa.PrivateKey
}

func newSigner(t testing.TB, id string) signer {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signer{id: id, priv: priv}
}

// sign returns the Github-Public-Key-Signature of body.
func (s signer) sign(t testing.TB, body []byte) string {
	t.Helper()
	digest := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, s.priv, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// keyList returns the JSON GitHub publishes, listing signers' keys.
func keyList(t testing.TB, signers ...signer) []byte {
	t.Helper()
	type entry struct {
		KeyIdentifier string `json:"key_identifier"`
		Key           string `json:"key"`
		IsCurrent     bool   `json:"is_current"`
	}
	var list struct {
		PublicKeys []entry `json:"public_keys"`
	}
	for i, s := range signers {
		der, err := x509.MarshalPKIXPublicKey(&s.priv.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		list.PublicKeys = append(list.PublicKeys, entry{s.id, string(pemKey), i == len(signers)-1})
	}
	b, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// staticKeys returns the keys of signers as a KeySource.
func staticKeys(t testing.TB, signers ...signer) *scanning.StaticKeys {
	t.Helper()
	keys, err := scanning.ParseKeys(keyList(t, signers...))
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// countingStore counts the lookups and saves that reach the store.
type countingStore struct {
	store.Store
	lookups, saves atomic.Int64
}

func (c *countingStore) Lookup(ctx context.Context, d secrets.Digest) (store.Match, error) {
	c.lookups.Add(1)
	return c.Store.Lookup(ctx, d)
}

func (c *countingStore) Save(ctx context.Context, ks store.Keyset) error {
	c.saves.Add(1)
	return c.Store.Save(ctx, ks)
}

// fixture is a Handler over a Rotator over a counting store, with a
// stepped clock, GitHub's signer, and what was logged and observed.
type fixture struct {
	r      *rotation.Rotator
	st     *countingStore
	clock  *rotationtest.Clock
	github signer
	h      http.Handler
	logs   *secretstest.Logs

	mu     sync.Mutex // guards events
	events []rotation.Event
}

// newFixture returns a fixture over st whose handler takes opts, with
// the Rotator's options edited by edit, if not nil.
func newFixture(t *testing.T, st store.Store, opts *scanning.Options, edit func(*rotation.Options)) *fixture {
	t.Helper()
	f := &fixture{st: &countingStore{Store: st}, clock: rotationtest.NewClock(t0), github: newSigner(t, "github-key-1"), logs: &secretstest.Logs{}}
	ropts := &rotation.Options{Now: f.clock.Now, Observer: func(_ context.Context, e rotation.Event) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.events = append(f.events, e)
	}}
	if edit != nil {
		edit(ropts)
	}
	var err error
	if f.r, err = rotation.New(f.st, ropts); err != nil {
		t.Fatal(err)
	}
	var o scanning.Options
	if opts != nil {
		o = *opts
	}
	o.Logger = slog.New(slog.NewTextHandler(f.logs, nil))
	if f.h, err = scanning.New(f.r, staticKeys(t, f.github), &o); err != nil {
		t.Fatal(err)
	}
	return f
}

// seen returns the kinds of events observed so far and forgets them.
func (f *fixture) seen() []rotation.EventKind {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []rotation.EventKind
	for _, e := range f.events {
		out = append(out, e.Kind)
	}
	f.events = nil
	return out
}

// create makes a key for owner.
func (f *fixture) create(t *testing.T, owner string) *rotation.Issued {
	t.Helper()
	iss, err := f.r.Create(t.Context(), owner, rotation.Spec{})
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

// works reports whether key authenticates.
func (f *fixture) works(t *testing.T, key secrets.Value) bool {
	t.Helper()
	_, err := f.r.Authenticate(t.Context(), key.Reveal(), rotation.Request{})
	if err != nil && !errors.Is(err, rotation.ErrInvalidKey) {
		t.Fatal(err)
	}
	return err == nil
}

// match is one entry of a report.
type match struct {
	Token  string `json:"token"`
	Type   string `json:"type"`
	URL    string `json:"url"`
	Source string `json:"source"`
}

// body returns the JSON of a report of matches.
func body(t testing.TB, matches ...match) []byte {
	t.Helper()
	b, err := json.Marshal(matches)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// post sends body to the handler with the headers given (none when
// empty) and returns the response.
func post(h http.Handler, body []byte, keyID, signature string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/secret-scanning/report", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if keyID != "" {
		req.Header.Set(scanning.HeaderKeyID, keyID)
	}
	if signature != "" {
		req.Header.Set(scanning.HeaderSignature, signature)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// report sends matches signed by GitHub's key and returns the response.
func (f *fixture) report(t *testing.T, matches ...match) *httptest.ResponseRecorder {
	t.Helper()
	b := body(t, matches...)
	return post(f.h, b, f.github.id, f.github.sign(t, b))
}

// feedback decodes a 200 reply, or fails the test.
func feedback(t *testing.T, w *httptest.ResponseRecorder) []scanning.Feedback {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", w.Code, w.Body)
	}
	var out []scanning.Feedback
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("reply is not the feedback list: %v", err)
	}
	return out
}

// hash is the token_hash of token.
func hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hexString(sum[:])
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

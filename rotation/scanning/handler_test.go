package scanning_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/scanning"
	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store"
)

func TestGoodReportRevokesAndReplies(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		is := is.New(t)
		f := newFixture(t, st, nil, nil)
		k := f.create(t, "acme")
		other := f.create(t, "acme")
		f.seen()
		typo := typoOf(k.Value.Reveal())
		w := f.report(t,
			match{Token: k.Value.Reveal(), Type: "acme_api_key", URL: "https://github.com/o/r/blob/1/.env", Source: "content"},
			match{Token: typo, Type: "acme_api_key", URL: "https://github.com/o/r/blob/1/a", Source: "commit"},
		)
		want := []scanning.Feedback{
			{TokenHash: hash(k.Value.Reveal()), TokenType: "acme_api_key", Label: "true_positive"},
			{TokenHash: hash(typo), TokenType: "acme_api_key", Label: "false_positive"},
		}
		if d := cmp.Diff(want, feedback(t, w)); d != "" {
			t.Fatalf("feedback (-want +got):\n%s", d)
		}
		is.Equal(w.Header().Get("Content-Type"), "application/json")
		is.True(!f.works(t, k.Value))    // the leaked key is revoked
		is.True(f.works(t, other.Value)) // the owner's other key is not
		is.Equal(f.seen(), []rotation.EventKind{rotation.EventLeaked, rotation.EventRevoked})
		secretstest.NoLeak(t, w.Body.String(), k.Value.Reveal(), typo) // the reply holds digests only
		secretstest.NoLeak(t, f.logs.String(), k.Value.Reveal(), typo) // and so do the logs
		is.True(strings.Contains(f.logs.String(), "true_positives=1")) // which count
	})
}

func TestReportOnlyKeepsTheKey(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		is := is.New(t)
		f := newFixture(t, st, &scanning.Options{Policy: rotation.LeakReportOnly}, nil)
		k := f.create(t, "acme")
		f.seen()
		saves := f.st.saves.Load()
		got := feedback(t, f.report(t, match{Token: k.Value.Reveal(), Type: "acme_api_key"}))
		is.Equal(got[0].Label, "true_positive")                        // reported true
		is.True(f.works(t, k.Value))                                   // and kept working
		is.Equal(f.st.saves.Load(), saves)                             // with nothing saved
		is.Equal(f.seen(), []rotation.EventKind{rotation.EventLeaked}) // but an event
	})
}

// A previous value in grace has only its window ended: the customer's
// current value works on.
func TestReportOfAPreviousValue(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, backends[0].open(t), nil, nil)
	k := f.create(t, "acme")
	next, err := f.r.Regenerate(t.Context(), "acme", k.ID, time.Hour)
	is.NoErr(err)
	got := feedback(t, f.report(t, match{Token: k.Value.Reveal(), Type: "acme_api_key"}))
	is.Equal(got[0].Label, "true_positive")
	is.True(!f.works(t, k.Value))   // the leaked value stops
	is.True(f.works(t, next.Value)) // the current one works
}

func TestBadSignaturesChangeNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		f := newFixture(t, st, nil, nil)
		k := f.create(t, "acme")
		f.seen()
		good := body(t, match{Token: k.Value.Reveal(), Type: "acme_api_key"})
		stranger := newSigner(t, f.github.id) // GitHub's identifier, another key
		sig := f.github.sign(t, good)
		tests := []struct {
			name       string
			body       []byte
			keyID, sig string
		}{
			{"unsigned", good, "", ""},
			{"no signature", good, f.github.id, ""},
			{"no identifier", good, "", sig},
			{"unknown identifier", good, "github-key-2", sig},
			{"signed by another key", good, f.github.id, stranger.sign(t, good)},
			{"signature of another body", good, f.github.id, f.github.sign(t, []byte("[]"))},
			{"body changed after signing", append(good[:len(good)-1:len(good)-1], []byte(`,{"token":"x"}]`)...), f.github.id, sig},
			{"signature not base64", good, f.github.id, "not*base64"},
			{"signature cut short", good, f.github.id, sig[:len(sig)-8]},
			{"signature too long", good, f.github.id, strings.Repeat("A", 4096)},
			{"malformed JSON, unsigned", []byte("{not json"), "", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				is := is.New(t)
				lookups, saves := f.st.lookups.Load(), f.st.saves.Load()
				w := post(f.h, tt.body, tt.keyID, tt.sig)
				is.Equal(w.Code, http.StatusUnauthorized) // refused
				is.True(f.works(t, k.Value))              // the key still works
				is.Equal(f.st.lookups.Load(), lookups)    // nothing was looked up
				is.Equal(f.st.saves.Load(), saves)        // nor saved
				is.Equal(len(f.seen()), 0)                // nor reported
				secretstest.NoLeak(t, w.Body.String(), k.Value.Reveal())
			})
		}
		secretstest.NoLeak(t, f.logs.String(), k.Value.Reveal()) // refusals log no token
	})
}

func TestMalformedReports(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, backends[0].open(t), nil, nil)
	k := f.create(t, "acme")
	for _, b := range []string{"", "{}", `{"token":"x"}`, "[{", `[{"token": 7}]`, "null", `"text"`} {
		w := post(f.h, []byte(b), f.github.id, f.github.sign(t, []byte(b)))
		is.Equal(w.Code, http.StatusBadRequest) // a well-signed body that is no report
	}
	got := feedback(t, post(f.h, []byte(" [] "), f.github.id, f.github.sign(t, []byte(" [] "))))
	is.Equal(len(got), 0)        // an empty report has an empty reply
	is.True(f.works(t, k.Value)) // and nothing changed
}

func TestLimits(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, backends[0].open(t), &scanning.Options{MaxBodyBytes: 64}, nil)
	big := body(t, match{Token: strings.Repeat("x", 100)})
	is.Equal(post(f.h, big, f.github.id, f.github.sign(t, big)).Code, http.StatusRequestEntityTooLarge)

	req := httptest.NewRequest(http.MethodGet, "/secret-scanning/report", nil)
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	is.Equal(w.Code, http.StatusMethodNotAllowed) // only POST
	is.Equal(w.Header().Get("Allow"), "POST")

	r := f.r
	_, err := scanning.New(r, staticKeys(t, f.github), &scanning.Options{MaxBodyBytes: -1})
	oerr, ok := errors.AsType[*scanning.OptionError](err)
	is.True(ok)                                  // a negative limit is refused
	is.Equal(oerr.Field, "Options.MaxBodyBytes") // and named
	_, err = scanning.New(r, staticKeys(t, f.github), &scanning.Options{Policy: rotation.LeakPolicy(5)})
	oerr, ok = errors.AsType[*scanning.OptionError](err)
	is.True(ok) // so is a policy that does not exist
	is.Equal(oerr.Field, "Options.Policy")
}

// Tokens of another format, or with a bad checksum, are false positives
// decided offline: the store is never asked.
func TestFalsePositivesCostNoLookup(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		is := is.New(t)
		f := newFixture(t, st, nil, nil)
		k := f.create(t, "acme").Value.Reveal()
		f.r, _ = rotation.New(f.st, &rotation.Options{Now: f.clock.Now}) // nothing cached
		var err error
		f.h, err = scanning.New(f.r, staticKeys(t, f.github), nil)
		is.NoErr(err)
		webhook, err := secrets.Webhook.Generate()
		is.NoErr(err)
		tokens := []string{
			k[:len(k)-1] + string(k[len(k)-1]^1), // bad checksum
			"ghp_0123456789abcdefghijklmnopqrstuvwxyzAB",
			"AKIAIOSFODNN7EXAMPLE",
			webhook.Reveal(),
			"",
		}
		var matches []match
		for _, tok := range tokens {
			matches = append(matches, match{Token: tok, Type: "acme_api_key"})
		}
		got := feedback(t, f.report(t, matches...))
		is.Equal(len(got), len(tokens))
		for i, fb := range got {
			is.Equal(fb.Label, "false_positive") // every one false
			is.Equal(fb.TokenHash, hash(tokens[i]))
		}
		is.Equal(f.st.lookups.Load(), int64(0)) // and none looked up
		secretstest.NoLeak(t, f.logs.String(), webhook.Reveal())
	})
}

// Well-formed unknown tokens are looked up within the Rotator's cap; past
// it the report is to be sent again.
func TestUnknownTokensBeyondTheCap(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, backends[0].open(t), nil, func(o *rotation.Options) { o.Cache.MaxMissLookups = 2 })
	var matches []match
	for range 5 {
		v, err := rotation.DefaultFormat.Generate()
		is.NoErr(err)
		matches = append(matches, match{Token: v.Reveal(), Type: "acme_api_key"})
	}
	w := f.report(t, matches...)
	is.Equal(w.Code, http.StatusServiceUnavailable) // retry later
	is.Equal(w.Header().Get("Retry-After"), "1")
	is.Equal(f.st.lookups.Load(), int64(2)) // the cap held
}

// typoOf returns key with its 21st character replaced by another, as a
// typo would: a checksum the key no longer matches.
func typoOf(key string) string {
	c := byte('x')
	if key[20] == c {
		c = 'y'
	}
	return key[:20] + string(c) + key[21:]
}

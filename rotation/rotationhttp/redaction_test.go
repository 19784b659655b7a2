package rotationhttp_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/secrets/secretstest"
)

// TestNoKeyInAnswersOrLogs presents a key, and near misses of it, in every
// way a request can fail, and looks for any form of them in every answer
// and every log line.
func TestNoKeyInAnswersOrLogs(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, nil)
	id, key := f.create(t, "acme", rotation.Spec{Scopes: []string{"secrets:write"}, RateLimit: 2})
	_, fenced := f.create(t, "fenced", rotation.Spec{Scopes: readScope, Networks: internal})
	flipped := []byte(key)
	flipped[len(flipped)-1] ^= 1
	presented := []string{
		key[:len(key)-1],     // truncated
		string(flipped),      // a typo
		key + "x",            // extended
		strings.ToUpper(key), // mangled
		"sk_test_" + key[8:], // another environment
	}
	var answers []string
	send := func(req request) {
		w := f.do(t, req)
		is.True(w.Code >= 400) // every one of these is refused
		answers = append(answers, wire(w))
	}
	for _, p := range presented {
		send(request{path: "/v1/whoami", header: bearer(p)})
		send(request{path: "/v1/whoami", header: http.Header{"Authorization": {"Basic " + p}}})
	}
	send(request{path: "/v1/whoami", header: bearer(key)})                  // scope not granted
	send(request{path: "/v1/whoami", header: bearer(fenced)})               // network refused
	send(request{path: "/v1/whoami", header: withXFF(bearer(fenced), key)}) // a key where an address goes
	regenerate := func(body string) {
		send(request{method: http.MethodPost, path: "/v1/secrets/" + id + "/regenerate", header: bearer(key), body: body})
	}
	regenerate(`{"oldSecretValidForSeconds": "` + key + `"}`) // a key where a number goes
	regenerate(`{"` + key + `": 1}`)                          // a key where a name goes
	regenerate(`{"oldSecretValidForSeconds": 1.5}`)           // rate limited
	f.clock.Advance(time.Minute)
	regenerate(`{"` + key + `": 1, "` + key + `": 2}`) // a key repeated where a name goes
	regenerate(`{"oldSecretValidForSeconds": 1.5, "name": "` + key + `"}`)
	f.clock.Advance(time.Minute)
	// A key where the id goes: unknown, and not to be repeated in the
	// problem's instance and resourceId, nor in the log's path.
	send(request{method: http.MethodPost, path: "/v1/secrets/" + key + "/regenerate", header: bearer(key), body: "{}"})

	// Pieces of a key, as long as a name or an id, where names and ids go.
	// They are sent with another key, which has no rate limit, so each
	// reaches the handler and is refused for what it holds.
	_, free := f.create(t, "free", rotation.Spec{Scopes: []string{"secrets:write"}})
	pieces := []string{key[:24], key[:32], key[:40]}
	own := "/v1/secrets/" + id + "/regenerate"
	for _, piece := range pieces {
		for _, tc := range []struct {
			path, body string
			want       int
		}{
			{"/v1/secrets/" + piece + "/regenerate", "{}", http.StatusNotFound},               // where the id goes
			{own, `{"` + piece + `": 1}`, http.StatusUnprocessableEntity},                     // where a name goes
			{own, `{"` + piece + `": 1, "` + piece + `": 2}`, http.StatusUnprocessableEntity}, // repeated
		} {
			w := f.do(t, request{method: http.MethodPost, path: tc.path, header: bearer(free), body: tc.body})
			is.Equal(w.Code, tc.want) // refused for the piece, not for the key
			answers = append(answers, wire(w))
		}
	}

	refusals := len(answers) // each logged by the Authenticator

	// A key pasted into a URL that no route takes, or that ServeMux would
	// clean and redirect to: answered by Routes, which logs nothing.
	for _, path := range []string{
		"/v1/nothing/" + key,
		"//v1//secrets//" + key,
		"/v1/./secrets/" + key,
		"/v1/secrets/../" + key,
		"/v1/secrets/" + key + "/",
	} {
		w := f.do(t, request{path: path, header: bearer(free)})
		is.Equal(w.Code, http.StatusNotFound) // no such route, and no redirect
		answers = append(answers, wire(w))
	}

	logs := f.logs.String()
	is.Equal(strings.Count(logs, "\n"), refusals) // one log line per refusal
	leaks := slices.Concat(presented, pieces, []string{key, fenced})
	for _, out := range append(answers, logs) {
		secretstest.NoLeak(t, out, leaks...)
	}
}

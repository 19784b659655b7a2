package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/rotationhttp"
	"github.com/rotorkit/rotor/store"
)

// rendered renders f and returns the status and the error object sent.
func rendered(t *testing.T, f rotationhttp.Failure) (int, reply) {
	t.Helper()
	w := httptest.NewRecorder()
	render(w, httptest.NewRequest("GET", "/v1/api-keys", nil), f)
	var res reply
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || res.Error == nil {
		t.Fatalf("the reply is not an error envelope: %s", w.Body)
	}
	return w.Code, res
}

// readmeCodes returns the table of error codes in README.md: each numeric
// code with its HTTP status.
func readmeCodes(t *testing.T) map[int]int {
	t.Helper()
	text, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	codes := make(map[int]int)
	for _, m := range regexp.MustCompile(`(?m)^\| (\d{4}) \| (\d{3}) \|`).FindAllStringSubmatch(string(text), -1) {
		code, _ := strconv.Atoi(m[1])
		status, _ := strconv.Atoi(m[2])
		codes[code] = status
	}
	return codes
}

// TestErrorTable checks the numeric codes against README.md's table:
// every error the routes can meet is sent with its status, the numeric
// code the table gives it, and a message, in both places; no two kinds of
// failure share a code; and every code in the table is one of them.
func TestErrorTable(t *testing.T) {
	documented := readmeCodes(t)
	met := make(map[int]string) // numeric code: the Failure code sent with it
	for _, c := range []struct {
		name string
		err  error
		code int
	}{
		{"body unreadable", &rotationhttp.BodyError{Field: "body", Err: rotationhttp.ErrUnreadableBody}, 4000},
		{"no key", &rotation.AuthError{Err: rotation.ErrMissingKey}, 4010},
		{"key unknown", &rotation.AuthError{Err: rotation.ErrInvalidKey}, 4011},
		{"key expired", &rotation.AuthError{Err: rotation.ErrExpired}, 4011},
		{"publishable key", mustRefuse(t, "pk_live_0123456789abcdef"), 4030},
		{"permission not granted", &rotation.AuthError{Err: rotation.ErrScopeNotGranted, Scope: "account:api:key:read"}, 4031},
		{"permission not held", rotationhttp.ErrPermissionDenied, 4032},
		{"key not found", &rotation.SecretError{Err: rotation.ErrNotFound, ID: "sec_x"}, 4040},
		{"no such route", &rotationhttp.Failure{Status: http.StatusNotFound, Code: rotationhttp.CodeNotFound, Message: "no such route"}, 4041},
		{"method not allowed", &rotationhttp.Failure{Status: http.StatusMethodNotAllowed, Code: rotationhttp.CodeMethodNotAllowed, Message: "x"}, 4050},
		{"custom key", &rotation.SecretError{Err: rotation.ErrNotManaged, ID: "sec_x"}, 4090},
		{"key expired, regenerated", &rotation.SecretError{Err: rotation.ErrNotActive, ID: "sec_x"}, 4091},
		{"too many keys", &rotation.LimitError{Limit: maxKeys}, 4092},
		{"body too large", &rotationhttp.BodyError{Field: "body", Err: rotationhttp.ErrBodyTooLarge}, 4130},
		{"invalid member", &rotation.ValidationError{Field: "Name", Reason: "must be at most 200 bytes"}, 4220},
		{"rate limit", &rotationhttp.RateLimitError{Limit: rateLimit}, 4290},
		{"a bug", errors.New("boom"), 5000},
		{"misconfigured", &rotation.OptionError{Field: "Keyring"}, 5000},
		{"store down", &store.OpError{Op: "load", Err: errors.New("connection refused")}, 5030},
		{"concurrent changes", rotation.ErrConflict, 5030},
		{"deadline", context.DeadlineExceeded, 5030},
	} {
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			f := rotationhttp.FailureFor(c.err)
			status, res := rendered(t, f)
			is.Equal(res.Error.Code, c.code)                     // the numeric code
			is.Equal(documented[c.code], status)                 // is in README.md's table, with the status sent
			is.True(res.Error.Message != "")                     // with a message
			is.Equal(res.Message, res.Error.Message)             // in both places
			is.True(!res.Success)                                // as a failure
			if other, ok := met[c.code]; ok && other != f.Code { // no two kinds of failure share a code
				t.Errorf("%d is both %s and %s", c.code, other, f.Code)
			}
			met[c.code] = f.Code
		})
	}
	for code := range documented {
		if _, ok := met[code]; !ok {
			t.Errorf("README.md lists %d, which no failure is sent with", code)
		}
	}
}

// mustRefuse returns the error secretKey refuses key with.
func mustRefuse(t *testing.T, key string) error {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/v1/api-keys", nil)
	r.Header.Set("Authorization", "Bearer "+key)
	_, err := secretKey(r)
	if err == nil {
		t.Fatalf("secretKey let %s through", key)
	}
	return err
}

// TestInternalErrorsSayNothing checks that a 500 says that it is one, and
// nothing more.
func TestInternalErrorsSayNothing(t *testing.T) {
	is := is.New(t)
	status, res := rendered(t, rotationhttp.FailureFor(errors.New("pq: password authentication failed for user rotor")))
	is.Equal(status, http.StatusInternalServerError)          // a 500
	is.Equal(res.Error.Code, 5000)                            // an internal error
	is.Equal(res.Error.Message, "an internal error occurred") // that says so
	is.Equal(res.Error.Details, map[string]any{})             // and nothing more
}

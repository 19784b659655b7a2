package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
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

// TestErrorTable checks the table of errors against rotationhttp's
// mapping: every error the routes can meet gets a Failure code of the
// table, with the status the table gives it, and is sent with that status
// and the table's numeric code and message.
func TestErrorTable(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		code int
	}{
		{"body unreadable", &rotationhttp.BodyError{Field: "body", Err: rotationhttp.ErrUnreadableBody}, 4000},
		{"no key", &rotation.AuthError{Err: rotation.ErrMissingKey}, 4010},
		{"key unknown", &rotation.AuthError{Err: rotation.ErrInvalidKey}, 4011},
		{"key expired", &rotation.AuthError{Err: rotation.ErrExpired}, 4011},
		{"permission not granted", &rotation.AuthError{Err: rotation.ErrScopeNotGranted, Scope: "account:api:key:read"}, 4031},
		{"permission not held", rotationhttp.ErrPermissionDenied, 4032},
		{"key not found", &rotation.SecretError{Err: rotation.ErrNotFound, ID: "sec_x"}, 4040},
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
			e, ok := errorTable[f.Code]
			is.True(ok)                  // the Failure's code is in the table
			is.Equal(e.status, f.Status) // with rotationhttp's status
			status, res := rendered(t, f)
			is.Equal(status, e.status)             // it is sent with the table's status
			is.Equal(res.Error.Code, c.code)       // and numeric code
			is.Equal(res.Error.Message, e.message) // and message
			is.Equal(res.Message, e.message)       // in both places
			is.True(!res.Success)                  // as a failure
			is.Equal(status, res.Error.Code/10)    // the numeric code begins with the status
		})
	}
}

// TestOtherCodesAreInternal checks that a Failure code that is not in the
// table, which no route meets, is sent as an internal error.
func TestOtherCodesAreInternal(t *testing.T) {
	is := is.New(t)
	for _, code := range []string{rotationhttp.CodeDesignatedSecret, rotationhttp.CodeSecretChanged, "", "made_up"} {
		status, res := rendered(t, rotationhttp.Failure{Status: http.StatusConflict, Code: code, ResourceID: "sec_x"})
		is.Equal(status, http.StatusInternalServerError) // an unknown code is a 500
		is.Equal(res.Error.Code, 5000)                   // an internal error
		is.Equal(res.Error.Details, map[string]any{})    // and says nothing more
	}
}

// TestNumericCodesAreUnique checks that no two rows of the table share a
// numeric code.
func TestNumericCodesAreUnique(t *testing.T) {
	is := is.New(t)
	seen := make(map[int]string)
	for code, e := range errorTable {
		_, dup := seen[e.code]
		is.True(!dup) // each numeric code names one failure
		seen[e.code] = code
	}
}

package rotationhttp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/ratelimit"
	"github.com/rotorkit/rotor/rotation/rotationhttp"
	"github.com/rotorkit/rotor/secrets/secretstest"
	"github.com/rotorkit/rotor/store"
	"github.com/rotorkit/rotor/store/memstore"
)

// client is the address the network refusals of rotorErrors come from.
var client = netip.MustParseAddr("198.51.100.7")

// ownFailure is a failure a service makes itself, returned as an error.
var ownFailure = &rotationhttp.Failure{Status: http.StatusForbidden, Code: "publishable_key", Message: "use a secret key"}

// rotorErrors returns errors made by a real Rotator, Signer and decoder,
// so the mapping is tested against what they return, not what they
// document.
func rotorErrors(t *testing.T, f *fixture) map[string]error {
	t.Helper()
	ctx := t.Context()
	out := make(map[string]error)
	designated, _ := f.create(t, "acme", rotation.Spec{HMAC: true}) // the first that can sign
	custom, _ := f.create(t, "acme", rotation.Spec{Custom: true})
	revoked, revokedKey := f.create(t, "acme", rotation.Spec{})
	if err := f.rot.Revoke(ctx, "acme", revoked); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		f.create(t, "full", rotation.Spec{})
	}
	_, out["limit"] = f.rot.Create(ctx, "full", rotation.Spec{})
	_, out["not found"] = f.rot.Regenerate(ctx, "acme", "sec_nosuchsecretnosuchsecretxx", 0)
	_, out["not an id"] = f.rot.Regenerate(ctx, "acme", "sk_live_pasted_where_an_id_goes", 0)
	out["designated"] = f.rot.Delete(ctx, "acme", designated)
	_, out["custom"] = f.rot.Regenerate(ctx, "acme", custom, 0)
	_, out["not active"] = f.rot.Regenerate(ctx, "acme", revoked, 0)
	_, out["grace"] = f.rot.Regenerate(ctx, "acme", designated, 2*time.Hour)
	out["cannot sign"] = f.rot.SetSigning(ctx, "acme", custom) // created without HMAC
	changed, _ := f.create(t, "changed", rotation.Spec{})
	seen, err := f.rot.Get(ctx, "changed", changed)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.rot.Regenerate(ctx, "changed", changed, 0) // by someone else, after seen was read
	if err != nil {
		t.Fatal(err)
	}
	f.keys = append(f.keys, res.Value.Reveal())
	_, out["stale"] = f.rot.RegenerateIf(ctx, "changed", changed, seen.Current.ID, 0)
	_, out["no signing key"] = hmacsign.NewSigner(f.rot, nil).Sign(ctx, "changed", "", []byte("{}"))

	_, out["missing key"] = f.rot.Authenticate(ctx, "", rotation.Request{})
	_, out["malformed key"] = f.rot.Authenticate(ctx, "sk_live_nope", rotation.Request{})
	_, out["unknown key"] = f.rot.Authenticate(ctx, unknownKey(t), rotation.Request{})
	_, out["revoked key"] = f.rot.Authenticate(ctx, revokedKey, rotation.Request{Scope: "secrets:read"})
	_, fenced := f.create(t, "fenced", rotation.Spec{Scopes: readScope, Networks: internal})
	_, out["network"] = f.rot.Authenticate(ctx, fenced, rotation.Request{IP: client, Scope: "secrets:read"})
	_, out["scope"] = f.rot.Authenticate(ctx, fenced, rotation.Request{IP: netip.MustParseAddr("10.1.2.3"), Scope: "secrets:write"})

	var req struct {
		APIToken struct {
			Name string `json:"name"`
		} `json:"api_token"`
	}
	out["unknown member"] = rotationhttp.DecodeJSON(post(`{"api_token": {"name": "ci", "colour": "red"}}`), &req)
	out["body too large"] = rotationhttp.DecodeJSON(post(`{"api_token": {"name": "`+strings.Repeat("x", rotationhttp.MaxBody)+`"}}`), &req)
	unreadable := post("")
	unreadable.Body, unreadable.ContentLength = io.NopCloser(iotest.ErrReader(io.ErrUnexpectedEOF)), -1
	out["unreadable body"] = rotationhttp.DecodeJSON(unreadable, &req)

	_, expiring := f.create(t, "expiring", rotation.Spec{ExpiresAt: t0.Add(time.Hour)})
	f.clock.Advance(2 * time.Hour) // last: the clock moves for every secret
	_, out["expired key"] = f.rot.Authenticate(ctx, expiring, rotation.Request{})
	for name, err := range out {
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
	}
	return out
}

// failureCase is an error and the Failure that answers it.
type failureCase struct {
	name string
	err  error
	want rotationhttp.Failure
}

// failureCases is the table of FailureFor, one row or more per line of
// its doc comment, over real errors where a real one can be made.
func failureCases(t *testing.T, f *fixture) []failureCase {
	t.Helper()
	real := rotorErrors(t, f)
	const (
		invalidToken = rotationhttp.CodeInvalidAPIToken
		down         = "the service is unavailable; retry later"
		internal     = "" // a 500 says nothing
	)
	unauthorized := func(code, msg, scope string) rotationhttp.Failure {
		return rotationhttp.Failure{Status: 401, Code: code, Message: msg, Realm: "api", Scope: scope, AuthScheme: "Bearer"}
	}
	signature := func(code, msg string) rotationhttp.Failure {
		return rotationhttp.Failure{Status: 401, Code: code, Message: msg, Realm: "api", AuthScheme: "Signature"}
	}
	secret := func(status int, code, msg, id string) rotationhttp.Failure {
		return rotationhttp.Failure{Status: status, Code: code, Message: msg, ResourceType: "secret", ResourceID: id}
	}
	invalid := func(fields ...rotationhttp.FieldError) rotationhttp.Failure {
		return rotationhttp.Failure{Status: 422, Code: "validation_error", Message: "the request is not valid", Fields: fields}
	}
	unavailable := func(retry time.Duration) rotationhttp.Failure {
		return rotationhttp.Failure{Status: 503, Code: "service_unavailable", Message: down, RetryAfter: retry}
	}
	bare500 := rotationhttp.Failure{Status: 500, Code: "internal_error", Message: internal}
	nameTooLong := &rotation.ValidationError{Field: "name", Reason: "must be at most 200 bytes"}
	graceTooLong := &rotationhttp.BodyError{Field: "oldSecretValidForSeconds", Reason: "must be a whole number of seconds from 0 to 3600", Err: rotationhttp.ErrInvalidBody}
	return []failureCase{
		{"missing key", real["missing key"], unauthorized("missing_api_token", "no API token was given", "")},
		{"malformed key", real["malformed key"], unauthorized(invalidToken, "the API token is malformed", "")},
		{"unknown key", real["unknown key"], unauthorized(invalidToken, "the API token is not valid", "")},
		{"expired key", real["expired key"], unauthorized(invalidToken, "the API token has expired", "")},
		{"revoked key", real["revoked key"], unauthorized(invalidToken, "the API token has been revoked", "secrets:read")},
		{"expired key with a scope", &rotation.AuthError{Err: rotation.ErrExpired, Owner: "acme", SecretID: "sec_1", Scope: "secrets:read"},
			unauthorized(invalidToken, "the API token has expired", "secrets:read")},

		{"bad signature", &hmacsign.VerifyError{Err: hmacsign.ErrTimestampTooOld, Detail: "webhook-timestamp is too old"},
			signature("timestamp_too_old", "webhook-timestamp is too old")},
		{"wrapped signature refusal", fmt.Errorf("verify: %w", &hmacsign.VerifyError{Err: hmacsign.ErrNoMatch, Detail: "no signature matches"}),
			signature("no_matching_signature", "no signature matches")},
		{"verifier without keys", &hmacsign.VerifyError{Err: hmacsign.ErrNoKeys, Detail: "the owner has no valid key"},
			signature("no_valid_keys", "the owner has no valid key")},
		{"replay sentinel", hmacsign.ErrReplayed, signature("replayed", "the request's signature is not valid")},
		{"bare invalid signature", hmacsign.ErrInvalidSignature, signature("invalid_signature", "the request's signature is not valid")},

		{"network", real["network"], rotationhttp.Failure{Status: 403, Code: "unauthorized_network_for_api_token",
			Message: "the API token may not be used from this network", IP: client}},
		{"scope", real["scope"], rotationhttp.Failure{Status: 403, Code: "scope_not_granted", Realm: "api", Scope: "secrets:write",
			Message: "the API token has not been granted the scope this request needs"}},
		{"permission", fmt.Errorf("update key: %w", rotationhttp.ErrPermissionDenied), rotationhttp.Failure{Status: 403, Code: "permission_denied",
			Message: "the API token is not permitted to perform this action"}},

		{"not found", real["not found"], secret(404, "api_token_not_found", "the secret was not found", "sec_nosuchsecretnosuchsecretxx")},
		{"not an id", real["not an id"], secret(404, "api_token_not_found", "the secret was not found", "(not a secret id)")},
		{"limit", real["limit"], rotationhttp.Failure{Status: 409, Code: "limit_reached", Message: "the limit of active secrets is reached", Limit: 3}},
		{"designated", real["designated"], secret(409, "designated_secret", "the secret signs webhooks, so it cannot be deleted or revoked", idOf(real["designated"]))},
		{"custom", real["custom"], secret(409, "custom_secret", "the secret is custom: it can be deleted, not regenerated", idOf(real["custom"]))},
		{"not active", real["not active"], secret(409, "secret_not_active", "the secret is not active", idOf(real["not active"]))},
		{"cannot sign", real["cannot sign"], secret(409, "secret_cannot_sign", "the secret cannot sign webhooks", idOf(real["cannot sign"]))},
		{"stale", real["stale"], secret(412, "secret_changed", "the secret was regenerated meanwhile", idOf(real["stale"]))},
		{"no signing key", real["no signing key"], rotationhttp.Failure{Status: 409, Code: "no_signing_secret", Message: "no secret can sign webhooks for this owner"}},

		{"the service's own", ownFailure, *ownFailure},
		{"the service's own, wrapped", fmt.Errorf("check key: %w", ownFailure), *ownFailure},

		{"unreadable body", real["unreadable body"], rotationhttp.Failure{Status: 400, Code: "unreadable_body", Message: "the body could not be read"}},
		{"hmacsign's unreadable body", hmacsign.ErrUnreadableBody, rotationhttp.Failure{Status: 400, Code: "unreadable_body", Message: "the body could not be read"}},
		{"body too large", real["body too large"], rotationhttp.Failure{Status: 413, Code: "body_too_large", Message: "the body must be at most 65536 bytes"}},
		{"hmacsign's body too large", hmacsign.ErrBodyTooLarge, rotationhttp.Failure{Status: 413, Code: "body_too_large", Message: "the body is larger than the limit"}},

		{"grace out of range", real["grace"], invalid(rotationhttp.FieldError{Field: "grace", Detail: "must be from 0s to 1h0m0s"})},
		{"unknown member", real["unknown member"], invalid(rotationhttp.FieldError{Field: "api_token.colour", Detail: "is not a member of this request"})},
		{"joined", errors.Join(nameTooLong, graceTooLong), invalid(
			rotationhttp.FieldError{Field: "name", Detail: "must be at most 200 bytes"},
			rotationhttp.FieldError{Field: "oldSecretValidForSeconds", Detail: "must be a whole number of seconds from 0 to 3600"},
		)},
		{"joined and wrapped, one twice", fmt.Errorf("create: %w; %w", errors.Join(nameTooLong, graceTooLong), nameTooLong), invalid(
			rotationhttp.FieldError{Field: "name", Detail: "must be at most 200 bytes"},
			rotationhttp.FieldError{Field: "oldSecretValidForSeconds", Detail: "must be a whole number of seconds from 0 to 3600"},
		)},
		{"bare validation sentinel", rotation.ErrValidation, invalid(rotationhttp.FieldError{Field: "body", Detail: "is not valid"})},
		{"bare invalid body sentinel", rotationhttp.ErrInvalidBody, invalid(rotationhttp.FieldError{Field: "body", Detail: "is not valid"})},

		{"rate limit", &rotationhttp.RateLimitError{SecretID: "sec_1", Limit: 60, RetryAfter: 1500 * time.Millisecond},
			rotationhttp.Failure{Status: 429, Code: "rate_limit_reached", Message: "the rate limit of the API token was reached", TotalPermitted: 60, RetryAfter: 1500 * time.Millisecond}},

		{"conflict after retries", fmt.Errorf("rotation: acme: %w after 10 attempts: %w", rotation.ErrConflict, &store.OpError{Op: "save", Owner: "acme", Err: store.ErrConflict}), unavailable(time.Second)},
		{"store conflict", &store.OpError{Op: "save", Owner: "acme", Err: store.ErrConflict}, unavailable(time.Second)},
		{"overloaded by unknown keys", rotation.ErrOverloaded, unavailable(time.Second)},
		{"overloaded, wrapped", fmt.Errorf("authenticate: %w", rotation.ErrOverloaded), unavailable(time.Second)},
		{"store down", &store.OpError{Op: "load", Owner: "acme", Err: errors.New("dial postgres://rotor:hunter2@10.9.8.7:5432/rotor: connection refused")}, unavailable(0)},
		{"deadline", &store.OpError{Op: "load", Owner: "acme", Err: context.DeadlineExceeded}, unavailable(0)},
		{"canceled", context.Canceled, unavailable(0)},
		{"rate limiter down", fmt.Errorf("rotationhttp: rate limit of secret sec_1: %w", fmt.Errorf("redislimit: %w: dial tcp 127.0.0.1:6379: connection refused", ratelimit.ErrUnavailable)), unavailable(0)},
		{"replay guard down", fmt.Errorf("hmacsign: replay guard for owner %q: %w", "acme", fmt.Errorf("redisreplay: %w: i/o timeout", hmacsign.ErrGuardUnavailable)), unavailable(0)},

		{"store bug", &store.OpError{Op: "save", Owner: "acme", Err: store.ErrInvalid}, bare500},
		{"store not found", &store.OpError{Op: "load", Owner: "acme", Err: store.ErrNotFound}, bare500},
		{"store duplicate", &store.OpError{Op: "save", Owner: "acme", Err: store.ErrDuplicate}, bare500},
		{"misconfigured beside a client's mistake", errors.Join(nameTooLong, &rotation.OptionError{Field: "Keyring", Reason: "is nil"}), bare500},
		{"unknown", errors.New(`pq: password authentication failed for user "rotor" at 10.9.8.7`), bare500},
		{"unknown holding a key", fmt.Errorf("cache: no entry for %s", f.keys[0]), bare500},
	}
}

// TestFailureFor checks every row of FailureFor's table: the status, the
// code, the sentence and the members each kind of failure fills, and
// nothing else; Err is the error given.
func TestFailureFor(t *testing.T) {
	f := newFixture(t, nil)
	statuses := make(map[int]bool)
	for _, tt := range failureCases(t, f) {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			got := rotationhttp.FailureFor(tt.err)
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(rotationhttp.Failure{}, "Err"), cmpopts.EquateComparable(netip.Addr{})); diff != "" {
				t.Errorf("FailureFor (-want +got):\n%s", diff)
			}
			is.True(got.Err == tt.err) // Err is the original error, for logs
			statuses[got.Status] = true
		})
	}
	for _, s := range []int{400, 401, 403, 404, 409, 412, 413, 422, 429, 500, 503} {
		if !statuses[s] {
			t.Errorf("no case answers %d", s)
		}
	}
}

// TestFailureForSaysNothingOfTheError checks that no Failure, nor the
// problem written from it, carries the text of the error it was made
// from: not a DSN, an address or a password from a store, not a key from
// an error of the service's own, not the query string.
func TestFailureForSaysNothingOfTheError(t *testing.T) {
	f := newFixture(t, nil)
	for _, tt := range failureCases(t, f) {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			got := rotationhttp.FailureFor(tt.err)
			got.Err = nil // the one member no renderer sends
			shown := fmt.Sprintf("%+v", got)
			w := httptest.NewRecorder()
			rotationhttp.WriteError(w, httptest.NewRequest(http.MethodPost, "/v1/things/1?token=queryvalue", nil), tt.err)
			for _, out := range []string{shown, wire(w)} {
				is.True(!strings.Contains(out, tt.err.Error())) // the error's text stays out
				is.True(!strings.Contains(out, "10.9.8.7"))     // nothing internal reaches the client
				is.True(!strings.Contains(out, "hunter2"))      // not a DSN's password
				is.True(!strings.Contains(out, "postgres://"))  // nor the DSN
				is.True(!strings.Contains(out, "password"))     // not even from an unknown error
				is.True(!strings.Contains(out, "queryvalue"))   // nor the query string
				secretstest.NoLeak(t, out, f.keys...)           // nor any key
			}
		})
	}
}

// TestFailureForMisconfigured checks that options that cannot work, the
// Rotator's or this package's, are answered as the service's fault: a
// bare 500 that says nothing of the error, never a 422 that would blame
// the client. The operator finds the field in the log.
func TestFailureForMisconfigured(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, nil)
	// A Rotator with no keyring, asked for a secret that must sign.
	noKeyring, err := rotation.New(memstore.New(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, sealing := noKeyring.Create(ctx, "acme", rotation.Spec{HMAC: true})
	_, policy := rotation.New(memstore.New(), &rotation.Options{Policy: rotation.Policy{MaxActive: -1}})
	_, options := rotationhttp.NewAuthenticator(f.rot, &rotationhttp.Options{Realm: "a\nb"})
	_, bound := rotationhttp.DecodeRegenerate(post(`{"oldSecretValidForSeconds": 60}`), 0)
	tests := []struct {
		name  string
		err   error
		field string
	}{
		{"HMAC secret without a keyring", sealing, "Keyring"},
		{"rotation option out of range", policy, "Policy.MaxActive"},
		{"rotationhttp option out of range", options, "Realm"},
		{"regenerate bound not positive", bound, "maxGrace"},
		{"wrapped", fmt.Errorf("create for acme: %w", sealing), "Keyring"},
	}
	want := problem(500, map[string]any{
		"code": "internal_error", "instance": "/v1/secrets", // and no detail
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			is.True(tt.err != nil)                                // the mistake is reported
			is.True(errors.Is(tt.err, rotation.ErrMisconfigured)) // as a misconfiguration
			is.True(!errors.Is(tt.err, rotation.ErrValidation))   // not as the client's invalid input
			var field string
			if oe, ok := errors.AsType[*rotation.OptionError](tt.err); ok {
				field = oe.Field
			} else if oe, ok := errors.AsType[*rotationhttp.OptionError](tt.err); ok {
				field = oe.Field
			}
			is.Equal(field, tt.field) // a typed error naming the field

			fl := rotationhttp.FailureFor(tt.err)
			if diff := cmp.Diff(rotationhttp.Failure{Status: 500, Code: "internal_error"}, fl, cmpopts.IgnoreFields(rotationhttp.Failure{}, "Err"), cmpopts.EquateComparable(netip.Addr{})); diff != "" {
				t.Errorf("FailureFor (-want +got):\n%s", diff) // a bare 500, no field named
			}

			logged := len(f.logs.String())
			w := httptest.NewRecorder()
			f.auth.Error(w, httptest.NewRequest(http.MethodPost, "/v1/secrets", nil), tt.err)
			if diff := cmp.Diff(want, responseOf(t, w)); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff) // a bare 500, not a 422
			}
			body := w.Body.String()
			is.True(!strings.Contains(body, tt.err.Error()))   // the error's text stays out of the answer
			is.True(!strings.Contains(body, tt.field))         // even the field it names
			is.True(!strings.Contains(body, "option"))         // and that an option is at fault
			logs := f.logs.String()[logged:]                   // this subtest's line
			is.True(strings.Contains(logs, `"level":"ERROR"`)) // but the operator hears of it
			is.True(strings.Contains(logs, tt.field))          // with the field to fix
		})
	}
}

func TestFailureForNil(t *testing.T) {
	is := is.New(t)
	got := rotationhttp.FailureFor(nil)
	if diff := cmp.Diff(rotationhttp.Failure{Status: 500, Code: "internal_error"}, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("FailureFor(nil) (-want +got):\n%s", diff) // a nil error passed where one was meant is a bug
	}

	w := httptest.NewRecorder()
	rotationhttp.WriteError(w, httptest.NewRequest(http.MethodGet, "/", nil), nil)
	is.Equal(w.Code, http.StatusInternalServerError) // written, it is a 500

	f := newFixture(t, nil)
	w = httptest.NewRecorder()
	f.auth.Error(w, httptest.NewRequest(http.MethodGet, "/", nil), nil)
	is.Equal(w.Code, http.StatusInternalServerError)                      // through Error too
	is.True(strings.Contains(f.logs.String(), `"level":"ERROR"`))         // which logs it as an error
	is.True(strings.Contains(f.logs.String(), `"code":"internal_error"`)) // with its code
}

// TestCodesAreHMACSignCodes checks that the codes of signature refusals
// are hmacsign.Code's, the one table of them, so the two cannot drift.
func TestCodesAreHMACSignCodes(t *testing.T) {
	for _, tt := range []struct {
		code string
		err  error
	}{
		{rotationhttp.CodeInvalidSignature, hmacsign.ErrInvalidSignature},
		{rotationhttp.CodeMissingHeader, hmacsign.ErrMissingHeader},
		{rotationhttp.CodeMalformedHeader, hmacsign.ErrMalformedHeader},
		{rotationhttp.CodeTimestampTooOld, hmacsign.ErrTimestampTooOld},
		{rotationhttp.CodeTimestampTooNew, hmacsign.ErrTimestampTooNew},
		{rotationhttp.CodeNoMatchingSignature, hmacsign.ErrNoMatch},
		{rotationhttp.CodeNoValidKeys, &hmacsign.VerifyError{Err: hmacsign.ErrNoKeys}},
		{rotationhttp.CodeReplayed, hmacsign.ErrReplayed},
		{rotationhttp.CodeUnknownOwner, hmacsign.ErrUnknownOwner},
		{rotationhttp.CodeBodyTooLarge, hmacsign.ErrBodyTooLarge},
		{rotationhttp.CodeUnreadableBody, hmacsign.ErrUnreadableBody},
		{rotationhttp.CodeInternalError, errors.New("the key source is down")},
	} {
		t.Run(tt.code, func(t *testing.T) {
			is := is.New(t)
			is.Equal(hmacsign.Code(tt.err), tt.code) // the constant is hmacsign's code
			if errors.Is(tt.err, hmacsign.ErrInvalidSignature) {
				is.Equal(rotationhttp.FailureFor(tt.err).Code, tt.code) // and FailureFor gives it
			}
		})
	}
}

func TestRetrySeconds(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want int64
	}{
		{-time.Second, 1},
		{0, 1},
		{time.Nanosecond, 1},
		{time.Second, 1},
		{time.Second + time.Nanosecond, 2},
		{1500 * time.Millisecond, 2},
		{time.Minute, 60},
	} {
		t.Run(tt.d.String(), func(t *testing.T) {
			is.New(t).Equal(rotationhttp.RetrySeconds(tt.d), tt.want) // whole seconds, rounded up, at least one
		})
	}
}

// idOf returns the id a *rotation.SecretError names.
func idOf(err error) string {
	if se, ok := errors.AsType[*rotation.SecretError](err); ok {
		return se.ID
	}
	return ""
}

// TestFailureIsAnError checks what a log shows of a Failure returned as an
// error, and that it unwraps to the error it was made from.
func TestFailureIsAnError(t *testing.T) {
	is := is.New(t)
	is.Equal(ownFailure.Error(), "rotationhttp: publishable_key: use a secret key") // the code and the sentence
	bare := &rotationhttp.Failure{Status: 500, Code: "internal_error"}
	is.Equal(bare.Error(), "rotationhttp: internal_error") // the code alone when there is no sentence
	f := rotationhttp.FailureFor(rotation.ErrNotFound)
	is.True(errors.Is(&f, rotation.ErrNotFound)) // it unwraps to Err
}

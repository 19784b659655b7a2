package rotationhttp_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/rotation/rotationhttp"
)

// tokenRequest is a body with the wire types, as seed 001's API holds
// them.
type tokenRequest struct {
	APIToken struct {
		Networks  rotationhttp.Networks `json:"authorized_ip_addresses"`
		ExpiresAt rotationhttp.UnixTime `json:"expires_at"`
	} `json:"api_token"`
}

func decodeToken(t *testing.T, body string) (tokenRequest, error) {
	t.Helper()
	var req tokenRequest
	err := rotationhttp.DecodeJSON(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)), &req)
	return req, err
}

func TestWireTypesDecode(t *testing.T) {
	is := is.New(t)
	req, err := decodeToken(t, `{"api_token": {"authorized_ip_addresses": ["203.0.113.7", "2001:db8::/32"], "expires_at": 1796515200}}`)
	is.NoErr(err) // addresses, ranges and seconds decode
	want := rotationhttp.Networks{netip.MustParsePrefix("203.0.113.7/32"), netip.MustParsePrefix("2001:db8::/32")}
	if d := cmp.Diff(want, req.APIToken.Networks, cmpopts.EquateComparable(netip.Prefix{})); d != "" {
		t.Errorf("networks (-want +got):\n%s", d)
	}
	is.True(req.APIToken.ExpiresAt.Equal(time.Unix(1796515200, 0))) // the instant of the seconds given

	req, err = decodeToken(t, `{"api_token": {"authorized_ip_addresses": null, "expires_at": null}}`)
	is.NoErr(err)                            // null is none
	is.True(req.APIToken.ExpiresAt.IsZero()) // no expiry
	is.Equal(len(req.APIToken.Networks), 0)  // no networks

	for _, tt := range []struct{ body, field string }{
		{`{"api_token": {"authorized_ip_addresses": ["10.0.0.0/8", "sk_live_not_an_address_at_all"]}}`, "api_token.authorized_ip_addresses[1]"},
		{`{"api_token": {"authorized_ip_addresses": ["10.0.0.1", 1]}}`, "api_token.authorized_ip_addresses[1]"},
		{`{"api_token": {"authorized_ip_addresses": "10.0.0.0/8"}}`, "api_token.authorized_ip_addresses"},
		{`{"api_token": {"expires_at": 1.5}}`, "api_token.expires_at"},
		{`{"api_token": {"expires_at": "tomorrow"}}`, "api_token.expires_at"},
	} {
		_, err := decodeToken(t, tt.body)
		var be *rotationhttp.BodyError
		is.True(errors.As(err, &be))                                                  // refused
		is.Equal(be.Field, tt.field)                                                  // naming the member, and the entry
		is.True(!strings.Contains(be.Error(), "sk_live"))                             // never what was sent
		is.True(!strings.Contains(be.Error(), "tomorrow"))                            //
		is.Equal(rotationhttp.FailureFor(err).Status, http.StatusUnprocessableEntity) // a 422
	}
}

func TestWireTypesEncode(t *testing.T) {
	is := is.New(t)
	b, err := json.Marshal(struct {
		Networks rotationhttp.Networks `json:"nets"`
		None     rotationhttp.Networks `json:"none"`
		At       rotationhttp.UnixTime `json:"at"`
		Never    rotationhttp.UnixTime `json:"never"`
	}{
		Networks: rotationhttp.Networks{netip.MustParsePrefix("203.0.113.7/32")},
		At:       rotationhttp.UnixTime{time.Unix(1796515200, 999)},
	})
	is.NoErr(err)
	is.Equal(string(b), `{"nets":["203.0.113.7/32"],"none":[],"at":1796515200,"never":null}`) // ranges, [] for none, whole seconds, null for never
}

func TestFieldMessages(t *testing.T) {
	f := rotationhttp.Failure{Fields: []rotationhttp.FieldError{
		{Field: "api_token.rate_limit", Detail: "must not be negative"},
		{Field: "body", Detail: "must be a JSON object"},
	}}
	want := []string{"api_token.rate_limit must not be negative", "body must be a JSON object"}
	if d := cmp.Diff(want, f.FieldMessages()); d != "" {
		t.Errorf("messages (-want +got):\n%s", d)
	}
}

// keyRequest is a body with the wire types, as seed 003's API holds them.
type keyRequest struct {
	Permissions rotationhttp.Permissions  `json:"permissions"`
	Metadata    rotationhttp.JSONMetadata `json:"metadata"`
}

func decodeKey(t *testing.T, body string) (keyRequest, error) {
	t.Helper()
	var req keyRequest
	err := rotationhttp.DecodeJSON(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)), &req)
	return req, err
}

func TestPermissions(t *testing.T) {
	is := is.New(t)
	req, err := decodeKey(t, `{"permissions": {"account:api:key": ["update", "read"], "charges": ["read"], "refunds": []}}`)
	is.NoErr(err) // an object of arrays of actions decodes
	want := rotationhttp.Permissions{"account:api:key:update", "account:api:key:read", "charges:read"}
	if d := cmp.Diff(want, req.Permissions); d != "" {
		t.Errorf("scopes (-want +got):\n%s", d) // resources sorted, actions as given, an empty one grants nothing
	}
	b, err := json.Marshal(req.Permissions)
	is.NoErr(err)
	is.Equal(string(b), `{"account:api:key":["update","read"],"charges":["read"]}`) // grouped back by the last ':'

	b, err = json.Marshal(rotationhttp.Permissions{"admin", "charges:read"})
	is.NoErr(err)
	is.Equal(string(b), `{"admin":[],"charges":["read"]}`) // a scope without ':' is a resource with no actions
	b, err = json.Marshal(rotationhttp.Permissions(nil))
	is.NoErr(err)
	is.Equal(string(b), `{}`) // none: an empty object

	req, err = decodeKey(t, `{"permissions": null}`)
	is.NoErr(err)                     // null is none
	is.Equal(len(req.Permissions), 0) //
	for _, tt := range []struct{ body, field string }{
		{`{"permissions": ["charges:read"]}`, "permissions"},
		{`{"permissions": {"charges": "read"}}`, "permissions"},
		{`{"permissions": {"": ["read"]}}`, "permissions"},
		{`{"permissions": {"charges": ["read", ""]}}`, "permissions.charges[1]"},
		{`{"permissions": {"charges": ["read", 7]}}`, "permissions.charges[1]"},
		{`{"permissions": {"charges": ["sk_live_x:y"]}}`, "permissions.charges[0]"},
	} {
		_, err := decodeKey(t, tt.body)
		var be *rotationhttp.BodyError
		is.True(errors.As(err, &be))                      // refused
		is.Equal(be.Field, tt.field)                      // naming the member, and the action
		is.True(!strings.Contains(be.Error(), "sk_live")) // never what was sent
	}
}

func TestJSONMetadata(t *testing.T) {
	is := is.New(t)
	req, err := decodeKey(t, `{"metadata": {"team": "payments", "limits": { "daily" : 1000.00 }, "tags": [1, null, true], "none": null}}`)
	is.NoErr(err) // any JSON values decode
	want := rotationhttp.JSONMetadata{"team": `"payments"`, "limits": `{"daily":1000.00}`, "tags": `[1,null,true]`, "none": `null`}
	if d := cmp.Diff(want, req.Metadata); d != "" {
		t.Errorf("metadata (-want +got):\n%s", d) // each kept as its JSON text, compacted, numbers as written
	}
	b, err := json.Marshal(req.Metadata)
	is.NoErr(err)
	is.Equal(string(b), `{"limits":{"daily":1000.00},"none":null,"tags":[1,null,true],"team":"payments"}`) // the same values back

	b, err = json.Marshal(rotationhttp.JSONMetadata{"plain": "not JSON", "empty": ""})
	is.NoErr(err)
	is.Equal(string(b), `{"empty":"","plain":"not JSON"}`) // text that is not JSON is a string
	b, err = json.Marshal(rotationhttp.JSONMetadata(nil))
	is.NoErr(err)
	is.Equal(string(b), `{}`) // none: an empty object

	for _, body := range []string{`{"metadata": ["a"]}`, `{"metadata": "sk_live_x"}`} {
		_, err := decodeKey(t, body)
		var be *rotationhttp.BodyError
		is.True(errors.As(err, &be))                      // refused
		is.Equal(be.Field, "metadata")                    // naming the member
		is.True(!strings.Contains(be.Error(), "sk_live")) // never what was sent
	}
}

func TestTimestamp(t *testing.T) {
	is := is.New(t)
	var got struct {
		At    rotationhttp.Timestamp `json:"at"`
		Never rotationhttp.Timestamp `json:"never"`
	}
	err := rotationhttp.DecodeJSON(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"at": "2030-01-01T02:00:00.5+02:00", "never": null}`)), &got)
	is.NoErr(err)                                                        // RFC 3339 and null decode
	is.True(got.At.Equal(time.Date(2030, 1, 1, 0, 0, 0, 5e8, time.UTC))) // the instant given, whatever its offset
	is.True(got.Never.IsZero())                                          // null is none
	b, err := json.Marshal(got)
	is.NoErr(err)
	is.Equal(string(b), `{"at":"2030-01-01T00:00:00Z","never":null}`) // UTC to the second, null for none

	for _, body := range []string{`{"at": "tomorrow"}`, `{"at": 1893456000}`, `{"at": "2030-01-01"}`} {
		err := rotationhttp.DecodeJSON(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)), &got)
		var be *rotationhttp.BodyError
		is.True(errors.As(err, &be))                       // refused
		is.Equal(be.Field, "at")                           // naming the member
		is.True(!strings.Contains(be.Error(), "tomorrow")) // never what was sent
	}
}

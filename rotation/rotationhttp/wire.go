package rotationhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Networks is the networks a key may be used from, as a request member
// and a reply member hold them: a JSON array of IPv4 and IPv6 addresses
// (each meaning that one address) and CIDR ranges, read as
// [ParseNetworks] reads them, written back as ranges ("203.0.113.7/32").
// Decoded by [DecodeJSON], an entry it cannot read is a 422 naming the
// member and the entry's index.
type Networks []netip.Prefix

// UnmarshalJSON reads an array of addresses and ranges; null leaves n as
// it is. A bad entry is a [*BodyError] naming its index, which DecodeJSON
// puts after the member's path.
func (n *Networks) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return invalid("", "must be an array of addresses and CIDR ranges")
	}
	entries := make([]string, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &entries[i]); err != nil {
			return invalid("["+strconv.Itoa(i)+"]", "must be a string")
		}
	}
	nets, err := ParseNetworks("", entries)
	if err != nil {
		return err
	}
	*n = nets
	return nil
}

// MarshalJSON writes n as an array of ranges, [] when it is empty.
func (n Networks) MarshalJSON() ([]byte, error) {
	if n == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]netip.Prefix(n))
}

// UnixTime is an instant as a JSON number of seconds since the Unix
// epoch, or null for none: the zero UnixTime. It writes whole seconds
// and reads them; a fraction, a string or another value is a 422 naming
// the member when [DecodeJSON] reads it.
type UnixTime struct{ time.Time }

// UnmarshalJSON reads a whole number of seconds, or null for the zero
// time.
func (u *UnixTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*u = UnixTime{}
		return nil
	}
	secs, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil {
		return invalid("", "must be a whole number of seconds since 1970, or null")
	}
	*u = UnixTime{time.Unix(secs, 0).UTC()}
	return nil
}

// MarshalJSON writes u as whole seconds since the Unix epoch, or null for
// the zero time.
func (u UnixTime) MarshalJSON() ([]byte, error) {
	if u.IsZero() {
		return []byte("null"), nil
	}
	return strconv.AppendInt(nil, u.Unix(), 10), nil
}

// Timestamp is an instant as RFC 3339 text, or null for none: the zero
// Timestamp. It writes UTC to the second ("2030-01-01T00:00:00Z") and
// reads any RFC 3339 time; another value is a 422 naming the member when
// [DecodeJSON] reads it. Unlike a time.Time, which writes the zero time
// as "0001-01-01T00:00:00Z", it writes null.
type Timestamp struct{ time.Time }

// UnmarshalJSON reads an RFC 3339 time, or null for the zero time.
func (ts *Timestamp) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*ts = Timestamp{}
		return nil
	}
	var text string
	if json.Unmarshal(b, &text) == nil {
		if t, err := time.Parse(time.RFC3339, text); err == nil {
			*ts = Timestamp{t}
			return nil
		}
	}
	return invalid("", "must be an RFC 3339 time, such as 2030-01-01T00:00:00Z, or null")
}

// MarshalJSON writes ts in RFC 3339, in UTC to the second, or null for
// the zero time.
func (ts Timestamp) MarshalJSON() ([]byte, error) {
	if ts.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(ts.UTC().Truncate(time.Second).Format(time.RFC3339))
}

// Permissions is a key's scopes as an API that groups them by resource
// holds them: a JSON object whose members are resources and whose values
// are arrays of actions, each pair the scope "<resource>:<action>".
// {"charges": ["read", "write"]} is the scopes charges:read and
// charges:write.
//
// Decoded, the resources come in sorted order and each one's actions in
// the order given; a resource with no actions grants nothing. An action
// must be a string, not empty, without ':'. Encoded, scopes are grouped by
// the text before their last ':'; a scope without one is a resource with
// no actions.
type Permissions []string

// UnmarshalJSON reads an object of arrays of actions; null leaves p as it
// is. A bad member is a [*BodyError] naming the resource and the action's
// index, which [DecodeJSON] puts after the member's path.
func (p *Permissions) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var byResource map[string][]json.RawMessage
	if err := json.Unmarshal(b, &byResource); err != nil {
		return invalid("", "must be an object of arrays of actions")
	}
	scopes := Permissions{}
	for _, resource := range slices.Sorted(maps.Keys(byResource)) {
		if resource == "" {
			return invalid("", "must not name an empty resource")
		}
		for i, raw := range byResource[resource] {
			var action string
			if json.Unmarshal(raw, &action) != nil || action == "" || strings.Contains(action, ":") {
				return invalid("."+resource+"["+strconv.Itoa(i)+"]", "must be an action: a non-empty string without ':'")
			}
			scopes = append(scopes, resource+":"+action)
		}
	}
	*p = scopes
	return nil
}

// MarshalJSON writes p as an object of arrays of actions, {} when it is
// empty.
func (p Permissions) MarshalJSON() ([]byte, error) {
	byResource := make(map[string][]string)
	for _, scope := range p {
		i := strings.LastIndexByte(scope, ':')
		if i < 0 {
			if byResource[scope] == nil {
				byResource[scope] = []string{}
			}
			continue
		}
		byResource[scope[:i]] = append(byResource[scope[:i]], scope[i+1:])
	}
	return json.Marshal(byResource)
}

// JSONMetadata is a key's metadata as an API whose metadata values may be
// any JSON holds it: a JSON object whose members are kept, in the
// map[string]string of [rotation.Spec].Metadata, as their JSON text,
// compacted, and written back as the same JSON values. Text is kept as
// written: the number 1.50 comes back as 1.50, not 1.5. A value that is
// not JSON text, set some other way, is written as a JSON string.
type JSONMetadata map[string]string

// UnmarshalJSON reads a JSON object; null leaves m as it is.
func (m *JSONMetadata) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(b, &members); err != nil {
		return invalid("", "must be a JSON object")
	}
	out := make(JSONMetadata, len(members))
	for name, raw := range members {
		var buf bytes.Buffer
		_ = json.Compact(&buf, raw) // raw is a value of a document json.Unmarshal accepted
		out[name] = buf.String()
	}
	*m = out
	return nil
}

// MarshalJSON writes m as a JSON object, {} when it is empty.
func (m JSONMetadata) MarshalJSON() ([]byte, error) {
	members := make(map[string]json.RawMessage, len(m))
	for name, text := range m {
		if json.Valid([]byte(text)) {
			members[name] = json.RawMessage(text)
		} else {
			members[name], _ = json.Marshal(text) // a string cannot fail
		}
	}
	return json.Marshal(members)
}

// FieldMessages returns the invalid members of f as sentences, the member
// first: "api_token.rate_limit must not be negative", for an API whose
// validation errors are a list of strings.
func (f *Failure) FieldMessages() []string {
	out := make([]string, 0, len(f.Fields))
	for _, fe := range f.Fields {
		out = append(out, fe.Field+" "+fe.Detail)
	}
	return out
}

// bodyErrorAt returns the error a value's own UnmarshalJSON gave, err,
// as DecodeJSON reports it at path: a [*BodyError] of this package's
// types names the part of the value at fault, which goes after path; any
// other error may quote the value, so it says no more than that the value
// is not valid.
func bodyErrorAt(path string, err error) error {
	if be, ok := errors.AsType[*BodyError](err); ok && be.Err == ErrInvalidBody {
		return invalid(orBody(path+be.Field), be.Reason)
	}
	return invalid(orBody(path), "is not valid")
}

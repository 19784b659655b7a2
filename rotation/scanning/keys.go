package scanning

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strconv"
)

// KeySource gives the public keys that sign reports, by their
// identifiers. [StaticKeys] and [FetchedKeys] are the two this package
// has; a service may write its own. It must be safe for concurrent use.
type KeySource interface {
	// PublicKey returns the P-256 key named id, an error matching
	// [ErrUnknownKey] if there is none, or one matching
	// [ErrKeysUnavailable] (or the context's) if it cannot tell. id comes
	// from the request: anyone can send any.
	PublicKey(ctx context.Context, id string) (*ecdsa.PublicKey, error)
}

// keyList is the JSON GitHub publishes at [GitHubKeysURL].
type keyList struct {
	PublicKeys []struct {
		KeyIdentifier string `json:"key_identifier"`
		Key           string `json:"key"` // PEM, "PUBLIC KEY", PKIX
		IsCurrent     bool   `json:"is_current"`
	} `json:"public_keys"`
}

// parseKeyList reads the keys of a list in GitHub's JSON, each of which
// must be ECDSA P-256, under distinct, non-empty identifiers.
func parseKeyList(data []byte) (map[string]*ecdsa.PublicKey, error) {
	var list keyList
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, &KeysError{Index: -1, Reason: "not the JSON of a key list"}
	}
	if len(list.PublicKeys) == 0 {
		return nil, &KeysError{Index: -1, Reason: "no public_keys"}
	}
	keys := make(map[string]*ecdsa.PublicKey, len(list.PublicKeys))
	for i, k := range list.PublicKeys {
		switch {
		case k.KeyIdentifier == "":
			return nil, &KeysError{Index: i, Reason: "empty key_identifier"}
		case keys[k.KeyIdentifier] != nil:
			return nil, &KeysError{Index: i, Reason: "repeats a key_identifier"}
		}
		block, _ := pem.Decode([]byte(k.Key))
		if block == nil || block.Type != "PUBLIC KEY" {
			return nil, &KeysError{Index: i, Reason: "key is not a PEM PUBLIC KEY"}
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, &KeysError{Index: i, Reason: "key does not parse"}
		}
		ec, ok := pub.(*ecdsa.PublicKey)
		if !ok || ec.Curve != elliptic.P256() {
			return nil, &KeysError{Index: i, Reason: "key is not ECDSA P-256"}
		}
		keys[k.KeyIdentifier] = ec
	}
	return keys, nil
}

// StaticKeys is a fixed set of public keys: those a service was given in
// a file, or a test's own. It is immutable and safe for concurrent use;
// make one with [ParseKeys].
type StaticKeys struct {
	keys map[string]*ecdsa.PublicKey
}

// ParseKeys reads a set of keys from the JSON GitHub publishes at
// [GitHubKeysURL]:
//
//	{"public_keys": [{"key_identifier": "…", "key": "-----BEGIN PUBLIC KEY-----…", "is_current": true}]}
//
// Every key listed verifies reports, current or not, since GitHub lists
// a key before and after it signs with it. A list with no keys, a key
// that is not ECDSA P-256 in PEM, or an identifier empty or repeated is a
// [*KeysError].
func ParseKeys(data []byte) (*StaticKeys, error) {
	keys, err := parseKeyList(data)
	if err != nil {
		return nil, err
	}
	return &StaticKeys{keys: keys}, nil
}

// PublicKey returns the key named id, or [ErrUnknownKey].
func (s *StaticKeys) PublicKey(_ context.Context, id string) (*ecdsa.PublicKey, error) {
	if k, ok := s.keys[id]; ok {
		return k, nil
	}
	return nil, ErrUnknownKey
}

// Len returns how many keys s holds.
func (s *StaticKeys) Len() int { return len(s.keys) }

func itoa(i int) string { return strconv.Itoa(i) }

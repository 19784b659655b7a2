package secrets

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
)

const (
	// KEKSize is the size in bytes of a key-encryption key.
	KEKSize = 32
	// MaxKEKIDLen is the longest key-encryption key id, in bytes.
	MaxKEKIDLen = 64
)

const (
	nonceSize = chacha20poly1305.NonceSizeX
	// sealLabel starts the associated data of every sealed value; the
	// secret's id is the rest of it, so the binding is unambiguous.
	sealLabel = "rotor/secrets sealed value v1\x00"
)

// KEK is a key-encryption key: the key a [Keyring] seals secret values
// with, and the id that [Sealed] values name it by.
//
// A KEK prints its id and [Redacted] in place of its key, as
// secrets.KEK("kek-1", [REDACTED]), for every fmt verb and in log/slog; its
// Key is a [Value], which no printer, encoder or reflection gets into.
// Like any plain struct, it is safe for concurrent reads. Make one with
// [GenerateKEK] or [ParseKEK]; the zero KEK has no id and no key.
type KEK struct {
	// ID names the key: non-empty, at most [MaxKEKIDLen] bytes, unique in
	// its Keyring. It is stored next to every value the key seals and is
	// not secret.
	ID string
	// Key holds the [KEKSize] raw key bytes.
	Key Value
}

// GenerateKEK returns a new key-encryption key with the given id and
// [KEKSize] bytes of crypto/rand. A bad id fails with a [*KEKError].
func GenerateKEK(id string) (KEK, error) {
	if reason := checkKEKID(id); reason != "" {
		return KEK{}, &KEKError{Reason: reason}
	}
	var raw [KEKSize]byte
	_, _ = rand.Read(raw[:]) // never fails: it crashes the program instead
	return KEK{ID: id, Key: NewValue(string(raw[:]))}, nil
}

// ParseKEK returns the key-encryption key with the given id whose key is
// text, as [KEK.Text] writes it: standard, padded base64 of [KEKSize]
// bytes. Leading and trailing white space is ignored, so text can come
// straight from a file or an environment variable. A bad id or text fails
// with a [*KEKError] that holds neither.
func ParseKEK(id, text string) (KEK, error) {
	if reason := checkKEKID(id); reason != "" {
		return KEK{}, &KEKError{Reason: reason}
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil {
		// err says only where decoding failed; drop it all the same.
		return KEK{}, &KEKError{Reason: "key is not standard base64"}
	}
	if len(raw) != KEKSize {
		return KEK{}, &KEKError{Reason: fmt.Sprintf("key is %d bytes, want %d", len(raw), KEKSize)}
	}
	return KEK{ID: id, Key: NewValue(string(raw))}, nil
}

// Text returns k's key as standard, padded base64, the form [ParseKEK] reads.
// It comes as a [Value], so it stays redacted until written out with
// [Value.Reveal].
func (k KEK) Text() Value {
	return NewValue(base64.StdEncoding.EncodeToString([]byte(k.Key.Reveal())))
}

// String returns k's id and [Redacted]: secrets.KEK("kek-1", [REDACTED]).
func (k KEK) String() string {
	return "secrets.KEK(" + strconv.Quote(k.ID) + ", " + Redacted + ")"
}

// GoString returns the same as [KEK.String], what %#v prints.
func (k KEK) GoString() string { return k.String() }

// Format prints [KEK.String] for every verb, quoted for %q.
func (k KEK) Format(f fmt.State, verb rune) { format(f, verb, k.String(), k.String()) }

// LogValue returns a group of k's id and key=[Redacted].
func (k KEK) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", k.ID), slog.String("key", Redacted))
}

// checkKEKID returns why id is not a valid KEK id, or "".
func checkKEKID(id string) string {
	switch {
	case id == "":
		return "empty id"
	case len(id) > MaxKEKIDLen:
		return "id longer than 64 bytes"
	}
	return ""
}

// Keyring seals secret values at rest with XChaCha20-Poly1305 under its
// primary key-encryption key and opens them with whichever of its keys
// sealed them, so that keys can be rotated: add a new primary, keep the old
// key among the others, [Keyring.Reseal] what it sealed, then drop it.
//
// A Keyring never shows its keys: fmt prints the ids, as
// secrets.Keyring(primary "kek-1", 2 keys), for every verb, log/slog logs
// them as a group, and the keys are kept where reflection cannot reach
// them, so neither can fmt printing a struct that holds a Keyring, go-cmp,
// nor a dumper. Encoders find nothing to encode.
//
// A Keyring is immutable and safe for concurrent use, and so are copies of
// it, which share its keys; its methods take it by value so that a copy
// prints as the original does. It holds no reference to the KEKs it was
// made from. Use [NewKeyring]; the zero Keyring holds no keys, opens
// nothing, and panics if asked to seal.
type Keyring struct {
	ids []string // the primary first, then the others in order
	// aead returns the AEAD of the key with the given id, or nil. A
	// closure over a map that never changes after NewKeyring, because
	// reflection can see that a function is there but not what it
	// captured: the AEADs hold the keys. An XChaCha20-Poly1305 AEAD holds
	// only its key, so one may serve many goroutines.
	aead func(id string) cipher.AEAD
}

// NewKeyring returns a Keyring that seals under primary and opens what
// primary or any of others sealed. Ids must be valid and unique and keys
// exactly [KEKSize] bytes, else it returns a [*KEKError] that says which
// argument is wrong and never holds key bytes.
func NewKeyring(primary KEK, others ...KEK) (*Keyring, error) {
	ids := make([]string, 0, 1+len(others))
	aeads := make(map[string]cipher.AEAD, 1+len(others))
	for i, kek := range append([]KEK{primary}, others...) {
		which := "primary"
		if i > 0 {
			which = fmt.Sprintf("others[%d]", i-1)
		}
		if reason := checkKEKID(kek.ID); reason != "" {
			return nil, &KEKError{Reason: which + ": " + reason}
		}
		if _, dup := aeads[kek.ID]; dup {
			return nil, &KEKError{Reason: which + ": duplicate id"}
		}
		if n := kek.Key.Len(); n != KEKSize {
			return nil, &KEKError{Reason: fmt.Sprintf("%s: key is %d bytes, want %d", which, n, KEKSize)}
		}
		aead, err := chacha20poly1305.NewX([]byte(kek.Key.Reveal()))
		if err != nil {
			// Only in a FIPS 140-only mode, which rules XChaCha20 out.
			return nil, fmt.Errorf("secrets: keyring: %w", err)
		}
		ids = append(ids, kek.ID)
		aeads[kek.ID] = aead
	}
	return &Keyring{ids: ids, aead: func(id string) cipher.AEAD { return aeads[id] }}, nil
}

// lookup returns the AEAD of the key named id, or nil if k has none.
func (k Keyring) lookup(id string) cipher.AEAD {
	if k.aead == nil {
		return nil
	}
	return k.aead(id)
}

// PrimaryID returns the id of the key that [Keyring.Seal] uses, or "" for
// the zero Keyring.
func (k Keyring) PrimaryID() string {
	if len(k.ids) == 0 {
		return ""
	}
	return k.ids[0]
}

// IDs returns the ids of k's keys, the primary first.
func (k Keyring) IDs() []string { return append([]string(nil), k.ids...) }

// String returns the id of k's primary key and how many keys k holds:
// secrets.Keyring(primary "kek-1", 2 keys), or secrets.Keyring(no keys)
// for the zero Keyring.
func (k Keyring) String() string {
	switch len(k.ids) {
	case 0:
		return "secrets.Keyring(no keys)"
	case 1:
		return "secrets.Keyring(primary " + strconv.Quote(k.ids[0]) + ", 1 key)"
	}
	return "secrets.Keyring(primary " + strconv.Quote(k.ids[0]) + ", " + strconv.Itoa(len(k.ids)) + " keys)"
}

// GoString returns the same as [Keyring.String], what %#v prints.
func (k Keyring) GoString() string { return k.String() }

// Format prints [Keyring.String] for every verb, quoted for %q, so that no
// verb reaches the keys.
func (k Keyring) Format(f fmt.State, verb rune) { format(f, verb, k.String(), k.String()) }

// LogValue returns a group of the id of k's primary key and the ids of
// all its keys.
func (k Keyring) LogValue() slog.Value {
	return slog.GroupValue(slog.String("primary", k.PrimaryID()), slog.Any("ids", k.IDs()))
}

// Seal encrypts v under k's primary key, with a random nonce, bound to id,
// the id of the secret v belongs to: [Keyring.Open] must be given the same id.
//
// Its error is always nil today: the keys are in memory and crypto/rand
// never returns an error. It is there so that sealing may one day fail (under a key
// held elsewhere) without breaking callers, who should check it.
func (k Keyring) Seal(id string, v Value) (Sealed, error) {
	primary := k.PrimaryID()
	aead := k.lookup(primary)
	if aead == nil {
		panic("secrets: Seal with the zero Keyring; use NewKeyring")
	}
	ct := make([]byte, nonceSize, nonceSize+v.Len()+aead.Overhead())
	_, _ = rand.Read(ct) // never fails: it crashes the program instead
	ct = aead.Seal(ct, ct[:nonceSize], []byte(v.Reveal()), associatedData(id))
	return Sealed{KEKID: primary, Ciphertext: ct}, nil
}

// Open decrypts s, which must have been sealed for the secret id. If k does
// not hold the key s names, it fails with [ErrUnknownKEK]; if s was altered,
// cut short, sealed for another id or under another key, it fails with
// [ErrTampered] and never returns a partial or wrong value.
func (k Keyring) Open(id string, s Sealed) (Value, error) {
	aead := k.lookup(s.KEKID)
	if aead == nil {
		if checkKEKID(s.KEKID) != "" {
			return Value{}, ErrUnknownKEK
		}
		return Value{}, fmt.Errorf("%w %q", ErrUnknownKEK, s.KEKID)
	}
	if len(s.Ciphertext) < nonceSize+aead.Overhead() {
		return Value{}, ErrTampered
	}
	nonce, ct := s.Ciphertext[:nonceSize], s.Ciphertext[nonceSize:]
	pt, err := aead.Open(nil, nonce, ct, associatedData(id))
	if err != nil {
		return Value{}, ErrTampered
	}
	return NewValue(string(pt)), nil
}

// Reseal moves s under k's primary key. If s is already sealed under it,
// Reseal returns s itself and false; otherwise it opens s as [Keyring.Open]
// does and seals the value again for the same id, and returns true.
func (k Keyring) Reseal(id string, s Sealed) (Sealed, bool, error) {
	if s.KEKID == k.PrimaryID() {
		return s, false, nil
	}
	v, err := k.Open(id, s)
	if err != nil {
		return Sealed{}, false, err
	}
	out, err := k.Seal(id, v)
	if err != nil {
		return Sealed{}, false, err
	}
	return out, true, nil
}

func associatedData(id string) []byte {
	return append([]byte(sealLabel), id...)
}

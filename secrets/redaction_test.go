package secrets_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/secrets/secretstest"
)

// padsOf returns what the HMAC-SHA256 pads of pepper hold of it, pepper
// XOR 0x36 and pepper XOR 0x5c (RFC 2104): from either, the pepper
// follows. pepper must be at most 64 bytes, the block size.
func padsOf(pepper string) []string {
	inner, outer := []byte(pepper), []byte(pepper)
	for i := range inner {
		inner[i] ^= 0x36
		outer[i] ^= 0x5c
	}
	return []string{string(inner), string(outer)}
}

// material is a set of secrets of every kind, and all the secret bytes
// that any output of them must not hold.
type material struct {
	value    secrets.Value
	kek      secrets.KEK
	ring     *secrets.Keyring
	digester secrets.Digester
	secret   []string
}

func newMaterial(t *testing.T) material {
	t.Helper()
	a, b := newKEK(t, "kek-1"), newKEK(t, "kek-0")
	m := material{
		value:    secrets.NewValue(leakySecret),
		kek:      a,
		ring:     newKeyring(t, a, b),
		digester: secrets.NewDigester(secrets.NewValue(leakySecret)),
	}
	m.secret = append([]string{leakySecret, a.Key.Reveal(), b.Key.Reveal(), a.Text().Reveal()}, padsOf(leakySecret)...)
	return m
}

// holders hold secret material as a service holds it: some in exported
// fields, some in unexported ones, by value and by pointer.
type (
	holdsExported struct {
		Name     string
		Value    secrets.Value
		KEK      secrets.KEK
		Ring     *secrets.Keyring
		RingCopy secrets.Keyring
		Digester secrets.Digester
		Pointer  *secrets.Digester
	}
	holdsUnexported struct {
		name     string
		value    secrets.Value
		kek      secrets.KEK
		ring     *secrets.Keyring
		ringCopy secrets.Keyring
		digester secrets.Digester
		pointer  *secrets.Digester
		values   []secrets.Value
		byID     map[string]secrets.KEK
	}
)

// TestRedaction prints every exported type of this package that holds
// secret material, and structs that hold them, every way a program can
// (see secretstest.Outputs), and looks for every secret byte in every
// shape.
func TestRedaction(t *testing.T) {
	m := newMaterial(t)
	subjects := map[string]any{
		"Value":     m.value,
		"KEK":       m.kek,
		"KEK.Text":  m.kek.Text(),
		"*Keyring":  m.ring,
		"Keyring":   *m.ring,
		"Digester":  m.digester,
		"*Digester": &m.digester,
		"exported fields": holdsExported{
			Name: "a", Value: m.value, KEK: m.kek, Ring: m.ring, RingCopy: *m.ring,
			Digester: m.digester, Pointer: &m.digester,
		},
		"unexported fields": &holdsUnexported{
			name: "a", value: m.value, kek: m.kek, ring: m.ring, ringCopy: *m.ring,
			digester: m.digester, pointer: &m.digester,
			values: []secrets.Value{m.value}, byID: map[string]secrets.KEK{"kek-1": m.kek},
		},
		"[]KEK": []secrets.KEK{m.kek},
	}
	for name, x := range subjects {
		t.Run(name, func(t *testing.T) {
			secretstest.NoLeak(t, secretstest.Outputs(x), m.secret...)
		})
	}
}

// TestKeyringRedactsKeys reproduces a leak: %s of a *Keyring printed the
// bytes of its key-encryption keys, for fmt dereferences a pointer once
// to show what a verb does not fit.
func TestKeyringRedactsKeys(t *testing.T) {
	m := newMaterial(t)
	for _, verb := range []string{"%v", "%+v", "%s", "%q", "%x", "%d"} {
		t.Run(verb, func(t *testing.T) {
			secretstest.NoLeak(t, sprintf(verb, m.ring), m.secret...)
			secretstest.NoLeak(t, sprintf(verb, *m.ring), m.secret...)
		})
	}
}

// TestDigesterRedactsPads reproduces a leak: %s and %x of a Digester, or of
// a pointer to one, printed its HMAC pads, from which the pepper follows by
// XOR.
func TestDigesterRedactsPads(t *testing.T) {
	d := secrets.NewDigester(secrets.NewValue(leakySecret))
	secret := append(padsOf(leakySecret), leakySecret)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
		t.Run(verb, func(t *testing.T) {
			secretstest.NoLeak(t, sprintf(verb, d), secret...)
			secretstest.NoLeak(t, sprintf(verb, &d), secret...)
		})
	}
}

// TestDiffRedacts reproduces a leak: go-cmp, when it reports two Values
// that differ, prints both, and reads their fields when their Strings are
// the same.
func TestDiffRedacts(t *testing.T) {
	a, b := secrets.NewValue(leakySecret), secrets.NewValue(sampleKey)
	type issued struct {
		ID    string
		Value secrets.Value
	}
	type hidden struct {
		id    string
		value secrets.Value
	}
	diffs := map[string]string{
		"Values":             cmp.Diff(a, b),
		"pointers":           cmp.Diff(&a, &b),
		"exported fields":    cmp.Diff(issued{"sec_1", a}, issued{"sec_1", b}),
		"unexported fields":  cmp.Diff(hidden{"sec_1", a}, hidden{"sec_1", b}, cmp.AllowUnexported(hidden{})),
		"slices":             cmp.Diff([]secrets.Value{a}, []secrets.Value{b}),
		"a Value and a zero": cmp.Diff(a, secrets.Value{}),
		"KEKs":               cmp.Diff(secrets.KEK{ID: "k", Key: a}, secrets.KEK{ID: "k", Key: b}),
	}
	for name, diff := range diffs {
		t.Run(name, func(t *testing.T) {
			if diff == "" {
				t.Fatal("different values compare equal")
			}
			secretstest.NoLeak(t, diff, leakySecret, sampleKey)
		})
	}
}

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

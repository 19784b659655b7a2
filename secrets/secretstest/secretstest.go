// Package secretstest helps tests prove that no secret reaches an output:
// a log line, an error string, a formatted value, a JSON payload.
//
// A secret can leak in more shapes than its own text: hex or base64 of it,
// Go's dump of its bytes, or a long enough piece of any of those. [Forms]
// lists them and [NoLeak] looks for every one.
//
// [Keyring] gives a test a keyring to seal with, under a key made for it.
package secretstest

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rotorkit/rotor/secrets"
)

// Keyring returns a keyring whose only key-encryption key, "kek-test", is
// new and random: what a test needs to create secrets that sign HMACs.
func Keyring(tb testing.TB) *secrets.Keyring {
	tb.Helper()
	kek, err := secrets.GenerateKEK("kek-test")
	if err != nil {
		tb.Fatal(err)
	}
	ring, err := secrets.NewKeyring(kek)
	if err != nil {
		tb.Fatal(err)
	}
	return ring
}

// piece is the length of the fragments Forms includes: long enough that a
// match is no accident, short enough to catch a truncated line or dump.
const piece = 24

// Forms returns the shapes in which s could show up in output: s itself,
// its last 10 characters, and every 24-character piece of it; and hex
// (lower and upper case), standard and URL base64, and Go's dump of its
// bytes, each whole and as every 24-character piece.
func Forms(s string) []string {
	b := []byte(s)
	forms := []string{tail(s, 10)}
	for _, f := range []string{
		s,
		hex.EncodeToString(b),
		strings.ToUpper(hex.EncodeToString(b)),
		base64.StdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b),
		fmt.Sprint(b),
	} {
		forms = append(forms, f)
		for i := 0; i+piece < len(f); i++ {
			forms = append(forms, f[i:i+piece])
		}
	}
	return forms
}

func tail(s string, n int) string { return s[len(s)-min(len(s), n):] }

// NoLeak fails t if out holds any of the [Forms] of any of the secrets.
// The failure quotes out with every form of every secret replaced by
// [REDACTED], so the secret does not reach the test's own log.
func NoLeak(t testing.TB, out string, secrets ...string) {
	t.Helper()
	var found []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, form := range Forms(s) {
			if strings.Contains(out, form) {
				found = append(found, form)
			}
		}
	}
	if len(found) == 0 {
		return
	}
	slices.SortFunc(found, func(a, b string) int { return len(b) - len(a) }) // longest first
	for _, form := range found {
		out = strings.ReplaceAll(out, form, "[REDACTED]")
	}
	t.Fatalf("secretstest: output holds a secret, or a form of it: %q", out)
}

package secretstest_test

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/secrets/secretstest"
)

// recorder is a testing.TB that notes a failure instead of stopping.
type recorder struct {
	testing.TB
	failed bool
	msg    string // the failure's message
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = true
	r.msg = fmt.Sprintf(format, args...)
}
func (r *recorder) Helper() {}

func TestNoLeak(t *testing.T) {
	const secret = "sk_live_4eC39HqLyjWDarjtT1zdp7dc0000aa"
	tests := []struct {
		name string
		out  string
		leak bool
	}{
		{"clean", "key sec_123 (…0aa) created", false},
		{"itself", "key=" + secret, true},
		{"its last 10 characters", "hint 0aa but more: p7dc0000aa", true},
		{"hex", "bytes " + hex.EncodeToString([]byte(secret)), true},
		{"a byte dump, cut short", fmt.Sprint([]byte(secret))[:30], true},
		{"a line cut short", "key=" + secret[:30] + "…", true},
		{"a piece from the middle", "id " + secret[5:35], true},
		{"a piece just too short to count", "id " + secret[5:28], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			r := &recorder{TB: t}
			secretstest.NoLeak(r, tt.out, secret)
			is.Equal(r.failed, tt.leak) // a leak in any shape is caught, and only a leak
			if r.failed {
				is.True(!strings.Contains(r.msg, secret[5:20])) // and the failure does not repeat it
			}
		})
	}
}

func TestFormsOfShortSecrets(t *testing.T) {
	is := is.New(t)
	is.True(len(secretstest.Forms("ab")) > 0) // short secrets do not panic
	r := &recorder{TB: t}
	secretstest.NoLeak(r, "anything", "")
	is.True(!r.failed) // an empty secret matches nothing
}

func TestKeyring(t *testing.T) {
	is := is.New(t)
	a, b := secretstest.Keyring(t), secretstest.Keyring(t)
	v := secrets.NewValue("whsec_aGVsbG8gd29ybGQgaGVsbG8gd29ybGQ=")
	sealed, err := a.Seal("sec_1", v)
	is.NoErr(err) // the keyring seals
	opened, err := a.Open("sec_1", sealed)
	is.NoErr(err)                         // and opens what it sealed
	is.Equal(opened.Reveal(), v.Reveal()) // to the same value
	_, err = b.Open("sec_1", sealed)
	is.True(errors.Is(err, secrets.ErrTampered)) // another test's keyring has another key
}

package secretstest_test

import (
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/secrets/secretstest"
)

// recorder is a testing.TB that notes a failure instead of stopping.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Fatalf(string, ...any) { r.failed = true }
func (r *recorder) Helper()               {}

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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			r := &recorder{TB: t}
			secretstest.NoLeak(r, tt.out, secret)
			is.Equal(r.failed, tt.leak) // a leak in any shape is caught, and only a leak
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

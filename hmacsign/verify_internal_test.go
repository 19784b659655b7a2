package hmacsign

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/secrets"
)

// TestVerifyTriesLastMatchFirst checks the order in which a Verifier tries
// keys, which no output shows: the first valid key until another matches,
// then the key that matched last, with no stamp written while it keeps
// matching.
func TestVerifyTriesLastMatchFirst(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	secretsOf := []string{
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
		"rtr_test_not_a_real_key_0123456789abcdef",
		"rtr_test_an_expired_key_0123456789abcdef",
	}
	keys := make(StaticKeys, len(secretsOf))
	for i, s := range secretsOf {
		expiresAt := time.Time{}
		if i == 3 {
			expiresAt = now // not valid now, so never preferred
		}
		k, err := NewKey("k"+strconv.Itoa(i), secrets.NewValue(s), expiresAt)
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = k
	}
	v, err := NewVerifier(keys, &VerifierOptions{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	first := func() int {
		best, _, _ := preferred(keys, standard, now)
		return best
	}
	is := is.New(t)
	is.Equal(first(), 0) // before any match, the source's first valid key

	for _, i := range []int{0, 2, 2, 1, 1, 2, 0} {
		m, err := NewSigner(keys[i:i+1], &SignerOptions{Now: clock}).Sign(ctx, "owner", "msg_1", []byte("{}"))
		is.NoErr(err) // the message is signed
		stamps := make([]uint64, len(keys))
		for j, k := range keys {
			stamps[j] = k.s.hit.Load()
		}
		wasFirst := first() == i
		id, err := v.Verify(ctx, "owner", m)
		is.NoErr(err)              // the message verifies
		is.Equal(id, keys[i].ID()) // by the key that signed it
		is.Equal(first(), i)       // which the next verify tries first
		for j, k := range keys {
			if wasFirst || j != i {
				is.Equal(k.s.hit.Load(), stamps[j]) // only a match after a miss writes a stamp
			}
		}
	}
}

// TestParseUnix checks parseUnix against strconv.ParseInt on the strings
// where one might go wrong: lengths around 19 digits, leading zeros, the
// edges of int64, and characters next to the digits.
func TestParseUnix(t *testing.T) {
	inputs := []string{
		"", "0", "00", "1", "01", "1614265330", "00001614265330",
		"999999999999999999", "1000000000000000000",
		"9223372036854775807", "9223372036854775808", "9999999999999999999", "18446744073709551616",
		"0009223372036854775807", "0009223372036854775808", strings.Repeat("0", 40) + "1",
		"+1", "-1", " 1", "1 ", "1.5", "1e3", "/", ":", "0x10", "١",
	}
	for _, s := range inputs {
		n, ok := parseUnix(s)
		want, err := strconv.ParseInt(s, 10, 64)
		wantOK := err == nil && s != "" && strings.Trim(s, "0123456789") == ""
		if ok != wantOK || ok && n != want {
			t.Errorf("parseUnix(%q) = %d, %v; want %d, %v", s, n, ok, want, wantOK)
		}
	}
}

// TestEqualMAC flips each bit of a MAC in turn: every flip is unequal,
// and the MAC equals itself.
func TestEqualMAC(t *testing.T) {
	var a [macSize]byte
	for i := range a {
		a[i] = byte(i*37 + 11)
	}
	b := a
	if !equalMAC(&a, &b) {
		t.Fatal("a MAC does not equal its copy")
	}
	for i := range macSize {
		for bit := range 8 {
			b := a
			b[i] ^= 1 << bit
			if equalMAC(&a, &b) || equalMAC(&b, &a) {
				t.Fatalf("MACs that differ in bit %d of byte %d compare equal", bit, i)
			}
		}
	}
}

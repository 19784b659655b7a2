package secrets_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/rotorkit/rotor/secrets"
	"github.com/rotorkit/rotor/secrets/secretstest"
)

// newKEK returns a fresh key-encryption key, failing t on error.
func newKEK(t testing.TB, id string) secrets.KEK {
	t.Helper()
	k, err := secrets.GenerateKEK(id)
	if err != nil {
		t.Fatalf("GenerateKEK(%q): %v", id, err)
	}
	return k
}

// newKeyring returns a Keyring, failing t on error.
func newKeyring(t testing.TB, primary secrets.KEK, others ...secrets.KEK) *secrets.Keyring {
	t.Helper()
	k, err := secrets.NewKeyring(primary, others...)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return k
}

func TestGenerateKEK(t *testing.T) {
	is := is.New(t)
	a, b := newKEK(t, "kek-a"), newKEK(t, "kek-b")
	is.Equal(a.ID, "kek-a")                                     // the KEK has the id asked for
	is.Equal(a.Key.Len(), 32)                                   // and a 32-byte key
	is.True(!a.Key.Equal(b.Key))                                // and every key is new
	is.Equal(fmt.Sprint(a), `secrets.KEK("kek-a", [REDACTED])`) // a KEK prints its id, never its key
}

func TestGenerateKEKRejectsBadIDs(t *testing.T) {
	tests := []struct {
		name, id string
	}{
		{"empty", ""},
		{"too long", strings.Repeat("k", 65)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			k, err := secrets.GenerateKEK(tt.id)
			is.True(errors.Is(err, secrets.ErrInvalidKEK)) // a bad id is refused
			var ke *secrets.KEKError
			is.True(errors.As(err, &ke)) // with a *KEKError
			is.True(k.Key.IsZero())      // and no key
		})
	}
	_, err := secrets.GenerateKEK(strings.Repeat("k", 64))
	is.New(t).NoErr(err) // 64 bytes is long enough
}

func TestKEKTextRoundTrip(t *testing.T) {
	is := is.New(t)
	k := newKEK(t, "kek-1")
	text := k.Text()
	is.Equal(fmt.Sprint(text), secrets.Redacted) // the text form stays redacted
	raw, err := base64.StdEncoding.DecodeString(text.Reveal())
	is.NoErr(err)                                       // it is standard base64
	is.True(secrets.NewValue(string(raw)).Equal(k.Key)) // of the key

	for _, in := range []string{text.Reveal(), text.Reveal() + "\n", "  " + text.Reveal() + "\r\n"} {
		got, err := secrets.ParseKEK("kek-1", in)
		is.NoErr(err)                 // ParseKEK reads what Text writes, surrounding space and all
		is.Equal(got.ID, "kek-1")     // with the id given
		is.True(got.Key.Equal(k.Key)) // and the same key
	}
}

func TestParseKEKRejects(t *testing.T) {
	good := newKEK(t, "kek-1").Text().Reveal()
	tests := []struct {
		name, id, text, reason string
	}{
		{"empty id", "", good, "empty id"},
		{"long id", strings.Repeat("k", 65), good, "id longer than 64 bytes"},
		{"empty text", "kek-1", "", "key is 0 bytes, want 32"},
		{"not base64", "kek-1", "not base64!", "key is not standard base64"},
		{"url base64", "kek-1", base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)), "key is not standard base64"},
		{"short key", "kek-1", base64.StdEncoding.EncodeToString(make([]byte, 16)), "key is 16 bytes, want 32"},
		{"long key", "kek-1", base64.StdEncoding.EncodeToString(make([]byte, 33)), "key is 33 bytes, want 32"},
		{"swapped arguments", good, "kek-1", "key is not standard base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			_, err := secrets.ParseKEK(tt.id, tt.text)
			is.True(errors.Is(err, secrets.ErrInvalidKEK)) // bad input is refused
			var ke *secrets.KEKError
			is.True(errors.As(err, &ke))   // with a *KEKError
			is.Equal(ke.Reason, tt.reason) // that says why
			if len(tt.text) > 8 {
				is.True(!strings.Contains(err.Error(), tt.text[:8])) // and never quotes the key text
			}
			is.True(!strings.Contains(err.Error(), good[:8])) // even when it came in as the id
		})
	}
}

func TestNewKeyringRejects(t *testing.T) {
	a, b := newKEK(t, "a"), newKEK(t, "b")
	short := secrets.KEK{ID: "short", Key: secrets.NewValue(strings.Repeat("k", 31))}
	tests := []struct {
		name    string
		primary secrets.KEK
		others  []secrets.KEK
		reason  string
	}{
		{"zero primary", secrets.KEK{}, nil, "primary: empty id"},
		{"primary without key", secrets.KEK{ID: "a"}, nil, "primary: key is 0 bytes, want 32"},
		{"short primary", short, nil, "primary: key is 31 bytes, want 32"},
		{"long id", secrets.KEK{ID: strings.Repeat("x", 65), Key: a.Key}, nil, "primary: id longer than 64 bytes"},
		{"duplicate of primary", a, []secrets.KEK{b, {ID: "a", Key: b.Key}}, "others[1]: duplicate id"},
		{"duplicate other", a, []secrets.KEK{b, b}, "others[1]: duplicate id"},
		{"empty other id", a, []secrets.KEK{{Key: b.Key}}, "others[0]: empty id"},
		{"short other", a, []secrets.KEK{b, short}, "others[1]: key is 31 bytes, want 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			k, err := secrets.NewKeyring(tt.primary, tt.others...)
			is.True(k == nil)                              // no keyring
			is.True(errors.Is(err, secrets.ErrInvalidKEK)) // a bad KEK is refused
			var ke *secrets.KEKError
			is.True(errors.As(err, &ke))   // with a *KEKError
			is.Equal(ke.Reason, tt.reason) // that says which argument is wrong and why
			for _, kek := range append([]secrets.KEK{tt.primary}, tt.others...) {
				if kek.Key.Len() >= 16 {
					secretstest.NoLeak(t, err.Error(), kek.Key.Reveal()) // never with key bytes
				}
			}
		})
	}
}

func TestKeyringIDs(t *testing.T) {
	is := is.New(t)
	k := newKeyring(t, newKEK(t, "b"), newKEK(t, "a"), newKEK(t, "c"))
	is.Equal(k.PrimaryID(), "b") // the primary is the first argument
	ids := k.IDs()
	if diff := cmp.Diff([]string{"b", "a", "c"}, ids); diff != "" {
		t.Errorf("IDs mismatch (-want +got):\n%s", diff)
	}
	ids[0] = "changed"
	is.Equal(k.IDs()[0], "b") // IDs hands out a copy
}

func TestKeyringCopiesInput(t *testing.T) {
	is := is.New(t)
	a, b := newKEK(t, "a"), newKEK(t, "b")
	others := []secrets.KEK{b}
	k := newKeyring(t, a, others...)
	s, err := newKeyring(t, b).Seal("sec_1", secrets.NewValue("v"))
	is.NoErr(err) // sealing works
	others[0] = newKEK(t, "b")
	_, err = k.Open("sec_1", s)
	is.NoErr(err) // changing the caller's slice afterwards does not change the ring
}

func TestSealOpen(t *testing.T) {
	k := newKeyring(t, newKEK(t, "kek-1"))
	tests := []struct {
		name  string
		value secrets.Value
	}{
		{"key", secrets.NewValue(sampleKey)},
		{"webhook secret", secrets.NewValue("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")},
		{"binary", secrets.NewValue("\x00\xff\x10")},
		{"empty", secrets.Value{}},
		{"large", secrets.NewValue(strings.Repeat("x", 1<<16))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s, err := k.Seal("sec_1", tt.value)
			is.NoErr(err)                                                                           // Seal works
			is.Equal(s.KEKID, "kek-1")                                                              // under the primary
			is.Equal(len(s.Ciphertext), 24+tt.value.Len()+16)                                       // nonce, ciphertext and tag
			is.True(tt.value.Len() < 4 || !bytes.Contains(s.Ciphertext, []byte(tt.value.Reveal()))) // the plaintext is not in the ciphertext
			got, err := k.Open("sec_1", s)
			is.NoErr(err)                // what Seal made opens
			is.True(got.Equal(tt.value)) // to the same value
		})
	}
}

func TestSealUsesFreshNonces(t *testing.T) {
	is := is.New(t)
	k := newKeyring(t, newKEK(t, "kek-1"))
	v := secrets.NewValue(sampleKey)
	a, err := k.Seal("sec_1", v)
	is.NoErr(err) // Seal works
	b, err := k.Seal("sec_1", v)
	is.NoErr(err)                                               // twice
	is.True(!bytes.Equal(a.Ciphertext[:24], b.Ciphertext[:24])) // with a new nonce each time
	is.True(!bytes.Equal(a.Ciphertext, b.Ciphertext))           // so the same value seals differently
}

func TestOpenRefuses(t *testing.T) {
	kek := newKEK(t, "kek-1")
	k := newKeyring(t, kek)
	v := secrets.NewValue(sampleKey)
	sealed, err := k.Seal("sec_1", v)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) secrets.Sealed {
		s := sealed.Clone()
		s.Ciphertext[i] ^= 0x01
		return s
	}
	otherKey := newKeyring(t, secrets.KEK{ID: "kek-1", Key: newKEK(t, "x").Key})

	tests := []struct {
		name string
		ring *secrets.Keyring
		id   string
		s    secrets.Sealed
		want error
	}{
		{"flipped nonce bit", k, "sec_1", flip(0), secrets.ErrTampered},
		{"flipped ciphertext bit", k, "sec_1", flip(30), secrets.ErrTampered},
		{"flipped tag bit", k, "sec_1", flip(len(sealed.Ciphertext) - 1), secrets.ErrTampered},
		{"truncated by one", k, "sec_1", secrets.Sealed{KEKID: "kek-1", Ciphertext: sealed.Ciphertext[:len(sealed.Ciphertext)-1]}, secrets.ErrTampered},
		{"only the nonce", k, "sec_1", secrets.Sealed{KEKID: "kek-1", Ciphertext: sealed.Ciphertext[:24]}, secrets.ErrTampered},
		{"shorter than a nonce", k, "sec_1", secrets.Sealed{KEKID: "kek-1", Ciphertext: sealed.Ciphertext[:10]}, secrets.ErrTampered},
		{"no ciphertext", k, "sec_1", secrets.Sealed{KEKID: "kek-1"}, secrets.ErrTampered},
		{"extended", k, "sec_1", secrets.Sealed{KEKID: "kek-1", Ciphertext: append(sealed.Clone().Ciphertext, 0)}, secrets.ErrTampered},
		{"wrong secret id", k, "sec_2", sealed, secrets.ErrTampered},
		{"secret id with suffix", k, "sec_1\x00", sealed, secrets.ErrTampered},
		{"empty secret id", k, "", sealed, secrets.ErrTampered},
		{"other key, same id", otherKey, "sec_1", sealed, secrets.ErrTampered},
		{"unknown KEK", k, "sec_1", secrets.Sealed{KEKID: "kek-9", Ciphertext: sealed.Ciphertext}, secrets.ErrUnknownKEK},
		{"zero Sealed", k, "sec_1", secrets.Sealed{}, secrets.ErrUnknownKEK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			got, err := tt.ring.Open(tt.id, tt.s)
			is.True(errors.Is(err, tt.want)) // the sealed value does not open
			is.True(got.IsZero())            // and no partial or wrong value comes out
			secretstest.NoLeak(t, err.Error(), sampleKey)
		})
	}
}

func TestOpenUnknownKEKNamesIt(t *testing.T) {
	is := is.New(t)
	k := newKeyring(t, newKEK(t, "kek-1"))
	_, err := k.Open("sec_1", secrets.Sealed{KEKID: "kek-2024", Ciphertext: make([]byte, 64)})
	is.True(strings.Contains(err.Error(), `"kek-2024"`)) // the error names the missing key, to help operators
}

func TestKeyringRotation(t *testing.T) {
	is := is.New(t)
	a, b := newKEK(t, "kek-a"), newKEK(t, "kek-b")
	v := secrets.NewValue(sampleKey)

	ringA := newKeyring(t, a)
	old, err := ringA.Seal("sec_1", v)
	is.NoErr(err)                // sealed under A
	is.Equal(old.KEKID, "kek-a") // and says so

	ringBA := newKeyring(t, b, a)
	got, err := ringBA.Open("sec_1", old)
	is.NoErr(err)         // the rotated ring still opens what A sealed
	is.True(got.Equal(v)) // to the same value

	moved, changed, err := ringBA.Reseal("sec_1", old)
	is.NoErr(err)                  // Reseal works
	is.True(changed)               // and says it changed something
	is.Equal(moved.KEKID, "kek-b") // the value is now under B

	again, changed, err := ringBA.Reseal("sec_1", moved)
	is.NoErr(err)     // resealing again works
	is.True(!changed) // but changes nothing
	if diff := cmp.Diff(moved, again); diff != "" {
		t.Errorf("Reseal of a value under the primary changed it (-want +got):\n%s", diff)
	}

	ringB := newKeyring(t, b)
	got, err = ringB.Open("sec_1", moved)
	is.NoErr(err)         // B alone opens the resealed value
	is.True(got.Equal(v)) // to the same value
	_, err = ringB.Open("sec_1", old)
	is.True(errors.Is(err, secrets.ErrUnknownKEK)) // and refuses the old one, whose key is gone
	_, _, err = ringB.Reseal("sec_1", old)
	is.True(errors.Is(err, secrets.ErrUnknownKEK)) // and so cannot reseal it either
}

func TestResealRefusesTampered(t *testing.T) {
	is := is.New(t)
	a, b := newKEK(t, "kek-a"), newKEK(t, "kek-b")
	old, err := newKeyring(t, a).Seal("sec_1", secrets.NewValue("v"))
	is.NoErr(err) // sealed under A
	s, changed, err := newKeyring(t, b, a).Reseal("sec_2", old)
	is.True(errors.Is(err, secrets.ErrTampered)) // a value sealed for another id is not resealed
	is.True(!changed)                            // nothing changed
	is.True(s.IsZero())                          // and nothing came out
}

func TestKeyringConcurrentUse(t *testing.T) {
	k := newKeyring(t, newKEK(t, "kek-1"), newKEK(t, "kek-0"))
	v := secrets.NewValue(sampleKey)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			id := fmt.Sprintf("sec_%d", i)
			for range 100 {
				s, err := k.Seal(id, v)
				if err != nil {
					t.Error(err)
					return
				}
				got, err := k.Open(id, s)
				if err != nil || !got.Equal(v) {
					t.Errorf("Open = %v, %v", got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkSeal(b *testing.B) {
	k := newKeyring(b, newKEK(b, "kek-1"))
	v := secrets.NewValue(sampleKey)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Seal("sec_1", v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	k := newKeyring(b, newKEK(b, "kek-1"))
	s, err := k.Seal("sec_1", secrets.NewValue(sampleKey))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Open("sec_1", s); err != nil {
			b.Fatal(err)
		}
	}
}

func TestKeyringPrints(t *testing.T) {
	one := newKeyring(t, newKEK(t, "kek-1"))
	two := newKeyring(t, newKEK(t, "kek-2"), newKEK(t, "kek-1"))
	tests := []struct {
		name, format string
		x            any
		want         string
	}{
		{"one key", "%v", one, `secrets.Keyring(primary "kek-1", 1 key)`},
		{"two keys", "%v", two, `secrets.Keyring(primary "kek-2", 2 keys)`},
		{"by value", "%v", *two, `secrets.Keyring(primary "kek-2", 2 keys)`},
		{"zero", "%v", secrets.Keyring{}, "secrets.Keyring(no keys)"},
		{"nil", "%v", (*secrets.Keyring)(nil), "<nil>"},
		{"%s", "%s", two, `secrets.Keyring(primary "kek-2", 2 keys)`},
		{"%x", "%x", two, `secrets.Keyring(primary "kek-2", 2 keys)`},
		{"%#v", "%#v", two, `secrets.Keyring(primary "kek-2", 2 keys)`},
		{"%q", "%q", one, `"secrets.Keyring(primary \"kek-1\", 1 key)"`},
		{"in a struct", "%+v", struct{ R *secrets.Keyring }{one}, `{R:secrets.Keyring(primary "kek-1", 1 key)}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, sprintf(tt.format, tt.x)); diff != "" {
				t.Errorf("Sprintf(%q) mismatch (-want +got):\n%s", tt.format, diff)
			}
		})
	}
}

func TestKeyringAndKEKLog(t *testing.T) {
	is := is.New(t)
	kek := newKEK(t, "kek-1")
	ring := newKeyring(t, kek, newKEK(t, "kek-0"))
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("m", "ring", ring, "kek", kek)
	is.True(strings.Contains(buf.String(), `"ring":{"primary":"kek-1","ids":["kek-1","kek-0"]}`)) // a Keyring logs its ids
	is.True(strings.Contains(buf.String(), `"kek":{"id":"kek-1","key":"[REDACTED]"}`))            // a KEK its id, never its key
}

func TestZeroKeyring(t *testing.T) {
	is := is.New(t)
	var k secrets.Keyring
	is.Equal(k.PrimaryID(), "") // the zero Keyring has no primary
	is.Equal(len(k.IDs()), 0)   // nor any key
	_, err := k.Open("sec_1", secrets.Sealed{KEKID: "kek-1", Ciphertext: make([]byte, 64)})
	is.True(errors.Is(err, secrets.ErrUnknownKEK)) // it opens nothing
	defer func() {
		is.True(recover() != nil) // and refuses to seal, loudly
	}()
	_, _ = k.Seal("sec_1", secrets.NewValue("v"))
}

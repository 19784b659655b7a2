package secrets_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
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

func digestHex(d secrets.Digest) string { return hex.EncodeToString(d[:]) }

func TestDigesterKnownAnswers(t *testing.T) {
	tests := []struct {
		name   string
		d      secrets.Digester
		key    string
		digest string
	}{
		// FIPS 180-2 example "abc".
		{"sha256 abc", secrets.Digester{}, "abc",
			"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"sha256 empty", secrets.Digester{}, "",
			"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"empty pepper is sha256", secrets.NewDigester(secrets.Value{}), "abc",
			"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		// RFC 4231, test case 2.
		{"hmac rfc4231 case 2", secrets.NewDigester(secrets.NewValue("Jefe")), "what do ya want for nothing?",
			"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		// RFC 4231, test case 6: a key longer than the block size.
		{"hmac rfc4231 case 6", secrets.NewDigester(secrets.NewValue(strings.Repeat("\xaa", 131))),
			"Test Using Larger Than Block-Size Key - Hash Key First",
			"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			is.Equal(digestHex(tt.d.Digest(tt.key)), tt.digest)                        // Digest matches the known answer
			is.Equal(digestHex(tt.d.DigestValue(secrets.NewValue(tt.key))), tt.digest) // and so does DigestValue
		})
	}
}

func TestDigesterPepperChangesDigest(t *testing.T) {
	is := is.New(t)
	plain := secrets.Digester{}.Digest(sampleKey)
	a := secrets.NewDigester(secrets.NewValue("pepper-a")).Digest(sampleKey)
	b := secrets.NewDigester(secrets.NewValue("pepper-b")).Digest(sampleKey)
	is.True(!plain.Equal(a)) // a pepper changes the digest
	is.True(!a.Equal(b))     // and each pepper gives its own
	again := secrets.NewDigester(secrets.NewValue("pepper-a")).Digest(sampleKey)
	is.True(a.Equal(again)) // the same pepper gives the same digest
}

// TestDigesterConcurrentCopies runs copies of one peppered Digester from many
// goroutines; with -race it proves no hash state is shared mutably.
func TestDigesterConcurrentCopies(t *testing.T) {
	d := secrets.NewDigester(secrets.NewValue("pepper"))
	want := hmac.New(sha256.New, []byte("pepper"))
	want.Write([]byte(sampleKey))
	wantHex := hex.EncodeToString(want.Sum(nil))

	var wg sync.WaitGroup
	for range 8 {
		c := d // a copy, as a struct field or a closure would hold it
		wg.Go(func() {
			for range 200 {
				if got := digestHex(c.Digest(sampleKey)); got != wantHex {
					t.Errorf("concurrent digest = %s, want %s", got, wantHex)
					return
				}
				_ = d.Digest("other key")
			}
		})
	}
	wg.Wait()
}

func TestDigest(t *testing.T) {
	is := is.New(t)
	var zero secrets.Digest
	d := secrets.Digester{}.Digest("abc")
	is.True(zero.IsZero())                                   // the zero Digest is zero
	is.True(!d.IsZero())                                     // a real one is not
	is.True(d.Equal(secrets.Digester{}.Digest("abc")))       // equal digests are Equal
	is.True(!d.Equal(secrets.Digester{}.Digest("abd")))      // different ones are not
	is.Equal(d.String(), "sha256:ba7816bf…")                 // String shows only a short tag
	is.True(!strings.Contains(d.String(), digestHex(d)[8:])) // never the whole digest
	is.Equal(d.GoString(), "sha256:ba7816bf…")               // GoString shows the same tag
	is.Equal(d.LogValue().String(), "sha256:ba7816bf…")      // and so does LogValue
	is.Equal(d.LogValue().Kind(), slog.KindString)           // as a plain string
}

// TestDigestOutputs checks every way a Digest is printed or logged: each
// shows the short tag and none the whole digest, in any shape.
func TestDigestOutputs(t *testing.T) {
	d := secrets.Digester{}.Digest("abc")
	const tag = "sha256:ba7816bf…"
	type rec struct {
		Name   string
		Digest secrets.Digest
	}
	outs := map[string]string{
		"Sprint":         fmt.Sprint(d),
		"Sprint pointer": fmt.Sprint(&d),
		"Sprint struct":  fmt.Sprint(rec{"a", d}),
		"Sprint slice":   fmt.Sprint([]secrets.Digest{d}),
		"Errorf":         fmt.Errorf("lookup %v", d).Error(),
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "% x", "%d", "%o", "%b", "%08b", "%c", "%U", "%70v"} {
		outs[verb] = sprintf(verb, d)
		outs[verb+" struct"] = sprintf(verb, rec{"a", d})
	}
	for _, h := range []struct {
		name string
		new  func(*bytes.Buffer) slog.Handler
	}{
		{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
		{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
	} {
		var buf bytes.Buffer
		l := slog.New(h.new(&buf))
		l.Info("found", "digest", d)
		l.Info("found", slog.Group("g", slog.Any("digest", &d)))
		l.With("digest", d).Info("found")
		outs["slog "+h.name] = buf.String()
	}
	for name, out := range outs {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			secretstest.NoLeak(t, out, string(d[:]))        // no verb nor handler shows the digest
			is.True(strings.Contains(out, tag))             // they show the tag
			is.True(!strings.Contains(out, "ba7816bf8f01")) // and no more of its hex
		})
	}
}

func TestDigesterPrints(t *testing.T) {
	peppered := secrets.NewDigester(secrets.NewValue("pepper"))
	tests := []struct {
		format string
		x      any
		want   string
	}{
		{"%v", peppered, "secrets.Digester(peppered)"},
		{"%v", secrets.Digester{}, "secrets.Digester(sha256)"},
		{"%v", secrets.NewDigester(secrets.Value{}), "secrets.Digester(sha256)"},
		{"%s", &peppered, "secrets.Digester(peppered)"},
		{"%x", peppered, "secrets.Digester(peppered)"},
		{"%#v", peppered, "secrets.Digester(peppered)"},
		{"%q", peppered, `"secrets.Digester(peppered)"`},
		{"%30v|", secrets.Digester{}, "      secrets.Digester(sha256)|"},
		{"%+v", struct{ D secrets.Digester }{peppered}, "{D:secrets.Digester(peppered)}"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, sprintf(tt.format, tt.x)); diff != "" {
				t.Errorf("Sprintf(%q) mismatch (-want +got):\n%s", tt.format, diff)
			}
		})
	}
	is := is.New(t)
	is.Equal(peppered.LogValue().String(), "secrets.Digester(peppered)") // slog logs the same
	is.Equal(peppered.GoString(), peppered.String())                     // and so does GoString
}

func TestDigesterDoesNotAllocate(t *testing.T) {
	for name, d := range map[string]secrets.Digester{
		"sha256":      {},
		"hmac-sha256": secrets.NewDigester(secrets.NewValue("pepper")),
	} {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			is.Equal(testing.AllocsPerRun(100, func() { d.Digest(sampleKey) }), 0.0) // a digest is computed on the stack
		})
	}
}

func BenchmarkDigest(b *testing.B) {
	pepper := secrets.NewValue("a server-side pepper of 32 bytes")
	cases := []struct {
		name string
		d    secrets.Digester
	}{
		{"sha256", secrets.Digester{}},
		{"hmac-sha256", secrets.NewDigester(pepper)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.d.Digest(sampleKey)
			}
		})
	}
	// The floors: the standard library doing the same work directly.
	msg := []byte(sampleKey)
	b.Run("floor-sha256.Sum256", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sha256.Sum256(msg)
		}
	})
	b.Run("floor-hmac.New", func(b *testing.B) {
		b.ReportAllocs()
		key := []byte(pepper.Reveal())
		for b.Loop() {
			h := hmac.New(sha256.New, key)
			h.Write(msg)
			h.Sum(nil)
		}
	})
}

// TestDigesterMatchesHMAC checks the stack-buffer HMAC against crypto/hmac
// at the lengths where its paths change: peppers around the block size,
// keys around the stack buffer.
func TestDigesterMatchesHMAC(t *testing.T) {
	for _, pepperLen := range []int{1, 32, 63, 64, 65, 100} {
		for _, keyLen := range []int{0, 1, 49, 64, 128, 129, 300} {
			t.Run(fmt.Sprintf("pepper%d/key%d", pepperLen, keyLen), func(t *testing.T) {
				is := is.New(t)
				pepper := strings.Repeat("P", pepperLen)
				key := strings.Repeat("k", keyLen)
				mac := hmac.New(sha256.New, []byte(pepper))
				mac.Write([]byte(key))
				got := secrets.NewDigester(secrets.NewValue(pepper)).Digest(key)
				is.Equal(hex.EncodeToString(got[:]), hex.EncodeToString(mac.Sum(nil))) // the same as crypto/hmac
				plain := sha256.Sum256([]byte(key))
				is.Equal(secrets.Digester{}.Digest(key), secrets.Digest(plain)) // and the zero Digester is SHA-256
			})
		}
	}
}

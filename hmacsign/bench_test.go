package hmacsign_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/secrets"
)

// benchCase is a message of a given size signed with the last of a
// verifier's keys, and that key's bytes for the floor. With alternate,
// there are two messages, signed with the last key and the one before it,
// verified in turn.
type benchCase struct {
	name      string
	size      int
	keys      int
	alternate bool
}

var benchCases = []benchCase{
	{"1KiB", 1 << 10, 1, false},
	{"16KiB", 16 << 10, 1, false},
	{"1KiB-3keys", 1 << 10, 3, false},
	{"1KiB-3keys-alternating", 1 << 10, 3, true},
}

var benchNow = time.Unix(1_700_000_000, 0)

func benchPayload(size int) []byte {
	p := make([]byte, size)
	for i := range p {
		p[i] = byte('a' + i%26)
	}
	return p
}

// BenchmarkVerify verifies a Standard Webhooks message through the whole
// Verifier: headers checked, timestamp parsed and checked, the signature
// header parsed and decoded, the owner's keys read from a StaticKeys source,
// and the MAC of each key tried compared with every entry.
//
// In 1KiB-3keys the message is signed with the last of three valid keys.
// The Verifier tries first the key that matched last, so only the first
// verify tries it last; the rest try it first, like the 1-key cases. In
// 1KiB-3keys-alternating two senders, with the last two keys, take turns:
// every verify first tries the key that matched the other sender, misses,
// then tries the rest in the source's order, the first key (another miss)
// and then the one that signed: three MACs. That is the cost of a miss.
func BenchmarkVerify(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			ctx := b.Context()
			keys := make(hmacsign.StaticKeys, bc.keys)
			for i := range keys {
				secret, err := secrets.Webhook.Generate()
				if err != nil {
					b.Fatal(err)
				}
				keys[i], err = hmacsign.NewKey("key_"+strconv.Itoa(i), secret, time.Time{})
				if err != nil {
					b.Fatal(err)
				}
			}
			now := func() time.Time { return benchNow }
			// Each message signed with one key only: the last, and for
			// alternate the one before it.
			signers := keys[len(keys)-1:]
			if bc.alternate {
				signers = keys[len(keys)-2:]
			}
			var msgs []hmacsign.Message
			var wants []string
			for i := range signers {
				signer := hmacsign.NewSigner(signers[i:i+1], &hmacsign.SignerOptions{Now: now})
				m, err := signer.Sign(ctx, "owner", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", benchPayload(bc.size))
				if err != nil {
					b.Fatal(err)
				}
				msgs, wants = append(msgs, m), append(wants, signers[i].ID())
			}
			v := newVerifier(b, keys, &hmacsign.VerifierOptions{Now: now})
			b.SetBytes(int64(bc.size))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				id, err := v.Verify(ctx, "owner", msgs[i])
				if err != nil || id != wants[i] {
					b.Fatal(id, err)
				}
				i = (i + 1) % len(msgs)
			}
		})
	}
}

// BenchmarkVerifyRequest is BenchmarkVerify/1KiB read from a header map,
// as VerifyRequest and Middleware read it, among a request's usual other
// headers: the difference is the cost of finding the three headers, and
// of looking for Svix's spelling of each.
func BenchmarkVerifyRequest(b *testing.B) {
	b.Run("1KiB", func(b *testing.B) {
		ctx := b.Context()
		secret, err := secrets.Webhook.Generate()
		if err != nil {
			b.Fatal(err)
		}
		key, err := hmacsign.NewKey("key_0", secret, time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		keys := hmacsign.StaticKeys{key}
		now := func() time.Time { return benchNow }
		signer := hmacsign.NewSigner(keys, &hmacsign.SignerOptions{Now: now})
		payload := benchPayload(1 << 10)
		m, err := signer.Sign(ctx, "owner", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", payload)
		if err != nil {
			b.Fatal(err)
		}
		h := http.Header{
			"Accept-Encoding": {"gzip"}, "Content-Length": {"1024"}, "Content-Type": {"application/json"},
			"User-Agent": {"Go-http-client/1.1"}, "X-Forwarded-For": {"203.0.113.7"},
		}
		signer.SetHeaders(h, m)
		v := newVerifier(b, keys, &hmacsign.VerifierOptions{Now: now})
		b.SetBytes(int64(len(payload)))
		b.ReportAllocs()
		for b.Loop() {
			if id, err := v.VerifyRequest(ctx, "owner", h, payload); err != nil || id != "key_0" {
				b.Fatal(id, err)
			}
		}
	})
}

// BenchmarkHMACFloor is what an HMAC over the same message costs outside
// the Verifier, against an already decoded MAC. Two floors:
//
//   - 1KiB, 16KiB: a careful hand-written verifier: hmac.New with the key,
//     one Write of the prebuilt signed content, Sum, and hmac.Equal.
//   - 1KiB-pooled, 16KiB-pooled: the least any verifier that is safe for
//     concurrent use can do with crypto/hmac: a hash keyed once and kept
//     in a sync.Pool, taken, Reset (which restores the keyed state), one
//     Write of the prebuilt content, Sum into the pooled buffer, hmac.Equal,
//     and put back. Verify is measured against this one.
//
// Neither parses a header, checks a timestamp or asks for keys; the ratio
// of BenchmarkVerify to the pooled floor is what all that costs.
func BenchmarkHMACFloor(b *testing.B) {
	for _, bc := range benchCases[:2] {
		secret, err := secrets.Webhook.Generate()
		if err != nil {
			b.Fatal(err)
		}
		key, err := secrets.HMACKey(secret)
		if err != nil {
			b.Fatal(err)
		}
		k := []byte(key.Reveal())
		content := []byte("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W." + strconv.FormatInt(benchNow.Unix(), 10) + ".")
		content = append(content, benchPayload(bc.size)...)
		mac := hmac.New(sha256.New, k)
		mac.Write(content)
		sig := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
		want, err := base64.StdEncoding.DecodeString(sig[3:])
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(bc.size))
			b.ReportAllocs()
			for b.Loop() {
				mac := hmac.New(sha256.New, k)
				mac.Write(content)
				if !hmac.Equal(mac.Sum(nil), want) {
					b.Fatal("floor does not verify")
				}
			}
		})
		b.Run(bc.name+"-pooled", func(b *testing.B) {
			type keyed struct {
				h   hash.Hash
				sum [sha256.Size]byte
			}
			pool := sync.Pool{New: func() any {
				h := hmac.New(sha256.New, k)
				h.Reset() // saves the keyed state that later Resets restore
				return &keyed{h: h}
			}}
			b.SetBytes(int64(bc.size))
			b.ReportAllocs()
			for b.Loop() {
				p := pool.Get().(*keyed)
				p.h.Reset()
				p.h.Write(content)
				if !hmac.Equal(p.h.Sum(p.sum[:0]), want) {
					b.Fatal("floor does not verify")
				}
				pool.Put(p)
			}
		})
	}
}

// BenchmarkSign signs a Standard Webhooks message with two valid keys, as
// during a grace window: two MACs and a signature header of two entries.
func BenchmarkSign(b *testing.B) {
	b.Run("1KiB-2keys", func(b *testing.B) {
		ctx := b.Context()
		keys := make(hmacsign.StaticKeys, 2)
		for i := range keys {
			secret, err := secrets.Webhook.Generate()
			if err != nil {
				b.Fatal(err)
			}
			keys[i], err = hmacsign.NewKey("key_"+strconv.Itoa(i), secret, time.Time{})
			if err != nil {
				b.Fatal(err)
			}
		}
		signer := hmacsign.NewSigner(keys, &hmacsign.SignerOptions{Now: func() time.Time { return benchNow }})
		payload := benchPayload(1 << 10)
		b.SetBytes(int64(len(payload)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := signer.Sign(ctx, "owner", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", payload); err != nil {
				b.Fatal(err)
			}
		}
	})
}

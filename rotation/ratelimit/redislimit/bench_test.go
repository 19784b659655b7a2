package redislimit_test

import (
	"testing"

	"github.com/rotorkit/rotor/internal/redistest"
	"github.com/rotorkit/rotor/rotation/ratelimit"
	"github.com/rotorkit/rotor/rotation/ratelimit/redislimit"
)

// BenchmarkAllow measures a request taken from a bucket in Redis, one
// round trip to the shared server, allowed (the script writes) and
// refused (it only reads), against its floors: a bare PING, the round
// trip alone, and the in-process limiter, no round trip at all.
func BenchmarkAllow(b *testing.B) {
	c := redistest.Client(b)
	lim := redislimit.New(c, &redislimit.Options{Prefix: redistest.Prefix(b, c)})
	var mem ratelimit.Memory
	for _, bm := range []struct {
		name      string
		lim       ratelimit.Limiter
		perMinute int
		want      bool
	}{
		{"redis-allowed", lim, 1 << 40, true},
		{"redis-refused", lim, 1, false},
		{"memory-allowed", &mem, 1 << 40, true},
	} {
		b.Run(bm.name, func(b *testing.B) {
			ctx, id := b.Context(), "sec_"+bm.name
			if _, _, err := bm.lim.Allow(ctx, id, bm.perMinute); err != nil {
				b.Fatal(err) // the bucket exists, and a limit of one is used up
			}
			b.ReportAllocs()
			for b.Loop() {
				ok, _, err := bm.lim.Allow(ctx, id, bm.perMinute)
				if err != nil || ok != bm.want {
					b.Fatalf("Allow: %v, %v; want %v", ok, err, bm.want)
				}
			}
		})
	}
	b.Run("redis-ping", func(b *testing.B) {
		ctx := b.Context()
		b.ReportAllocs()
		for b.Loop() {
			if err := c.Ping(ctx).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

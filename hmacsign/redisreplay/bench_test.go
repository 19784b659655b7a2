package redisreplay_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/hmacsign/redisreplay"
	"github.com/rotorkit/rotor/internal/redistest"
)

// BenchmarkSeen measures an entry recorded in Redis, one round trip to the
// shared server, for a new message (SET NX makes the key) and for a
// replay (SET NX finds it, PEXPIREAT GT keeps it), against its floors: a
// bare PING, the round trip alone, and the in-memory guard. The new
// message's id is made in the loop, one allocation of the benchmark's.
func BenchmarkSeen(b *testing.B) {
	c := redistest.Client(b)
	guard := redisreplay.New(c, &redisreplay.Options{Prefix: redistest.Prefix(b, c)})
	mem, err := hmacsign.NewMemoryReplayGuard(0, nil)
	if err != nil {
		b.Fatal(err)
	}
	until := time.Now().Add(time.Hour)
	b.Run("redis-new", func(b *testing.B) {
		ctx := b.Context()
		id := []byte("msg_")
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			seen, err := guard.Seen(ctx, "acme", string(strconv.AppendInt(id[:4], int64(i), 10)), until)
			if err != nil || seen {
				b.Fatalf("Seen: %v, %v; want a new message", seen, err)
			}
		}
	})
	for _, bm := range []struct {
		name  string
		guard hmacsign.ReplayGuard
	}{{"redis-replay", guard}, {"memory-replay", mem}} {
		b.Run(bm.name, func(b *testing.B) {
			ctx := b.Context()
			if _, err := bm.guard.Seen(ctx, "acme", "msg_replayed", until); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				seen, err := bm.guard.Seen(ctx, "acme", "msg_replayed", until)
				if err != nil || !seen {
					b.Fatalf("Seen: %v, %v; want a replay", seen, err)
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

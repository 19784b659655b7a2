package redisreplay

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rotorkit/rotor/hmacsign"
	"github.com/rotorkit/rotor/internal/outage"
)

// DefaultPrefix is the prefix of every entry's key when [Options].Prefix
// is empty.
const DefaultPrefix = "rotor:replay:"

// Options configures a [Guard]. A nil *Options, and every zero field,
// means the default.
type Options struct {
	// Prefix begins the key of every entry. Empty means [DefaultPrefix].
	// Services that share a Redis server, but whose owners and message
	// ids are not the same things, give each its own.
	Prefix string

	// FailOpen accepts a message whose entry cannot be read or written,
	// unguarded against replays. False, the default, refuses it with an
	// error matching [hmacsign.ErrGuardUnavailable]: the guard fails
	// closed.
	FailOpen bool

	// Logger receives a Warn record when Redis stops answering and an
	// Info record when it answers again, with the error and the count of
	// failures, never an owner, an id or a key. Nil discards them.
	Logger *slog.Logger
}

// Guard is a [hmacsign.ReplayGuard] whose entries are kept in Redis and
// shared by every Guard over the same server and prefix. It is safe for
// concurrent use. Its zero value is not usable; use [New].
type Guard struct {
	client   redis.Scripter
	prefix   string
	failOpen bool
	outage   *outage.Tracker
}

var _ hmacsign.ReplayGuard = (*Guard)(nil)

// Stats is what a [Guard] counted since it was made.
type Stats struct {
	// Failures is how many calls Redis did not answer, each refused or,
	// with FailOpen, accepted: those it failed and those made while it
	// was down that did not try it.
	Failures uint64
	// Down reports whether Redis is down as far as the guard knows: the
	// latest call that tried it failed.
	Down bool
}

// New returns a guard that keeps its entries through client, such as a
// *redis.Client or a *redis.ClusterClient. A nil opts means the defaults;
// it is copied. New panics if client is nil; it does not contact Redis.
func New(client redis.Scripter, opts *Options) *Guard {
	if client == nil {
		panic("redisreplay: New with a nil client")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	g := &Guard{client: client, prefix: o.Prefix, failOpen: o.FailOpen}
	if g.prefix == "" {
		g.prefix = DefaultPrefix
	}
	policy := "refusing signed messages"
	if g.failOpen {
		policy = "accepting signed messages unguarded against replays"
	}
	g.outage = &outage.Tracker{
		Logger: o.Logger,
		Down:   "redisreplay: redis does not answer; " + policy + " until it does",
		Up:     "redisreplay: redis answers again; replays are refused",
	}
	return g
}

// script records KEYS[1] until ARGV[1], Unix milliseconds, unless it is
// there already; then it only moves its expiry to ARGV[1] if that is
// later. It returns 1 if the key was there, 0 if this call made it. An
// until already past makes a key that expires at once: never seen.
var script = redis.NewScript(`
if redis.call('SET', KEYS[1], '1', 'NX', 'PXAT', ARGV[1]) then
  return 0
end
redis.call('PEXPIREAT', KEYS[1], ARGV[1], 'GT')
return 1
`)

// Seen records (owner, id) in Redis until the instant until, and reports
// whether it was already there and had not expired, as
// [hmacsign.ReplayGuard] says. When Redis does not answer, it returns an
// error matching [hmacsign.ErrGuardUnavailable], or, with FailOpen,
// reports the message new.
func (g *Guard) Seen(ctx context.Context, owner, id string, until time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	probe, skip := g.outage.Begin()
	if skip {
		return g.unanswered(outage.ErrStillDown)
	}
	seen, err := script.Run(ctx, g.client, []string{g.key(owner, id)}, expiry(until)).Int64()
	if err == nil && seen != 0 && seen != 1 {
		err = errors.New("unexpected reply to the script")
	}
	if err != nil && ctx.Err() != nil {
		g.outage.Abandon(probe) // the caller's, not an outage
		return false, fmt.Errorf("redisreplay: %w", ctx.Err())
	}
	g.outage.End(ctx, probe, err)
	if err != nil {
		return g.unanswered(err)
	}
	return seen == 1, nil
}

// expiry returns until in Unix milliseconds, rounded up, so that an
// entry lives through its until.
func expiry(until time.Time) int64 {
	ms := until.UnixMilli()
	if until.Sub(time.UnixMilli(ms)) > 0 {
		ms++
	}
	return ms
}

// key returns the entry's key: the prefix and a hash of owner and id that
// no other pair shares.
func (g *Guard) key(owner, id string) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(owner)))])
	io.WriteString(h, owner)
	io.WriteString(h, id)
	var sum [sha256.Size]byte
	return g.prefix + base64.RawURLEncoding.EncodeToString(h.Sum(sum[:0]))
}

// unanswered answers a call that Redis did not, by the policy.
func (g *Guard) unanswered(err error) (bool, error) {
	if g.failOpen {
		return false, nil
	}
	return false, fmt.Errorf("redisreplay: %w: %w", hmacsign.ErrGuardUnavailable, err)
}

// Stats returns what the guard counted so far.
func (g *Guard) Stats() Stats {
	return Stats{Failures: g.outage.Failures(), Down: g.outage.IsDown()}
}

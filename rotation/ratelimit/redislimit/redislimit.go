package redislimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rotorkit/rotor/internal/outage"
	"github.com/rotorkit/rotor/rotation/ratelimit"
)

// DefaultPrefix is the prefix of every bucket's key when [Options].Prefix
// is empty.
const DefaultPrefix = "rotor:ratelimit:"

// Options configures a [Limiter]. A nil *Options, and every zero field,
// means the default.
type Options struct {
	// Prefix begins the key of every bucket, which the key's id ends.
	// Empty means [DefaultPrefix]. Services that share a Redis server
	// but not their keys' budgets give each its own.
	Prefix string

	// FailClosed refuses a request whose bucket cannot be read, with an
	// error matching [ratelimit.ErrUnavailable]. False, the default,
	// lets it through: the limiter fails open.
	FailClosed bool

	// Now, if not nil, is the clock of the buckets instead of the Redis
	// server's. Leave it nil in production: then replicas whose clocks
	// differ still agree on every budget. Tests set it, such as to
	// rotationtest.Clock.Now, to step through a minute without waiting.
	Now func() time.Time

	// Logger receives a Warn record when Redis stops answering and an
	// Info record when it answers again, with the error and the count of
	// failures, never a key or an id. Nil discards them.
	Logger *slog.Logger
}

// Limiter is a [ratelimit.Limiter] whose buckets are kept in Redis and
// shared by every Limiter over the same server and prefix. It is safe
// for concurrent use. Its zero value is not usable; use [New].
type Limiter struct {
	client     redis.Scripter
	prefix     string
	failClosed bool
	now        func() time.Time
	outage     *outage.Tracker
}

// Stats is what a [Limiter] counted since it was made.
type Stats struct {
	// Failures is how many calls Redis did not answer, each let through
	// or, with FailClosed, refused: those it failed and those made while
	// it was down that did not try it.
	Failures uint64
	// Down reports whether Redis is down as far as the limiter knows: the
	// latest call that tried it failed.
	Down bool
}

// New returns a limiter that keeps its buckets through client, such as a
// *redis.Client or a *redis.ClusterClient. A nil opts means the defaults;
// it is copied. New panics if client is nil; it does not contact Redis.
func New(client redis.Scripter, opts *Options) *Limiter {
	if client == nil {
		panic("redislimit: New with a nil client")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	l := &Limiter{client: client, prefix: o.Prefix, failClosed: o.FailClosed, now: o.Now}
	if l.prefix == "" {
		l.prefix = DefaultPrefix
	}
	policy := "letting requests through without their rate limits"
	if l.failClosed {
		policy = "refusing the requests of keys with rate limits"
	}
	l.outage = &outage.Tracker{
		Logger: o.Logger,
		Down:   "redislimit: redis does not answer; " + policy + " until it does",
		Up:     "redislimit: redis answers again; rate limits apply",
	}
	return l
}

// script is the bucket of one key, as GCRA keeps it: KEYS[1] holds the
// instant at which the bucket is full again, in microseconds since the
// Unix epoch; none means full now. ARGV[1] is the limit, requests a
// minute, and ARGV[2] the instant of the request in microseconds, or ""
// for the server's clock. A request is allowed if the bucket, less one
// token, would not hold more than the limit's worth of debt. It returns
// {1, 0} when allowed and {0, µs until a request would be} when not, and
// writes only when allowed, with the key expiring once the bucket is
// full again. Numbers stay below 2^53, so Lua's doubles hold them
// exactly.
var script = redis.NewScript(`
local limit = tonumber(ARGV[1])
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[2])
end
local interval = math.max(math.floor(60000000 / limit), 1)
local capacity = interval * limit
local full = tonumber(redis.call('GET', KEYS[1]) or now)
if full < now then
  full = now
end
local after = full + interval
if after - now > capacity then
  return {0, after - now - capacity}
end
redis.call('SET', KEYS[1], string.format('%d', after), 'PX', math.max(math.ceil((after - now) / 1000), 1))
return {1, 0}
`)

// Allow takes one request of the key id, limited to perMinute requests a
// minute, from its bucket in Redis, as [ratelimit.Limiter] says. When
// Redis does not answer, the request is let through, or refused with an
// error matching [ratelimit.ErrUnavailable] if FailClosed is set.
func (l *Limiter) Allow(ctx context.Context, id string, perMinute int) (bool, time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return false, 0, err
	}
	if err := ratelimit.CheckArgs(id, perMinute); err != nil {
		return false, 0, err
	}
	probe, skip := l.outage.Begin()
	if skip {
		return l.unanswered(outage.ErrStillDown)
	}
	var now string
	if l.now != nil {
		now = strconv.FormatInt(l.now().UnixMicro(), 10)
	}
	res, err := script.Run(ctx, l.client, []string{l.prefix + id}, perMinute, now).Int64Slice()
	if err == nil && len(res) != 2 {
		err = errors.New("unexpected reply to the script")
	}
	if err != nil && ctx.Err() != nil {
		l.outage.Abandon(probe) // the caller's, not an outage
		return false, 0, fmt.Errorf("redislimit: %w", ctx.Err())
	}
	l.outage.End(ctx, probe, err)
	if err != nil {
		return l.unanswered(err)
	}
	if res[0] == 1 {
		return true, 0, nil
	}
	return false, time.Duration(res[1]) * time.Microsecond, nil
}

// unanswered answers a call that Redis did not, by the policy.
func (l *Limiter) unanswered(err error) (bool, time.Duration, error) {
	if l.failClosed {
		return false, 0, fmt.Errorf("redislimit: %w: %w", ratelimit.ErrUnavailable, err)
	}
	return true, 0, nil
}

// Stats returns what the limiter counted so far.
func (l *Limiter) Stats() Stats {
	return Stats{Failures: l.outage.Failures(), Down: l.outage.IsDown()}
}

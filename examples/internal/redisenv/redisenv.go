// Package redisenv keeps the example services' counters in Redis: the
// rate limits of keys in a redislimit.Limiter and the replay guard of
// signed requests in a redisreplay.Guard, over one client of the server
// that ROTOR_REDIS_URL names. A service that shares counters sets
// service.App.Redis to [Open]; one that does not never imports this
// package, and so never links a Redis client.
//
// It is not part of rotor: a service of one's own opens its client its
// own way.
package redisenv

import (
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rotorkit/rotor/examples/internal/service"
	"github.com/rotorkit/rotor/hmacsign/redisreplay"
	"github.com/rotorkit/rotor/rotation/ratelimit/redislimit"
)

// Timeouts of a call to Redis when the URL sets none: a request waits
// for its rate limit and its replay check, so a Redis that does not
// answer must not hold it long. The limiter then lets the request
// through and the guard refuses it, and while Redis is down only one
// call at a time waits for it.
const (
	dialTimeout = time.Second
	ioTimeout   = 500 * time.Millisecond
)

// Open returns counters in the Redis server of c.URL, a URL that
// redis.ParseURL reads, whose query may set the client's options, such
// as ?dial_timeout=2s&read_timeout=1s&max_retries=1. The rate limits
// fail open and the replay guard fails closed. It does not contact the
// server: an unreachable one is counted and logged by the counters as
// they are used, and they recover when it answers.
func Open(c service.RedisConfig) (service.Counters, error) {
	opts, err := redis.ParseURL(c.URL)
	if err != nil {
		return service.Counters{}, errBadURL // err would quote the URL, password and all
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = dialTimeout
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = ioTimeout
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = ioTimeout
	}
	opts.DialerRetries = 1 // a refused connection is refused again 100 ms later
	client := redis.NewClient(opts)
	return service.Counters{
		Limiter: redislimit.New(client, &redislimit.Options{Prefix: c.Prefix + "ratelimit:", Now: c.Now, Logger: c.Log}),
		Replay:  redisreplay.New(client, &redisreplay.Options{Prefix: c.Prefix + "replay:", Logger: c.Log}),
		Close:   client.Close,
	}, nil
}

var errBadURL = errors.New("ROTOR_REDIS_URL is not a Redis URL such as redis://127.0.0.1:6379/0 (see redis.ParseURL)")

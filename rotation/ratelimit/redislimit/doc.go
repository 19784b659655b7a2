// Package redislimit keeps per-key rate limits in Redis, so that every
// replica of a service draws on one budget per key: a [ratelimit.Limiter]
// for rotationhttp.Options.Limiter.
//
//	client := redis.NewClient(opts) // from redis.ParseURL(os.Getenv("ROTOR_REDIS_URL"))
//	limiter := redislimit.New(client, &redislimit.Options{Logger: log})
//	auth, err := rotationhttp.NewAuthenticator(rot, &rotationhttp.Options{Limiter: limiter})
//
// # The budget
//
// Each key has the token bucket the ratelimit package describes: n
// requests at once, then one every minute/n. It is kept in one Redis
// string, the instant at which the bucket will be full again (the
// "theoretical arrival time" of the generic cell rate algorithm, which is
// a token bucket in one number), in microseconds. One request is one
// round trip: a Lua script, sent as EVALSHA and, when the server has
// not cached it (after a restart or a failover), as EVAL, reads the
// server's clock (TIME), takes a token or computes the retry-after, and
// writes the new instant, atomically. Since the clock is the server's,
// replicas whose clocks differ still agree on every budget; and since the
// script runs alone, n replicas racing on one key admit exactly its
// limit between them.
//
// # Keys
//
// A bucket's key is [Options].Prefix ([DefaultPrefix] unless set) and the
// key's id: ids, never keys or anything derived from them, reach Redis.
// A bucket expires once it is full again, so an idle key keeps nothing in
// Redis after at most a minute. The script touches that one key, so a
// cluster may hold the buckets on any of its nodes.
//
// # When Redis cannot be reached
//
// A request whose bucket cannot be read is let through (the limiter fails
// open), since a key's limit protects the service, which an outage of
// Redis should not take down; [Options].FailClosed refuses it instead,
// with an error matching [ratelimit.ErrUnavailable], which rotationhttp
// answers 503. Either way the failure is counted ([Limiter.Stats]), and
// logged once when Redis stops answering and once when it answers again.
// While it is down, one call at a time tries it; the others get the
// failure's answer at once, rather than each waiting for the client's
// timeouts. Nothing needs restarting: the first call that Redis answers
// ends the outage. A done context is the caller's, not an outage: it is
// returned as it is, taking nothing, whatever the policy.
//
// How long a call waits for Redis is the client's to say: its
// DialTimeout, ReadTimeout, MaxRetries and DialerRetries.
//
// # Concurrency
//
// A Limiter is safe for concurrent use, starts no goroutines, and holds
// no lock on a call's way to Redis.
package redislimit

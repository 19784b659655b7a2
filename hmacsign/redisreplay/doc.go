// Package redisreplay keeps a [hmacsign.ReplayGuard]'s entries in Redis,
// so that a message accepted by one replica of a service is refused as a
// replay by every other: a guard for hmacsign.VerifierOptions.Replay.
//
//	client := redis.NewClient(opts) // from redis.ParseURL(os.Getenv("ROTOR_REDIS_URL"))
//	guard := redisreplay.New(client, &redisreplay.Options{Logger: log})
//	verifier, err := hmacsign.NewVerifier(rot, &hmacsign.VerifierOptions{Replay: guard})
//
// # Entries
//
// An entry is one Redis key, written with SET NX and an absolute expiry,
// PXAT its until, in one round trip: a Lua script, sent as EVALSHA and,
// when the server has not cached it (after a restart or a failover), as
// EVAL. Whichever replica's SET creates the key saw the message first;
// every other finds it. When the key exists already, the script moves its
// expiry to the until given if that is later (PEXPIREAT GT), so that a
// message sent again with a later timestamp stays refused as long as the
// verifier would accept it. The entry expires on the Redis server's
// clock: keep the verifiers' clocks close to it, as NTP does, since a
// verifier whose clock lags the server's by more than a few seconds
// accepts messages that long after their entries are gone. Redis 7.0 or
// later is needed, for PEXPIREAT GT.
//
// # Keys
//
// A key is [Options].Prefix ([DefaultPrefix] unless set) and the
// unpadded base64url SHA-256 of the owner and the message id, the
// owner's length first, so that no owner or id, however chosen, can name
// another pair's entry, and a long id makes no long key. Neither the
// owner nor the id reaches Redis as text: an id made from a message's MAC
// (Stripe and GitHub messages carry none of their own) stays out of the
// server, as MACs stay out of logs.
//
// # When Redis cannot be reached
//
// A message whose entry cannot be read or written is refused (the guard
// fails closed) with an error matching [hmacsign.ErrGuardUnavailable],
// no verdict on the signature, which rotationhttp answers 503 so that the
// sender retries; [Options].FailOpen accepts it instead, unguarded
// against replays. Either way the failure is counted ([Guard.Stats]), and
// logged once when Redis stops answering and once when it answers again.
// While it is down, one call at a time tries it; the others get the
// failure's answer at once. Nothing needs restarting: the first call that
// Redis answers ends the outage. A done context is the caller's, not an
// outage: it is returned as it is, recording nothing, whatever the
// policy.
//
// How long a call waits for Redis is the client's to say: its
// DialTimeout, ReadTimeout, MaxRetries and DialerRetries.
//
// # Concurrency
//
// A Guard is safe for concurrent use, starts no goroutines, and holds no
// lock on a call's way to Redis.
package redisreplay

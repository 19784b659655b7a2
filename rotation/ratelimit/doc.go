// Package ratelimit keeps per-key rate limits: a budget of n requests a
// minute for each key, kept by the key's id.
//
// [Limiter] is the small interface that rotationhttp's Authenticator takes
// (rotationhttp.Options.Limiter) and every backend implements: one call,
// [Limiter.Allow], that takes a request from a key's budget or says how
// long until it could. [Memory], the default, keeps the budgets in the
// process; package redislimit keeps them in Redis, so that replicas of a
// service share them. Package ratelimittest is the conformance suite that
// both pass, and that a backend of one's own runs too.
//
//	lim, err := ratelimit.NewMemory(&ratelimit.MemoryOptions{MaxKeys: 50000})
//	…
//	auth, err := rotationhttp.NewAuthenticator(rot, &rotationhttp.Options{Limiter: lim})
//
// # The budget
//
// A key limited to n requests a minute has a token bucket of n tokens,
// full at first, that refills evenly, one token every minute/n: n
// requests at once are allowed, then one every minute/n, and a key idle
// for a minute has its whole budget again, never more. A refused request
// takes nothing, and is told how long until a request would be allowed.
//
// The bucket belongs to the id it is asked for. rotationhttp asks for the
// secret's id, which a key keeps for life: a regenerated key does not
// start a fresh minute, and while a previous value is in its grace window
// the old and the new value draw on one budget. The limit comes with each
// call, so a key whose limit changes has the new one within a minute.
//
// # Errors
//
// [Limiter.Allow] fails, and takes nothing, when its context is done (the
// context's error comes through, for errors.Is), when the budget cannot be
// read ([ErrUnavailable], from backends that may fail closed) and for
// arguments that cannot work, a limit that is not positive or an empty id
// ([*OptionError]). A bad option of [NewMemory] is an [*OptionError] too.
//
// # Security
//
// A limiter is given ids, never keys, and keeps nothing else: a backend's
// storage names buckets by the id alone.
//
// # Concurrency
//
// Every Limiter is safe for concurrent use; a burst from many goroutines
// at one instant gets exactly the limit, and a shared backend such as
// Redis gives exactly the limit over every replica.
package ratelimit

// Package hmacsign signs outgoing webhooks and verifies signed requests
// with the secrets an owner holds at the instant of signing or verifying,
// so that a secret can be rotated with a grace window without a single
// message failing.
//
// A [Signer] asks its [KeySource] for the owner's signing keys and puts one
// signature per key on each message, stamped by its clock or, with
// [Signer.SignAt], at an instant the caller gives; a [Verifier] asks for
// the keys valid now and accepts a message that any of them signed.
// [Middleware] puts a Verifier in front of a net/http handler. Keys come from
// rotation.Rotator, which implements KeySource, or from [StaticKeys] for
// those who keep their own secrets; hmacsign itself never stores anything.
//
//	keys := hmacsign.StaticKeys{key}                // or a *rotation.Rotator
//	signer := hmacsign.NewSigner(keys, nil)
//	m, err := signer.Sign(ctx, "org_42", "", payload)
//	…
//	signer.SetHeaders(req.Header, m)
//
//	verifier, err := hmacsign.NewVerifier(keys, nil) // fails only for options out of range
//	…
//	keyID, err := verifier.VerifyRequest(ctx, "org_42", req.Header, body)
//
// # Options
//
// [NewSigner], [NewVerifier] and [Middleware] take their options as a
// struct pointer, copied when called; nil, like the zero value of every
// field, means the documented default, as a zero max does for
// [NewMemoryReplayGuard]. No default lifts a bound: a zero Tolerance is
// [DefaultTolerance], a zero MaxBody [DefaultMaxBody], a zero max
// [DefaultReplayMax]. An option out of range, such as a negative duration
// or size, is refused with an [*OptionError] that names it, never clamped
// and never a panic. Only a missing required argument (a nil [KeySource],
// Verifier, owner func or handler) panics, as a programmer error.
//
// # Schemes
//
// [StandardWebhooks], the default, is the Standard Webhooks v1 format:
// headers webhook-id, webhook-timestamp and webhook-signature, the last
// holding space-separated "v1,<base64>" entries, each the HMAC-SHA256 of
// id.timestamp.payload under the secret's standard key (for whsec_ secrets,
// the bytes after the prefix, base64-decoded, padded or not; a secret given
// without its prefix is read that way by [NewWebhookKey], never by
// [NewKey]). Messages signed here verify with every Standard Webhooks
// library, and theirs verify here. Svix sends the same format as svix-id,
// svix-timestamp and svix-signature: a [Verifier] reads either spelling
// of each header, refuses a message whose two spellings of one header
// differ, and a [Signer] writes webhook-*.
//
// For those who migrate, [Stripe] ("Stripe-Signature: t=<ts>,v1=<hex>…",
// over timestamp.payload) and [GitHub] ("X-Hub-Signature-256:
// sha256=<hex>", over the payload, no timestamp) key the HMAC with the
// whole secret string, as those services do. All three are verified by the
// same code; entries of versions a scheme does not know ("v1a", "v2", "v0")
// are skipped, and a header left with no usable entry is malformed.
//
// # Rotation
//
// An owner's [KeySource.SigningKeys] are its designated key and, while a
// rotation's grace window lasts, the key it replaced: messages then carry
// both signatures, so receivers holding either secret verify them.
// [KeySource.VerifyingKeys] are all keys valid now; the Verifier accepts a
// signature from any of them and skips keys whose expiry has passed by its
// own clock, so a key stops verifying at the instant its grace ends. Keys
// are read from the source's immutable snapshot on every call: a rotation
// never blocks a verify, and the next verify sees it.
//
// # Security
//
// MACs are compared in constant time. A [Key] never prints its secret
// (fmt shows its id and [secrets.Redacted]; JSON fails), and no error, log
// line or problem response holds a key, a MAC or a signature header.
// [NewKey] and [NewWebhookKey] refuse HMAC keys shorter than [MinKeySize]
// bytes. An owner without a valid key is refused with [ErrNoKeys], never
// waved through.
// Timestamps more than the tolerance (5 minutes by default) away from the
// verifier's clock, in either direction, are refused; within that window a
// [ReplayGuard], consulted only after a signature verified, refuses a
// message id seen before. [MemoryReplayGuard] is one bounded in memory;
// package redisreplay keeps the entries in Redis, for replicas that must
// refuse each other's replays; package replaytest is the conformance suite
// both pass.
//
// Every refusal matches [ErrInvalidSignature]; [VerifyError] and the
// sentinels it wraps say which check failed.
//
// # Speed
//
// Verifying is the hot path. Each Key computes its keyed HMAC states once
// and keeps a pool of hashes that restore them on Reset; a verify decodes
// the signature entries once, on the stack, writes id, timestamp and payload
// straight into the MAC without building the signed string, and compares
// each key's MAC with every entry, 8 bytes at a time and in constant time.
// The key that matched most recently is tried first. Once warm, a verify
// allocates nothing and costs less than a hand-written hmac.New, Write,
// Sum and hmac.Equal over the same content, and little more than the least
// crypto/hmac allows, a pre-keyed hash from a sync.Pool: what it adds is a
// few tens of nanoseconds a message, for the timestamp, the entries and
// the key lookup, about 6% at 1 KiB on a CPU with SHA extensions.
// BenchmarkVerify, BenchmarkVerifyRequest (the same through headers, as
// [Middleware] reads them) and BenchmarkHMACFloor, whose -pooled cases are
// that least, measure all of them in one run.
package hmacsign

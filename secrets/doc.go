// Package secrets defines what a secret is in rotor: a [Value] that never
// prints, the key [Format]s that products hand out with a checksum that can
// be checked offline, the [Digest] by which stores find a key, and the
// [Keyring] that seals values at rest.
//
// # Security
//
// A [Value] never shows its contents: fmt prints [Redacted] for every verb,
// log/slog logs [Redacted], and encoding it as JSON or text fails with
// [ErrNotEncodable], as does decoding one. It keeps its plaintext inside a
// function, where reflection cannot reach it, so neither can fmt printing a
// struct that holds it in an unexported field, go-cmp reporting a
// difference, gob, encoding/binary, nor any dumper of unexported fields.
// The one way out is [Value.Reveal], so a reviewer can find every place
// plaintext leaves by grepping for it. Errors from this package never hold secret material:
// [KeyError] names the check a presented key failed, never the key.
//
// Secret material is compared in constant time ([Value.Equal],
// [Digest.Equal]); only lengths, which are public, may show in timing.
// Randomness comes from crypto/rand alone.
//
// Go does not let a library wipe memory reliably: strings are immutable and
// the garbage collector copies and keeps what it likes. This package makes
// no promise that a secret is erased from memory once unused.
//
// # Formats
//
// A key of [Format] "sk_live" reads sk_live_ followed by 43 base62
// characters of body (32 random bytes) and a 6-character base62 CRC-32 of
// all that precedes it. A Format is a string, so a product declares its
// formats as constants (const Live secrets.Format = "sk_live"), as this
// package declares [Webhook]. [ParseKey] checks shape and checksum without
// a lookup, so typos and garbage are turned away before they reach a
// store, and without allocating. [Webhook] secrets follow Standard Webhooks
// instead: whsec_ and base64. [HMACKey] gives the key that signatures made
// with a secret use. [Format.Pattern] gives the regular expression that
// finds a format's keys in text, to register with secret scanners.
//
// # Digests
//
// Stores keep the [Digest] of a key, never the key. A zero [Digester] takes
// plain SHA-256; [NewDigester] with a pepper takes HMAC-SHA256 under it, so
// the digests are useless to whoever steals them without the pepper.
//
// # Sealing
//
// Secrets that must sign or verify HMACs are kept sealed: a [Keyring]
// encrypts them with XChaCha20-Poly1305 under its primary key-encryption key
// ([KEK]), binds each one to its secret's id, and names the key in the
// [Sealed] result. To rotate keys, build a Keyring with a new primary and the
// old keys as others, [Keyring.Reseal] what is stored, then drop the old
// keys.
package secrets

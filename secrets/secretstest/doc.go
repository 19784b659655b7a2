// Package secretstest helps tests prove that no secret reaches an output:
// a log line, an error string, a formatted value, a JSON payload, a diff.
//
// A secret can leak in more shapes than its own text: hex or base64 of it,
// Go's dump of its bytes, or a long enough piece of any of those. [Forms]
// lists them and [NoLeak] looks for every one.
//
// A value can leak through more printers than the one a test thinks of:
// fmt with a verb its type does not expect, fmt of a struct that holds it
// in an unexported field (where fmt reads it by reflection and calls none
// of its methods), a log/slog handler, an encoder, go-cmp's report of a
// failed comparison. [Outputs] runs all of them, and a reflection walker
// that reads what any dumper could, so one check covers every printer:
//
//	secretstest.NoLeak(t, secretstest.Outputs(ring), kek.Key.Reveal())
//
// [Keyring] gives a test a keyring to seal with, under a key made for it.
// [Logs] collects a server's log lines, from concurrent handlers, for
// NoLeak to read.
package secretstest

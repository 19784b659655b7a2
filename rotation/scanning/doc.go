// Package scanning receives the reports of leaked keys that GitHub's
// secret scanning partner program sends, and hands each key to
// [rotation.Rotator.ReportLeak].
//
// A provider registers the pattern of each of its key formats
// ([secrets.Format.Pattern]) with GitHub, and the URL where a [Handler]
// serves. When GitHub finds a match in public it POSTs a JSON array of
// {"token", "type", "url", "source"} there, signed with ECDSA P-256 and
// SHA-256 over the raw body: the signature, base64 of its ASN.1 DER form,
// in the Github-Public-Key-Signature header, and the key that made it
// named by Github-Public-Key-Identifier.
//
// # What is checked
//
// The signature is checked before anything else is read into the
// program: the body's size is capped, and its JSON is not parsed until
// the signature over it holds. An unsigned, badly signed or unknown-key
// report is answered 401 and changes nothing. The public keys come from
// a [KeySource]: [StaticKeys], parsed from the JSON GitHub publishes, or
// [FetchedKeys], which fetches that JSON from GitHub, caches it, and
// fetches it again when a report names a key it does not hold, at most
// once per FetchOptions.MinInterval, however many identifiers a caller
// makes up.
//
// # What is done
//
// Each reported token goes through ReportLeak: its shape and checksum are
// checked offline, so another provider's token or a typo is a false
// positive with no lookup; a well-formed one is looked up within the
// Rotator's bounds on unknown keys; a key found is revoked (its previous
// value's grace window ended, for a previous value) or, with
// [rotation.LeakReportOnly], only reported, with an event either way.
//
// # What is replied
//
// The reply is the feedback list GitHub accepts: per token, in the
// report's order, {"token_hash", "token_type", "label"}, with the
// lower-case hex SHA-256 of the token rather than the token, and
// "true_positive" when a secret holds it (working or not) or
// "false_positive".
//
// # Security
//
// A reported token never reaches a log, an error, an event or the reply:
// the log says how many tokens a report held and what became of them,
// errors say which check failed, and the reply holds digests.
package scanning

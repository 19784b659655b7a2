package secrets

import (
	"regexp"
	"strconv"
)

// Pattern returns the regular expression that finds keys of format f in
// text, for a provider to register with secret scanners (GitHub's secret
// scanning partner program takes one per kind of key) and to search its
// own text with. For "sk_live" it is
//
//	\bsk_live_[0-9A-Za-z]{49}\b
//
// the prefix and environment as they are, then the 43 characters of body
// and the 6 of checksum. It uses only what RE2 (Go's regexp), PCRE,
// Hyperscan and JavaScript read alike: no lookaround.
//
// The \b at each end is where the key meets a character that no key
// holds next to it: a quote, '=', '/', ':', a space, the start or end of
// the text. So a key is found inside `token="…"`, KEY=…, or a URL's
// path, while text that only contains something of the shape — a longer
// run of letters and digits, or a key of another prefix that ends in
// this one, such as "ask_live_…" — is not. An underscore counts as part
// of a word: "my_sk_live_…" holds no key.
//
// A pattern matches the shape of a key exactly, not its checksum, which
// no regular expression can compute: about one random string of that
// shape in 2³² passes [ParseKey], so a scanner's matches must still go
// through ParseKey (as rotation.Rotator.ReportLeak does) before anything
// is looked up.
//
// For [Webhook] it returns the shape of the secrets
// [GenerateWebhookSecret] makes: "whsec_" and the padded standard base64
// of 24 to 64 bytes. Base64 can end in '+', '/' or '=', where \b does not
// apply, so a match may be the start of a longer base64 run. It suits a
// provider's search of its own logs, and not a scanner's registry: the
// whsec_ prefix belongs to Standard Webhooks, which many providers use,
// and such a secret carries no checksum, so a scanner would send every
// provider's secrets to whoever registered it. ParseKey refuses webhook
// secrets, so leak reports of them find nothing.
//
// For an invalid f it returns the [*FormatError] of [Format.Validate].
func (f Format) Pattern() (string, error) {
	if err := f.Validate(); err != nil {
		return "", err
	}
	if f.IsWebhook() {
		// n bytes take n/3 quads of base64 and, when n%3 > 0, one more
		// padded one: from 24 bytes (8 quads) to 64 (21 and a padded one).
		// The longest shape goes first, since the first alternative that
		// matches wins.
		const q = `[0-9A-Za-z+/]`
		full := strconv.Itoa(MaxWebhookSecretSize / 3)
		return `\b` + webhookPrefix + `_(?:` +
			`(?:` + q + `{4}){` + full + `}(?:` + q + `{2}==)?|` +
			`(?:` + q + `{4}){` + strconv.Itoa(MinWebhookSecretSize/3) + `,` + strconv.Itoa(MaxWebhookSecretSize/3-1) + `}(?:` + q + `{2}==|` + q + `{3}=)?)`, nil
	}
	// A valid prefix and env hold a-z, 0-9 and one '_': nothing to quote.
	return `\b` + string(f) + `_[0-9A-Za-z]{` + strconv.Itoa(tailLen) + `}\b`, nil
}

// Regexp returns [Format.Pattern] compiled, for searching text in Go:
// FindAllString gives the keys of format f that the text holds, each
// still to be checked with [ParseKey]. For an invalid f it returns the
// [*FormatError] of [Format.Validate].
func (f Format) Regexp() (*regexp.Regexp, error) {
	p, err := f.Pattern()
	if err != nil {
		return nil, err
	}
	return regexp.MustCompile(p), nil // a pattern of a valid format always compiles
}

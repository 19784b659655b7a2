package secrets_test

import (
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/rotorkit/rotor/secrets"
)

// patternFormats are formats of several shapes: the shortest and longest
// parts, digits, and a prefix that ends another's.
var patternFormats = []secrets.Format{"sk_live", "sk_test", "pk_live", "a_b", "ask_live", "apitoken_live",
	"abcdefghijklmnop_0123456789abcdef", "x9_2026"}

// whole compiles f's pattern to match a whole string.
func whole(t *testing.T, f secrets.Format) *regexp.Regexp {
	t.Helper()
	p, err := f.Pattern()
	if err != nil {
		t.Fatal(err)
	}
	return regexp.MustCompile(`^(?:` + p + `)$`)
}

// Every key a format generates matches its pattern, whole and where text
// holds it, and no other format's.
func TestPatternMatchesEveryGeneratedKey(t *testing.T) {
	for _, f := range patternFormats {
		t.Run(string(f), func(t *testing.T) {
			exact := whole(t, f)
			re, err := f.Regexp()
			if err != nil {
				t.Fatal(err)
			}
			for range 500 {
				v, err := f.Generate()
				if err != nil {
					t.Fatal(err)
				}
				key := v.Reveal()
				if !exact.MatchString(key) {
					t.Fatalf("a generated key of %s does not match %s", f, exact)
				}
				for _, other := range patternFormats {
					if other != f && whole(t, other).MatchString(key) {
						t.Fatalf("a key of %s matches the pattern of %s", f, other)
					}
				}
			}
			v, _ := f.Generate()
			key := v.Reveal()
			for _, text := range []string{
				key, `"` + key + `"`, `'` + key + `'`, "TOKEN=" + key, "token: " + key + "\n",
				"https://example.com/keys/" + key + "/x", "Bearer " + key, "(" + key + ")", key + ",", "`" + key + "`",
			} {
				got := re.FindAllString(text, -1)
				if len(got) != 1 || got[0] != key {
					t.Errorf("in text of %d bytes around the key, found %d matches, want the key once", len(text), len(got))
				}
			}
		})
	}
}

// No key altered in one place matches: a character replaced by one that
// cannot stand there, one too many or too few, or a prefix or environment
// changed. A body character replaced by another base62 one keeps the
// shape, so the pattern matches and only ParseKey's checksum turns it
// away.
func TestPatternMatchesNoAlteredKey(t *testing.T) {
	for _, f := range patternFormats {
		t.Run(string(f), func(t *testing.T) {
			exact := whole(t, f)
			re, _ := f.Regexp()
			v, err := f.Generate()
			if err != nil {
				t.Fatal(err)
			}
			key := v.Reveal()
			head := len(f) + 1 // the prefix, env and the underscore after them
			finds := func(s string) bool { return exact.MatchString(s) || re.MatchString(s) }
			for i := range len(key) {
				for _, c := range []byte("-_.+/=! ~\x00Zz09") {
					if c == key[i] {
						continue
					}
					altered := key[:i] + string(c) + key[i+1:]
					inBody := i >= head && (c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z')
					switch {
					case inBody:
						if !exact.MatchString(altered) {
							t.Errorf("a body character replaced by base62 %q at %d no longer has the shape", c, i)
						}
						if _, err := secrets.ParseKey(altered); err == nil {
							t.Errorf("a body character replaced at %d passes the checksum", i)
						}
					case finds(altered):
						t.Errorf("the key with %q at %d still matches", c, i)
					}
				}
			}
			for _, altered := range []string{
				key + "a", key + "0", key[:len(key)-1], key[:head] + key[head+1:], "a" + key, "0" + key, "_" + key,
				key + "_", strings.Replace(key, "_", "x_", 1), strings.Replace(key, "_", "_x", 2)[:len(key)+1],
				strings.ToUpper(key[:head]) + key[head:],
			} {
				if finds(altered) {
					t.Errorf("an altered key of %d bytes matches", len(altered))
				}
			}
			for _, other := range patternFormats {
				if other == f {
					continue
				}
				w, _ := other.Generate()
				if finds(w.Reveal()) {
					t.Errorf("a key of %s matches the pattern of %s", other, f)
				}
			}
		})
	}
}

func TestPatternOfWebhookSecrets(t *testing.T) {
	is := is.New(t)
	exact := whole(t, secrets.Webhook)
	re, err := secrets.Webhook.Regexp()
	is.NoErr(err)
	for size := secrets.MinWebhookSecretSize; size <= secrets.MaxWebhookSecretSize; size++ {
		v, err := secrets.GenerateWebhookSecret(size)
		is.NoErr(err)
		is.True(exact.MatchString(v.Reveal()))                                 // every size made matches whole
		is.Equal(re.FindString(`secret="`+v.Reveal()+`"`), v.Reveal())         // and is found whole in text
		is.True(!whole(t, "sk_live").MatchString(v.Reveal()))                  // a key's pattern takes none
		is.True(!exact.MatchString(strings.TrimRight(v.Reveal(), "=") + "=!")) // nor is one with a stray character
	}
	for _, size := range []int{1, 16, secrets.MinWebhookSecretSize - 1, secrets.MaxWebhookSecretSize + 1, 96} {
		other := "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, size))
		is.True(!exact.MatchString(other)) // a size rotor never makes does not match
	}
}

func TestPatternOfAnInvalidFormat(t *testing.T) {
	for _, f := range []secrets.Format{"", "Sk_live", "sk", "sk_li.ve", "sk_(live)", "whsec_live"} {
		t.Run(string(f), func(t *testing.T) {
			is := is.New(t)
			p, err := f.Pattern()
			is.True(errors.Is(err, secrets.ErrInvalidFormat)) // refused as Validate refuses it
			is.Equal(p, "")                                   // with no pattern that could match anything
			re, err := f.Regexp()
			is.True(errors.Is(err, secrets.ErrInvalidFormat)) // Regexp too
			is.True(re == nil)
		})
	}
}

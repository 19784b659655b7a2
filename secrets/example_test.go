package secrets_test

import (
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/rotorkit/rotor/secrets"
)

func ExampleFormat_Generate() {
	const live secrets.Format = "sk_live" // a product's formats are constants
	key, err := live.Generate()
	if err != nil {
		log.Fatal(err)
	}
	// Show key.Reveal() to the customer once; never log it.

	got, err := secrets.ParseKey(key.Reveal())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got, got == live, got.Prefix(), got.Env(), key.Len())
	// Output: sk_live true sk live 57
}

func ExampleParseKey() {
	// A key with a typo is turned away before any lookup, and the error
	// never quotes it.
	_, err := secrets.ParseKey("acme_live_notarealkeyjustsomethingthatlooksalittlelikeone12")
	fmt.Println(err)
	fmt.Println(errors.Is(err, secrets.ErrMalformedKey))
	// Output:
	// secrets: malformed key: bad checksum
	// true
}

func ExampleValue() {
	v := secrets.NewValue("sk_live_do_not_print_me_1234")
	fmt.Println(v)
	fmt.Printf("%q %#v\n", v, v)
	fmt.Println(v.Hint())
	// Output:
	// [REDACTED]
	// "[REDACTED]" secrets.Value([REDACTED])
	// 1234
}

func ExampleKeyring() {
	kek, err := secrets.GenerateKEK("kek-2026")
	if err != nil {
		log.Fatal(err)
	}
	ring, err := secrets.NewKeyring(kek)
	if err != nil {
		log.Fatal(err)
	}
	secret, err := secrets.Webhook.Generate()
	if err != nil {
		log.Fatal(err)
	}

	sealed, err := ring.Seal("sec_123", secret) // store sealed, never secret
	if err != nil {
		log.Fatal(err)
	}
	opened, err := ring.Open("sec_123", sealed)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sealed.KEKID, opened.Equal(secret))

	_, err = ring.Open("sec_456", sealed) // sealed for another secret
	fmt.Println(errors.Is(err, secrets.ErrTampered))
	// Output:
	// kek-2026 true
	// true
}

func ExampleParseKEK() {
	// A server keeps its key-encryption key as text in a file or an
	// environment variable; here one is made on the spot.
	kek, err := secrets.GenerateKEK("kek-2026")
	if err != nil {
		log.Fatal(err)
	}
	text := kek.Text().Reveal()

	loaded, err := secrets.ParseKEK("kek-2026", text+"\n")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(loaded, loaded.Key.Equal(kek.Key))
	// Output: secrets.KEK("kek-2026", [REDACTED]) true
}

func ExampleNewDigester() {
	d := secrets.NewDigester(secrets.NewValue("server-side pepper"))
	key := "sk_live_example"
	fmt.Println(d.Digest(key).Equal(d.DigestValue(secrets.NewValue(key))))
	// Output: true
}

func ExampleKeyring_String() {
	a, err := secrets.GenerateKEK("kek-2026")
	if err != nil {
		log.Fatal(err)
	}
	b, err := secrets.GenerateKEK("kek-2025")
	if err != nil {
		log.Fatal(err)
	}
	ring, err := secrets.NewKeyring(a, b)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ring)
	fmt.Printf("%s %x\n", secrets.NewDigester(secrets.NewValue("pepper")), secrets.Digester{})
	// Output:
	// secrets.Keyring(primary "kek-2026", 2 keys)
	// secrets.Digester(peppered) secrets.Digester(sha256)
}

func ExampleFormat_Pattern() {
	const live secrets.Format = "sk_live"
	p, err := live.Pattern() // what a provider registers with GitHub's secret scanning
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p)

	// Searching text finds the key between quotes, and a match still goes
	// through ParseKey: a pattern checks the shape, never the checksum.
	key, err := live.Generate()
	if err != nil {
		log.Fatal(err)
	}
	re, err := live.Regexp()
	if err != nil {
		log.Fatal(err)
	}
	for _, found := range re.FindAllString(`STRIPE_KEY="`+key.Reveal()+`" # ask_live_`+strings.Repeat("x", 49), -1) {
		_, err := secrets.ParseKey(found)
		fmt.Println(found == key.Reveal(), err == nil)
	}
	// Output:
	// \bsk_live_[0-9A-Za-z]{49}\b
	// true true
}

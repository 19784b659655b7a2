package secrets

// STUB: the helper implementing package secrets replaces this file with the
// real code, spread over value.go, format.go, digest.go, keyring.go, errors.go.

import "errors"

var (
	ErrMalformedKey  = errors.New("secrets: malformed key")
	ErrInvalidFormat = errors.New("secrets: invalid format")
	ErrNotEncodable  = errors.New("secrets: secret values cannot be encoded")
	ErrInvalidKEK    = errors.New("secrets: invalid key-encryption key")
	ErrUnknownKEK    = errors.New("secrets: unknown key-encryption key")
	ErrTampered      = errors.New("secrets: sealed value does not open")
)

const Redacted = "[REDACTED]"

type Value struct{ s string }

func NewValue(s string) Value      { return Value{s} }
func (v Value) Reveal() string     { return v.s }
func (v Value) IsZero() bool       { return v.s == "" }
func (v Value) Len() int           { return len(v.s) }
func (v Value) Equal(o Value) bool { panic("stub") }
func (v Value) Hint() string       { panic("stub") }
func (v Value) String() string     { return Redacted }

type Format struct {
	Prefix string
	Env    string
}

var Webhook = Format{Prefix: "whsec"}

func (f Format) Validate() error          { panic("stub") }
func (f Format) IsWebhook() bool          { return f.Prefix == "whsec" && f.Env == "" }
func (f Format) String() string           { panic("stub") }
func (f Format) Generate() (Value, error) { panic("stub") }

func GenerateWebhookSecret(size int) (Value, error) { panic("stub") }
func ParseKey(key string) (Format, error)           { panic("stub") }
func HMACKey(v Value) (Value, error)                { panic("stub") }

type Digester struct{ pepper string }

func NewDigester(pepper Value) Digester       { panic("stub") }
func (d Digester) Digest(key string) Digest   { panic("stub") }
func (d Digester) DigestValue(v Value) Digest { panic("stub") }

type KEK struct {
	ID  string
	Key Value
}

type Keyring struct{}

func GenerateKEK(id string) (KEK, error)                            { panic("stub") }
func NewKeyring(primary KEK, others ...KEK) (*Keyring, error)       { panic("stub") }
func (k *Keyring) PrimaryID() string                                { panic("stub") }
func (k *Keyring) Seal(id string, v Value) (Sealed, error)          { panic("stub") }
func (k *Keyring) Open(id string, s Sealed) (Value, error)          { panic("stub") }
func (k *Keyring) Reseal(id string, s Sealed) (Sealed, bool, error) { panic("stub") }

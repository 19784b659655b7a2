package secrets

// Sealed is a secret value encrypted at rest by a [Keyring]. It holds
// ciphertext only and is safe to store and print.
type Sealed struct {
	// KEKID names the key-encryption key that sealed the value.
	KEKID string
	// Ciphertext is the nonce followed by the AEAD output.
	Ciphertext []byte
}

// IsZero reports whether s holds no sealed value.
func (s Sealed) IsZero() bool { return s.KEKID == "" && len(s.Ciphertext) == 0 }

// Clone returns a copy of s that shares no memory with it.
func (s Sealed) Clone() Sealed {
	if s.Ciphertext != nil {
		s.Ciphertext = append([]byte(nil), s.Ciphertext...)
	}
	return s
}

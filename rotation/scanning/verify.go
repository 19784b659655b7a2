package scanning

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// The headers that carry a report's signature.
const (
	// HeaderKeyID names the key that signed the report: a key_identifier
	// of GitHub's list.
	HeaderKeyID = "Github-Public-Key-Identifier"
	// HeaderSignature is the signature: standard base64 of its ASN.1 DER
	// form, ECDSA P-256 over the SHA-256 of the raw body.
	HeaderSignature = "Github-Public-Key-Signature"
)

// maxHeaderLen bounds the identifier and the signature: an ASN.1 P-256
// signature is at most 72 bytes, 96 in base64; identifiers are 64 hex.
const maxHeaderLen = 512

// Verify checks that signature, from [HeaderSignature], is a signature of
// body by the key named keyID, from [HeaderKeyID], as keys gives it. It
// returns nil if it is; a [*SignatureError] matching
// ErrInvalidSignature if either header is missing or malformed, the key
// unknown (also matching ErrUnknownKey) or the signature wrong; or the
// error of keys, such as one matching [ErrKeysUnavailable]. The
// signature is decoded before keys is asked, so that garbage causes no
// fetch.
func Verify(ctx context.Context, keys KeySource, keyID, signature string, body []byte) error {
	switch {
	case keyID == "":
		return &SignatureError{Reason: "missing " + HeaderKeyID}
	case signature == "":
		return &SignatureError{Reason: "missing " + HeaderSignature}
	case len(keyID) > maxHeaderLen || len(signature) > maxHeaderLen:
		return &SignatureError{Reason: "header too long"}
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return &SignatureError{Reason: "signature is not base64"}
	}
	pub, err := keys.PublicKey(ctx, keyID)
	if errors.Is(err, ErrUnknownKey) {
		return &SignatureError{Reason: "unknown key", err: ErrUnknownKey}
	}
	if err != nil {
		return err
	}
	digest := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(pub, digest[:], sig) {
		return &SignatureError{Reason: "signature does not match"}
	}
	return nil
}

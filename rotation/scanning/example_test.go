package scanning_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/rotorkit/rotor/rotation"
	"github.com/rotorkit/rotor/rotation/scanning"
	"github.com/rotorkit/rotor/store/memstore"
)

func ExampleHandler() {
	ctx := context.Background()
	r, err := rotation.New(memstore.New(), nil)
	if err != nil {
		log.Fatal(err)
	}
	key, err := r.Create(ctx, "org_42", rotation.Spec{Name: "ci"})
	if err != nil {
		log.Fatal(err)
	}

	// In production: scanning.NewFetchedKeys(scanning.GitHubKeysURL, …).
	// Here a key made on the spot stands for GitHub's, in the JSON
	// GitHub publishes.
	github, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&github.PublicKey)
	if err != nil {
		log.Fatal(err)
	}
	list, err := json.Marshal(map[string]any{"public_keys": []map[string]any{{
		"key_identifier": "gh-1", "key": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "is_current": true,
	}}})
	if err != nil {
		log.Fatal(err)
	}
	keys, err := scanning.ParseKeys(list)
	if err != nil {
		log.Fatal(err)
	}
	h, err := scanning.New(r, keys, nil) // revokes what is reported, by default
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /secret-scanning/report", h) // no bearer auth: the signature is the authentication

	// GitHub found the key in a public commit.
	body := []byte(`[{"token":"` + key.Value.Reveal() + `","type":"acme_api_key","url":"https://github.com/octo/app/blob/1a2b/.env","source":"content"}]`)
	digest := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, github, digest[:])
	if err != nil {
		log.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/secret-scanning/report", bytes.NewReader(body))
	req.Header.Set(scanning.HeaderKeyID, "gh-1")
	req.Header.Set(scanning.HeaderSignature, base64.StdEncoding.EncodeToString(sig))
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)

	var feedback []scanning.Feedback
	if err := json.Unmarshal(w.Body.Bytes(), &feedback); err != nil {
		log.Fatal(err)
	}
	fmt.Println(w.Code, feedback[0].TokenType, feedback[0].Label, len(feedback[0].TokenHash))
	_, err = r.Authenticate(ctx, key.Value.Reveal(), rotation.Request{})
	fmt.Println("revoked:", err != nil)

	// The same report with a forged signature changes nothing.
	req = httptest.NewRequest(http.MethodPost, "/secret-scanning/report", bytes.NewReader(body))
	req.Header.Set(scanning.HeaderKeyID, "gh-1")
	req.Header.Set(scanning.HeaderSignature, "MEUCIQ"+"AAAA")
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	fmt.Println(w.Code)
	// Output:
	// 200 acme_api_key true_positive 64
	// revoked: true
	// 401
}

package entra

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"
)

// clientAssertion signs the JWT that authenticates a confidential client by certificate
// (RFC 7523), as MSAL for Go does: PS256, x5t#S256 naming the certificate, aud the token
// endpoint, iss and sub the client ID, valid for ten minutes.
func clientAssertion(certs []*x509.Certificate, signer crypto.Signer, clientID, endpoint string, now time.Time) (string, error) {
	if signer == nil || len(certs) == 0 {
		return "", errors.New("the certificate's private key cannot sign")
	}
	if _, ok := signer.Public().(*rsa.PublicKey); !ok {
		return "", errors.New("the certificate key is not RSA, which Entra ID requires")
	}
	thumb := sha256.Sum256(certs[0].Raw)
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	header, err := json.Marshal(map[string]string{"alg": "PS256", "typ": "JWT",
		"x5t#S256": base64.RawURLEncoding.EncodeToString(thumb[:])})
	if err != nil {
		return "", err
	}
	claims, err := json.Marshal(map[string]any{
		"aud": endpoint, "iss": clientID, "sub": clientID, "jti": hex.EncodeToString(jti),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	})
	if err != nil {
		return "", err
	}
	signing := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(claims)
	digest := sha256.Sum256([]byte(signing))
	sig, err := signer.Sign(rand.Reader, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
	if err != nil {
		return "", err
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

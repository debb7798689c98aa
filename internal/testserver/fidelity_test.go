package testserver

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Asked by one of the tenant's domains, Entra ID still answers with the tenant's GUID in the
// issuer and every URL, and the key set at jwks_uri verifies the tokens the fake issues.
func TestOpenIDConfigurationByDomainAndKeySet(t *testing.T) {
	t.Parallel()
	srv := NewT(t, Options{Seed: 7, Tenants: 2})
	tenant := srv.World.Tenants[0]
	for _, asked := range []string{tenant.ID, tenant.DefaultDomain, tenant.InitialDomain} {
		status, _, body := send(t, srv, http.MethodGet, srv.EntraURL()+"/"+asked+"/v2.0/.well-known/openid-configuration", "", nil, nil)
		require.Equal(t, http.StatusOK, status, asked)
		cfg := jsonObject(t, body)
		assert.Equal(t, srv.EntraURL()+"/"+tenant.ID+"/v2.0", cfg["issuer"], asked)
		assert.Equal(t, srv.EntraURL()+"/"+tenant.ID+"/oauth2/v2.0/token", cfg["token_endpoint"], asked)
		jwksURI, _ := cfg["jwks_uri"].(string)
		require.Equal(t, srv.EntraURL()+"/"+tenant.ID+"/discovery/v2.0/keys", jwksURI, asked)

		status, _, body = send(t, srv, http.MethodGet, jwksURI, "", nil, nil)
		require.Equal(t, http.StatusOK, status, "jwks_uri answers")
		keys, _ := jsonObject(t, body)["keys"].([]any)
		require.Len(t, keys, 1)
		k := keys[0].(map[string]any)
		assert.Equal(t, "RSA", k["kty"])
		assert.Equal(t, "sig", k["use"])

		tok := appGraphToken(t, srv, tenant.ID)
		parts := strings.Split(tok, ".")
		require.Len(t, parts, 3)
		var hdr map[string]any
		require.NoError(t, decodeSegment(parts[0], &hdr))
		assert.Equal(t, "RS256", hdr["alg"])
		assert.Equal(t, k["kid"], hdr["kid"], "the token names the published key")
		n, err := base64.RawURLEncoding.DecodeString(k["n"].(string))
		require.NoError(t, err)
		e, err := base64.RawURLEncoding.DecodeString(k["e"].(string))
		require.NoError(t, err)
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		require.NoError(t, err)
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		assert.NoError(t, rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig), "the published key verifies the token")
	}
}

// Graph writes a nextLink with the client's parameters in their order, '$' and ',' literal,
// and the skip token last: users?$top=5&$skiptoken=…
func TestGraphNextLinkIsWrittenAsGraphWritesIt(t *testing.T) {
	t.Parallel()
	srv := NewT(t, Options{Seed: 3, Tenants: 1, Sizes: []int{12}})
	tenant := srv.World.Tenants[0].ID
	tok := appGraphToken(t, srv, tenant)
	for _, tc := range []struct{ query, wantPrefix string }{
		{"$top=5", "/v1.0/users?$top=5&$skiptoken="},
		{"$top=5&$select=id,displayName", "/v1.0/users?$top=5&$select=id,displayName&$skiptoken="},
		{"%24select=id%2CdisplayName&%24top=5", "/v1.0/users?$select=id,displayName&$top=5&$skiptoken="},
	} {
		status, _, body := send(t, srv, http.MethodGet, srv.GraphURL()+"/v1.0/users?"+tc.query, tok, nil, nil)
		require.Equal(t, http.StatusOK, status, tc.query)
		first := jsonObject(t, body)
		next, _ := first["@odata.nextLink"].(string)
		require.True(t, strings.HasPrefix(next, srv.GraphURL()+tc.wantPrefix), "%s: nextLink %s", tc.query, next)
		assert.Equal(t, 1, strings.Count(next, "$skiptoken="), next)

		// The link works as given, and its own nextLink keeps the same form.
		status, _, body = send(t, srv, http.MethodGet, next, tok, nil, nil)
		require.Equal(t, http.StatusOK, status, next)
		second := jsonObject(t, body)
		assert.Len(t, second["value"], 5)
		next2, _ := second["@odata.nextLink"].(string)
		assert.True(t, strings.HasPrefix(next2, srv.GraphURL()+tc.wantPrefix), "second nextLink %s", next2)
		assert.NotEqual(t, next, next2)
	}
}

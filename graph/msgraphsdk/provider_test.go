package msgraphsdk

import (
	"context"
	"net/url"
	"testing"
	"time"

	absauth "github.com/microsoft/kiota-abstractions-go/authentication"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

type static string

func (s static) Token(context.Context, string) (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: string(s), Expiry: time.Now().Add(time.Hour)}, nil
}

func TestTokenProviderOnlyServesItsOrigin(t *testing.T) {
	t.Parallel()
	origin, _ := url.Parse("https://graph.example.com:8443")
	hosts, err := absauth.NewAllowedHostsValidatorErrorCheck([]string{origin.Hostname()})
	require.NoError(t, err)
	p := &tokenProvider{tokens: static("tok"), tenant: "t", origin: origin, hosts: hosts}
	for raw, want := range map[string]string{
		"https://graph.example.com:8443/v1.0/users": "tok",
		"https://graph.example.com/v1.0/users":      "",
		"http://graph.example.com:8443/v1.0/users":  "",
		"https://evil.example.com:8443/v1.0/users":  "",
	} {
		u, _ := url.Parse(raw)
		got, err := p.GetAuthorizationToken(t.Context(), u, nil)
		require.NoError(t, err)
		assert.Equal(t, want, got, raw)
	}
	assert.Same(t, hosts, p.GetAllowedHostsValidator())
}

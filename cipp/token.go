package cipp

import (
	"context"
	"net/http"
	"strings"
	"sync"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"golang.org/x/oauth2"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/transport"
)

// msalSource gets the API client's token with MSAL's client-credentials flow. MSAL caches it and
// renews it shortly before expiry; Invalidate starts over after CIPP refused a cached token.
type msalSource struct {
	authority, clientID, scope string
	secret                     transport.Secret
	hc                         *http.Client

	mu  sync.Mutex
	app *confidential.Client
}

func newMSALSource(authorityHost, tenantID, clientID string, secret transport.Secret, hc *http.Client) *msalSource {
	return &msalSource{
		authority: strings.TrimRight(authorityHost, "/") + "/" + tenantID,
		clientID:  clientID, scope: "api://" + clientID + "/.default", secret: secret, hc: hc,
	}
}

func (m *msalSource) client() (*confidential.Client, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.app != nil {
		return m.app, nil
	}
	cred, err := confidential.NewCredFromSecret(m.secret.Reveal())
	if err != nil {
		return nil, err
	}
	app, err := confidential.New(m.authority, m.clientID, cred,
		confidential.WithHTTPClient(m.hc), confidential.WithInstanceDiscovery(false))
	if err != nil {
		return nil, err
	}
	m.app = &app
	return m.app, nil
}

// Token returns the cached token or a new one.
func (m *msalSource) Token(ctx context.Context, _ string) (*oauth2.Token, error) {
	app, err := m.client()
	if err != nil {
		return nil, tokenError(err)
	}
	res, err := app.AcquireTokenByCredential(ctx, []string{m.scope})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, tokenError(err)
	}
	return &oauth2.Token{AccessToken: res.AccessToken, TokenType: "Bearer", Expiry: res.ExpiresOn}, nil
}

// Invalidate drops the cached token.
func (m *msalSource) Invalidate(string) {
	m.mu.Lock()
	m.app = nil
	m.mu.Unlock()
}

// tokenError explains a failed token request for the CIPP API client.
func tokenError(err error) error {
	msg := transport.Redact(err.Error())
	e := &tenantsync.Error{Kind: tenantsync.ErrUnauthorized, Service: "entra", Op: "token", Message: msg, Err: err, Hint: HintUnauthorized}
	if m := reAADSTS.FindStringSubmatch(msg); m != nil {
		e.Code = "AADSTS" + m[1]
	}
	switch e.Code {
	case "AADSTS7000215":
		e.Hint = "the API client's secret is wrong: copy it again, or create a new one in CIPP → Integrations → CIPP-API"
	case "AADSTS7000222":
		e.Hint = "the API client's secret has expired: create a new one in CIPP → Integrations → CIPP-API"
	case "AADSTS700016":
		e.Hint = "no application with this client ID exists in the partner tenant: copy the client ID from CIPP → Integrations → CIPP-API and check Config.TenantID"
	case "AADSTS90002", "AADSTS900023":
		e.Kind = tenantsync.ErrInvalidInput
		e.Hint = "Config.TenantID is not the partner tenant CIPP runs in: copy it from the token URL on CIPP → Integrations → CIPP-API"
	case "":
		e.Kind = tenantsync.ErrUnavailable
		e.Hint = "the token endpoint could not be reached; retry later"
	}
	return e
}

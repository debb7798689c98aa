package cipp

import (
	"context"
	"net/http"

	"golang.org/x/oauth2"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/entra"
)

// apiClientTokens is the entra package's MSAL client-credentials source (cached, renewed five
// minutes early, dropped after a 401) with hints that name CIPP's screens: the person fixing a
// refused token works on CIPP's integration page, not in the Entra portal.
type apiClientTokens struct {
	*entra.ClientCredentials
}

func newTokenSource(cfg Config, hc *http.Client) (*apiClientTokens, error) {
	cc, err := entra.NewClientCredentials(entra.Config{
		AuthorityHost: cfg.AuthorityHost,
		TenantID:      cfg.TenantID,
		ClientID:      cfg.ClientID,
		Secret:        cfg.Secret,
		Scope:         "api://" + cfg.ClientID + "/.default",
		HTTPClient:    hc,
		Service:       Service,
	})
	if err != nil {
		return nil, err
	}
	return &apiClientTokens{cc}, nil
}

// Token returns the API client's token. It is the same for every customer tenant: the token
// is for CIPP in the partner tenant, and the entra package's tenant label only names the customer.
func (t *apiClientTokens) Token(ctx context.Context, _ string) (*oauth2.Token, error) {
	tok, err := t.ClientCredentials.Token(ctx, "")
	if err != nil {
		return nil, tokenError(err)
	}
	return tok, nil
}

// Invalidate drops the cached token.
func (t *apiClientTokens) Invalidate(string) { t.ClientCredentials.Invalidate("") }

// tokenError keeps the entra package's reading of the AADSTS code and rewrites the hint for it.
func tokenError(err error) error {
	d, ok := tenantsync.Details(err)
	if !ok {
		return err
	}
	e := *d
	switch e.Code {
	case "AADSTS7000215":
		e.Hint = "the API client's secret is wrong: copy it again, or create a new one in CIPP → Integrations → CIPP-API"
	case "AADSTS7000222":
		e.Hint = "the API client's secret has expired: create a new one in CIPP → Integrations → CIPP-API"
	case "AADSTS700016":
		e.Class = tenantsync.ErrUnauthorized
		e.Hint = "no application with this client ID exists in the partner tenant: copy the client ID from CIPP → Integrations → CIPP-API and check Config.TenantID"
	case "AADSTS90002", "AADSTS900023":
		e.Class = tenantsync.ErrInvalidInput
		e.Hint = "Config.TenantID is not the partner tenant CIPP runs in: copy it from the token URL on CIPP → Integrations → CIPP-API"
	case "AADSTS500011":
		e.Hint = "the app registration has no identifier URI api://<client ID>: open the API client in CIPP → Integrations → CIPP-API and press Save to Azure, which repairs it"
	}
	return &e
}

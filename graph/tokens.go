package graph

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/entra"
	"github.com/tenantsync/tenantsync/internal/httpx"
	"github.com/tenantsync/tenantsync/transport"
)

// newTokenSource builds the per-customer-tenant token source: MSAL for Go client credentials
// (cached per tenant, refreshed early, one request in flight per tenant) for AppOnly, or the SAM
// refresh-token exchange for PartnerUser.
func newTokenSource(cfg Config, hc *http.Client) (transport.TokenSource, error) {
	scope := graphScope
	if !cfg.Cloud.IsZero() {
		// A national cloud's Graph accepts only tokens for its own audience.
		scope = cfg.Cloud.GraphScope()
	}
	ec := entra.Config{
		AuthorityHost: cfg.AuthorityHost,
		TenantID:      cfg.PartnerTenantID,
		ClientID:      cfg.ClientID,
		Secret:        cfg.ClientSecret,
		Certificates:  cfg.Certificates,
		Key:           cfg.PrivateKey,
		Scope:         scope,
		HTTPClient:    hc,
		Service:       service,
	}
	if cfg.Auth == PartnerUser {
		var onRotate func(context.Context, tenantsync.Secret) error
		if cfg.OnRefreshTokenRotated != nil {
			onRotate = func(ctx context.Context, s tenantsync.Secret) error {
				return cfg.OnRefreshTokenRotated(ctx, s)
			}
		}
		rs, err := entra.NewRefreshTokenSource(ec, cfg.RefreshToken, onRotate)
		if err != nil {
			return nil, err
		}
		return rs, nil
	}
	cc, err := entra.NewClientCredentials(ec)
	if err != nil {
		return nil, err
	}
	return cc, nil
}

// token acquires the tenant's token and maps a failure onto a root kind with a hint.
func (c *Client) token(ctx context.Context, op, tenant string) (*oauth2.Token, error) {
	tok, err := c.tokens.Token(ctx, tenant)
	if err != nil {
		return nil, c.tokenError(op, tenant, err)
	}
	return tok, nil
}

// tokenError maps an Entra ID failure (AADSTS codes) to a root kind. transport.MapEntraError
// knows the codes; this adds what only the Graph route can say about each.
func (c *Client) tokenError(op, tenant string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	mapped := entra.MapError(err, service, tenant)
	if mapped == nil || mapped.Class == nil {
		return &tenantsync.Error{Class: tenantsync.ErrUnauthorized, Service: service, Op: op, Tenant: tenant,
			Message: httpx.Redact(err.Error()), Err: err}
	}
	e := *mapped
	if e.Op == "" || e.Op == "token" {
		e.Op = op
	}
	e.Tenant = tenant
	// The Graph route knows more precise remedies for some codes (the consent helper, the
	// partner admin's sign-in) than the generic ones.
	if h := entraHint(e.Code, c.cfg.ClientID, tenant); h != "" {
		e.Hint = h
	}
	e.Err = mapped
	return &e
}

// entraHint is the remediation for the AADSTS codes the Graph route meets, in the user's words.
func entraHint(code, clientID, tenant string) string {
	switch strings.TrimPrefix(code, "AADSTS") {
	case "65001", "700016", "90099":
		return "the partner app is not consented in customer tenant " + tenant +
			": open the admin-consent link (graph.Consent) as a Global Administrator of the customer, or grant it through Partner Center's application consent API, then retry"
	case "65004":
		return "the administrator declined consent; ask a Global Administrator of the customer tenant to accept it"
	case "7000215":
		return "the client secret is wrong: copy the secret's Value (not its Secret ID) from the app registration " + clientID
	case "7000222":
		return "the client secret has expired: create a new secret on app registration " + clientID + " and update it here; every tenant is affected"
	case "700027":
		return "the certificate was not accepted: upload the certificate's public key to app registration " + clientID
	case "90002":
		return "tenant " + tenant + " does not exist: the customer may have been removed; refresh the tenant list"
	case "700082", "70008", "50173", "invalid_grant":
		return "the partner admin's authorization has expired or was revoked: sign in again with the partner admin account to renew the stored refresh token"
	case "50076", "50079", "53003", "530003":
		return "a Conditional Access policy blocks the partner admin's token: exclude the service account from device or MFA requirements, or sign in again with MFA"
	case "50011":
		return "the redirect URI does not match the app registration: add the exact callback URL under Authentication > Redirect URIs of app " + clientID
	}
	return ""
}

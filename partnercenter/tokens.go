package partnercenter

import (
	"context"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/entra"
)

// Scopes of the Secure Application Model tokens the client redeems.
const (
	partnerCenterScope = "https://api.partnercenter.microsoft.com/user_impersonation"
	graphScope         = "https://graph.microsoft.com/.default"
)

// samTokenSources builds the token sources Config leaves nil from the partner admin's Secure
// Application Model refresh token: one for Partner Center (audience api.partnercenter.microsoft.com,
// the home tenant) and one for Graph (asked for the partner tenant). Both start from the same
// refresh token through one rotation chain (every redemption rotates the token, so two
// independent chains would each keep a token the other has replaced); each rotated token goes to
// OnRefreshTokenRotated.
func samTokenSources(cfg *Config) error {
	if cfg.RefreshToken.IsZero() {
		return nil
	}
	if cfg.PartnerCenterTokens != nil && cfg.GraphTokens != nil {
		return nil
	}
	if cfg.PartnerTenantID == "" || cfg.ClientID == "" {
		return invalidConfig("set PartnerTenantID and ClientID (the partner app's application ID) with the refresh token",
			"RefreshToken set without PartnerTenantID or ClientID")
	}
	var onRotate func(context.Context, tenantsync.Secret) error
	if cfg.OnRefreshTokenRotated != nil {
		onRotate = func(ctx context.Context, s tenantsync.Secret) error {
			return cfg.OnRefreshTokenRotated(ctx, s)
		}
	}
	ec := func(scope string) entra.Config {
		return entra.Config{
			AuthorityHost: cfg.AuthorityHost,
			TenantID:      cfg.PartnerTenantID,
			ClientID:      cfg.ClientID,
			Secret:        cfg.ClientSecret,
			Certificates:  cfg.Certificates,
			Key:           cfg.PrivateKey,
			Scope:         scope,
			HTTPClient:    cfg.HTTPClient,
			Service:       Service,
		}
	}
	pcScope, gScope, gdap := partnerCenterScope, graphScope, true
	if !cfg.Cloud.IsZero() {
		pcScope, gScope = cfg.Cloud.PartnerCenterScope(), cfg.Cloud.GraphScope()
		gdap, _ = cfg.Cloud.Offers(entra.ServiceGDAP)
	}
	chain, err := entra.NewRefreshTokenSource(ec(pcScope), cfg.RefreshToken, onRotate)
	if err != nil {
		return err
	}
	if cfg.PartnerCenterTokens == nil {
		cfg.PartnerCenterTokens = chain
	}
	if cfg.GraphTokens == nil && gdap {
		g, err := chain.ForScope(gScope)
		if err != nil {
			return err
		}
		cfg.GraphTokens = g
	}
	return nil
}

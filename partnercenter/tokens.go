package partnercenter

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tenantsync/tenantsync/internal/transport"
)

// Scopes of the Secure Application Model tokens the client redeems.
const (
	partnerCenterScope = "https://api.partnercenter.microsoft.com/user_impersonation"
	graphScope         = "https://graph.microsoft.com/.default"
	// DefaultAuthorityHost is Entra ID's global login endpoint.
	DefaultAuthorityHost = "https://login.microsoftonline.com"
)

// Secret is a credential value (client secret, refresh token). Every printed form is redacted.
type Secret string

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return `partnercenter.Secret("` + s.String() + `")` }

// Format covers every verb, so %x or %q cannot print the value either.
func (s Secret) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'q':
		fmt.Fprintf(f, "%q", s.String())
	case verb == 'v' && f.Flag('#'):
		_, _ = f.Write([]byte(s.GoString()))
	default:
		_, _ = f.Write([]byte(s.String()))
	}
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText implements encoding.TextMarshaler, for JSON and other encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// samTokenSources builds the token sources Config leaves nil from the partner admin's Secure
// Application Model refresh token: one for Partner Center (audience api.partnercenter.microsoft.com,
// the home tenant) and one for Graph (asked for the partner tenant). Both start from the same
// refresh token and keep their own rotation chain; each rotated token goes to
// OnRefreshTokenRotated.
func samTokenSources(cfg *Config) error {
	if cfg.RefreshToken == "" {
		return nil
	}
	if cfg.PartnerCenterTokens != nil && cfg.GraphTokens != nil {
		return nil
	}
	if cfg.PartnerTenantID == "" || cfg.ClientID == "" {
		return invalidConfig("set PartnerTenantID and ClientID (the partner app's application ID) with the refresh token",
			"RefreshToken set without PartnerTenantID or ClientID")
	}
	var onRotate func(context.Context, transport.Secret) error
	if cfg.OnRefreshTokenRotated != nil {
		onRotate = func(ctx context.Context, s transport.Secret) error {
			return cfg.OnRefreshTokenRotated(ctx, Secret(s.Reveal()))
		}
	}
	ec := func(scope string) transport.EntraConfig {
		return transport.EntraConfig{
			AuthorityHost: cfg.AuthorityHost,
			TenantID:      cfg.PartnerTenantID,
			ClientID:      cfg.ClientID,
			Secret:        transport.Secret(cfg.ClientSecret),
			Certificates:  cfg.Certificates,
			Key:           cfg.PrivateKey,
			Scope:         scope,
			HTTPClient:    cfg.HTTPClient,
			Service:       Service,
		}
	}
	if cfg.PartnerCenterTokens == nil {
		ts, err := transport.NewRefreshTokenSource(ec(partnerCenterScope), transport.Secret(cfg.RefreshToken), onRotate)
		if err != nil {
			return err
		}
		cfg.PartnerCenterTokens = ts
	}
	if cfg.GraphTokens == nil {
		ts, err := transport.NewRefreshTokenSource(ec(graphScope), transport.Secret(cfg.RefreshToken), onRotate)
		if err != nil {
			return err
		}
		cfg.GraphTokens = ts
	}
	return nil
}

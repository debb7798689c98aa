// Package entra authenticates to Microsoft Entra ID for the tenantsync clients: app-only tokens
// per customer tenant (the client credentials grant, by secret or certificate, through MSAL for
// Go), the partner admin's delegated authorization (the Secure Application Model's stored
// refresh token, rotated and persisted on every redemption), and the reading of AADSTS
// failures into tenantsync error classes with a hint in the reader's words (MapError).
//
// The cipp, graph and partnercenter clients build these token sources from their own Config;
// use this package directly to share one source across clients, to validate credentials when
// an MSP connects, or to hand tokens to code of your own:
//
//	tokens, err := entra.NewClientCredentials(entra.Config{
//		TenantID: partnerTenant, ClientID: appID, Secret: secret,
//		Scope: "https://graph.microsoft.com/.default",
//	})
//	tok, err := tokens.Token(ctx, customerTenant)
//
// PartnerConnect is the partner admin's one-time sign-in that produces the Secure Application
// Model refresh token, for a PSA to mount on its own web app: AuthURL builds the link (the
// authorization code flow with PKCE, offline_access included, a one-time state valid 15
// minutes), Callback redeems the code and explains every failure in the signing-in admin's
// words. Keep the token sealed and hand it to RefreshTokenSource, which rotates it on every use:
//
//	pc, err := entra.NewPartnerConnect(entra.PartnerConnectConfig{PartnerTenantID: partnerTenant,
//		ClientID: appID, Secret: secret, RedirectURI: "https://psa.example/connect/callback"})
//	link, err := pc.AuthURL(ctx, account, actor)      // send the admin's browser there
//	auth, err := pc.Callback(ctx, r.URL.Query())        // in the callback handler
//	// store auth.RefreshToken sealed; verify it with partnercenter.Client.VerifyConnection
//
// Cloud describes the Microsoft cloud a connection lives in (global, US Government GCC High,
// DoD, 21Vianet): its hosts, token audiences and the services it lacks. graph.Config.Cloud and
// partnercenter.Config.Cloud take one and then send tokens to that cloud's hosts only.
//
// Both token sources implement transport.TokenSource and transport.TokenInvalidator, cache a
// token per tenant until five minutes before it expires, and are safe for concurrent use.
//
// Guarantees:
//   - Credentials are held as tenantsync.Secret and a certificate's key as
//     tenantsync.PrivateKey wherever they live (configurations, token caches, the
//     refresh-token chain), so printing a Config or a token source with any fmt verb, slog or
//     encoding/json shows [REDACTED], never a secret, a token or a private key.
//   - A token request, which carries the client secret, the refresh token or a client
//     assertion, is never redirected to another origin.
//   - Token requests use Config.HTTPClient only; the clients' HTTP stack does not retry,
//     rate-limit or charge them to a retry budget: a token is cached per tenant, so they are
//     few, and a refused token is an answer to report, not a passing failure. That is why
//     entra.Config has an HTTPClient and not the clients' transport.Settings.
package entra

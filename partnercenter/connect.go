package partnercenter

import (
	"context"
	"net/http"
	"strings"
	gosync "sync"

	"github.com/tenantsync/tenantsync"
)

// Hints for a partner connection that signs in but cannot read Partner Center, in the words of
// the partner admin who just signed in.
const (
	hintAdminAgent = "the account you signed in with is in the partner tenant but does not hold the Admin Agent role " +
		"in Partner Center: sign in with an account that does (Partner Center > Account settings > User management), " +
		"or ask a Global Administrator of the partner tenant to add the role, then connect again"
	hintMFARequired = "Partner Center requires multifactor authentication for this sign-in: sign in again and complete " +
		"the MFA prompt (register a method first if you have none), then connect again"
	hintSignInAgain = "Partner Center did not accept the sign-in: connect again with a partner admin account"
)

// VerifyConnection checks a freshly authorized partner connection the way it will be used:
// it lists the partner's Partner Center customers (the whole listing; a partial one is an
// error). A 403 is reported as the missing Admin Agent role, a 401 that names multifactor
// authentication as MFA not satisfied, each with a hint for the person who signed in.
func (c *Client) VerifyConnection(ctx context.Context) ([]Customer, error) {
	if c.pc == nil {
		return nil, notConfigured("VerifyConnection", "Partner Center", "PartnerCenterTokens")
	}
	customers, err := c.Customers(ctx)
	if err == nil {
		return customers, nil
	}
	d, ok := tenantsync.Details(err)
	if !ok || d.Service != Service {
		return nil, err
	}
	e := *d
	e.Op = "VerifyConnection"
	switch {
	case e.Status == http.StatusForbidden:
		e.Class, e.Hint = tenantsync.ErrForbidden, hintAdminAgent
	case e.Status == http.StatusUnauthorized && mentionsMFA(e.Message):
		e.Class, e.Hint = tenantsync.ErrAuthorizationRevoked, hintMFARequired
	case e.Status == http.StatusUnauthorized:
		e.Class, e.Hint = tenantsync.ErrUnauthorized, hintSignInAgain
	default:
		return nil, err
	}
	e.Err = d
	return nil, &e
}

func mentionsMFA(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "multifactor") || strings.Contains(m, "multi-factor") || strings.Contains(m, "mfa")
}

// ConsentOutcome is one customer's answer to a bulk application consent.
type ConsentOutcome struct {
	TenantID string
	// Created is false when the app was already consented there (Partner Center's 409).
	Created bool
	// Err is the customer's failure with its hint (a missing GDAP role, a customer gone);
	// nil when the app is consented.
	Err error
}

// MaxConsentConcurrency bounds GrantApplicationConsents: Partner Center documents 50 requests
// per second per application for applicationconsents.
const MaxConsentConcurrency = 16

// GrantApplicationConsents runs GrantApplicationConsent for every customer, at most concurrency
// (1..MaxConsentConcurrency, 0 meaning 4) at a time, and returns one outcome per customer in the
// order given: one customer's failure does not stop the others. It fails as a whole only for
// bad input (an invalid consent, a malformed tenant ID) or a cancelled context.
func (c *Client) GrantApplicationConsents(ctx context.Context, customerIDs []string, consent ApplicationConsent, concurrency int) ([]ConsentOutcome, error) {
	const op = "GrantApplicationConsents"
	if c.pc == nil {
		return nil, notConfigured(op, "Partner Center", "PartnerCenterTokens")
	}
	switch {
	case concurrency == 0:
		concurrency = 4
	case concurrency < 0 || concurrency > MaxConsentConcurrency:
		return nil, &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: op,
			Message: "concurrency out of range", Hint: "use 1 to 16 requests at a time, or 0 for 4"}
	}
	for _, id := range customerIDs {
		if err := checkTenantID(op, id); err != nil {
			return nil, err
		}
		if err := validateConsent(op, id, consent); err != nil {
			return nil, err
		}
	}
	out := make([]ConsentOutcome, len(customerIDs))
	sem := make(chan struct{}, concurrency)
	var wg gosync.WaitGroup
	for i, id := range customerIDs {
		out[i].TenantID = id
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return nil, ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			res, err := c.GrantApplicationConsent(ctx, id, consent)
			out[i].Created, out[i].Err = res.Created, err
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// ConsentSummary counts outcomes: consented now, already consented, failed.
func ConsentSummary(outcomes []ConsentOutcome) (created, existed, failed int) {
	for _, o := range outcomes {
		switch {
		case o.Err != nil:
			failed++
		case o.Created:
			created++
		default:
			existed++
		}
	}
	return created, existed, failed
}

package main

import (
	"context"
	gosync "sync"

	"golang.org/x/oauth2"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/entra"
	"github.com/tenantsync/tenantsync/transport"
)

// partnerAuth is the partner admin's authorization the daemon's Partner Center client runs on:
// a Partner Center and a Graph token source sharing one refresh-token chain. A person who
// connects again through the connect page replaces the chain while the daemon runs: discovery,
// readiness and the bulk consent use the new authorization from their next token, with no
// restart. Until a first authorization exists, every token request fails with what to do.
type partnerAuth struct {
	// newChain starts a refresh-token chain whose rotations call rotate.
	newChain func(rt tenantsync.Secret, rotate func(context.Context, tenantsync.Secret) error) (pc, graph *entra.RefreshTokenSource, err error)
	// store keeps a rotated refresh token (sealed).
	store func(context.Context, tenantsync.Secret) error

	mu         gosync.RWMutex
	generation int
	pc, graph  *entra.RefreshTokenSource
}

// set starts a chain on rt and makes it the one every token comes from. The previous chain's
// later rotations are no longer stored: only the current chain's token is the authorization.
func (p *partnerAuth) set(rt tenantsync.Secret) error {
	p.mu.Lock()
	p.generation++
	gen := p.generation
	p.mu.Unlock()
	rotate := func(ctx context.Context, s tenantsync.Secret) error {
		p.mu.RLock()
		current := gen == p.generation
		p.mu.RUnlock()
		if !current {
			return nil
		}
		return p.store(ctx, s)
	}
	pc, graph, err := p.newChain(rt, rotate)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if gen == p.generation {
		p.pc, p.graph = pc, graph
	}
	return nil
}

// connected reports whether an authorization is in place.
func (p *partnerAuth) connected() bool {
	if p == nil {
		return false
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.pc != nil
}

// source is the Partner Center (graph false) or Graph token source that follows the current
// chain.
func (p *partnerAuth) source(graph bool) transport.TokenSource { return swapSource{p, graph} }

func (p *partnerAuth) current(graph bool) *entra.RefreshTokenSource {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if graph {
		return p.graph
	}
	return p.pc
}

// swapSource is a token source that asks the partner authorization's current chain.
type swapSource struct {
	p     *partnerAuth
	graph bool
}

var (
	_ transport.TokenSource      = swapSource{}
	_ transport.TokenInvalidator = swapSource{}
)

func (s swapSource) Token(ctx context.Context, tenant string) (*oauth2.Token, error) {
	cur := s.p.current(s.graph)
	if cur == nil {
		return nil, &tenantsync.Error{Class: tenantsync.ErrUnauthorized, Service: "syncd", Op: "partner authorization",
			Message: "the partner tenant is not connected: no partner admin has signed in",
			Hint:    "connect it once: the console's Connect button, or POST /api/partner/connect and open its signInUrl; no restart is needed"}
	}
	return cur.Token(ctx, tenant)
}

func (s swapSource) Invalidate(tenant string) {
	if cur := s.p.current(s.graph); cur != nil {
		cur.Invalidate(tenant)
	}
}

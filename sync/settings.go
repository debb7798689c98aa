package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	stdsync "sync"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// authorizeManage checks that actor holds tenantsync.PermissionManage for a configuration
// change (op). An engine without an Authorizer leaves configuration to its caller's own
// permission checks (writes are refused without one).
func (e *Engine) authorizeManage(ctx context.Context, op, actor string) error {
	if e.cfg.Authorizer == nil {
		return nil
	}
	hint := "grant the person the " + tenantsync.PermissionManage + " permission"
	if actor == "" {
		return &tenantsync.Error{Class: tenantsync.ErrPermissionDenied, Service: Service, Op: op,
			Message: "no actor", Hint: "pass the ID of the person making the change, who needs the " + tenantsync.PermissionManage + " permission"}
	}
	err := e.cfg.Authorizer.Authorize(ctx, actor, tenantsync.PermissionManage)
	if err == nil {
		return nil
	}
	if errors.Is(err, tenantsync.ErrPermissionDenied) {
		return hinted(err, tenantsync.ErrPermissionDenied, op, hint)
	}
	return &tenantsync.Error{Class: tenantsync.ErrPermissionDenied, Service: Service, Op: op,
		Message: actor + " may not change the configuration", Hint: hint, Err: err}
}

// Settings are the settings in force for one client: its own, over the account's defaults,
// over the engine's configuration.
type Settings struct {
	ClientID string
	// AutoCreateContacts creates a contact for a person with no matching contact (default
	// Config.AutoCreate).
	AutoCreateContacts bool
	// AutoCreateAssets switches the client's asset sync on (default Config.AutoCreateAssets):
	// its tenants' devices are matched with its assets (Config.Assets), assets are created for
	// devices with none, updated, retired when their device leaves and brought back when it
	// returns. Off, the engine neither reads nor writes the client's assets.
	AutoCreateAssets bool
	// Kinds are the kinds the client's tenants sync (default Config.Kinds, or every kind).
	Kinds []tenantsync.Kind
	// AutoMonitorDomains announces the tenants' newly verified domains (EventDomainSeen) and
	// fills the client's empty domain list from them (default on).
	AutoMonitorDomains bool
	// Own are the client's own settings and Defaults the account's, as stored: a field set in
	// neither is the engine's configuration.
	Own      store.ClientSettings
	Defaults store.ClientSettings
}

// settingsMemo keeps the settings a sync read, by client, so that the sync reads each client's
// once: the contact match, the asset sync and the domain monitor each ask.
type settingsMemo struct {
	mu stdsync.Mutex
	by map[string]Settings
}

type settingsMemoKey struct{}

// withSettingsMemo returns ctx with a memo of the settings read under it.
func withSettingsMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, settingsMemoKey{}, &settingsMemo{by: map[string]Settings{}})
}

// SettingsFor returns the settings in force for a client ("" for the account's defaults over
// the engine's configuration).
func (e *Engine) SettingsFor(ctx context.Context, clientID string) (Settings, error) {
	m, _ := ctx.Value(settingsMemoKey{}).(*settingsMemo)
	if m != nil {
		m.mu.Lock()
		s, ok := m.by[clientID]
		m.mu.Unlock()
		if ok {
			s.Kinds = slices.Clone(s.Kinds)
			return s, nil
		}
	}
	s, err := e.readSettings(ctx, clientID)
	if err == nil && m != nil {
		m.mu.Lock()
		m.by[clientID] = s
		m.mu.Unlock()
		s.Kinds = slices.Clone(s.Kinds)
	}
	return s, err
}

// readSettings reads the settings in force for a client from the store.
func (e *Engine) readSettings(ctx context.Context, clientID string) (Settings, error) {
	def, err := e.acct.Settings.Defaults(ctx)
	if err != nil {
		return Settings{}, err
	}
	var own store.ClientSettings
	if clientID != "" {
		if own, err = e.acct.Settings.Client(ctx, clientID); err != nil {
			return Settings{}, err
		}
	}
	eff := own.Over(def)
	out := Settings{ClientID: clientID, AutoCreateContacts: e.cfg.AutoCreate, AutoCreateAssets: e.cfg.AutoCreateAssets, AutoMonitorDomains: true,
		Kinds: slices.Clone(e.kinds), Own: own, Defaults: def}
	if eff.AutoCreateContacts != nil {
		out.AutoCreateContacts = *eff.AutoCreateContacts
	}
	if eff.AutoCreateAssets != nil {
		out.AutoCreateAssets = *eff.AutoCreateAssets
	}
	if eff.AutoMonitorDomains != nil {
		out.AutoMonitorDomains = *eff.AutoMonitorDomains
	}
	if eff.Kinds != nil {
		out.Kinds = eff.Kinds
	}
	return out, nil
}

// SetDefaults replaces the account's default settings, for actor, who must hold
// tenantsync.PermissionManage. Default kinds are applied at once to the linked tenants of
// every client that does not choose its own. The change, or its refusal, is audited.
func (e *Engine) SetDefaults(ctx context.Context, actor string, s store.ClientSettings) error {
	return e.putSettings(ctx, actor, "", s)
}

// SetClientSettings replaces a client's own settings (the zero ClientSettings puts it back on
// the defaults), for actor, who must hold tenantsync.PermissionManage. The client must exist
// in the contact directory (tenantsync.ClientLookup). Kinds are applied at once to the
// client's linked tenants; the contact and domain settings at their next sync. The change, or
// its refusal, is audited.
func (e *Engine) SetClientSettings(ctx context.Context, actor, clientID string, s store.ClientSettings) error {
	if clientID == "" {
		return &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: "SetClientSettings",
			Message: "no client ID", Hint: "pass the client's ID, or call SetDefaults for the account's defaults"}
	}
	return e.putSettings(ctx, actor, clientID, s)
}

func (e *Engine) putSettings(ctx context.Context, actor, clientID string, s store.ClientSettings) error {
	op, target := "SetClientSettings", clientID
	if clientID == "" {
		op, target = "SetDefaults", "defaults"
	}
	detail := settingsDetail(s)
	refuse := func(err error) error {
		return refusedAudited(err, e.auditAdmin(ctx, actor, "settings", "", target, "refused", err, detail))
	}
	if err := e.authorizeManage(ctx, op, actor); err != nil {
		return refuse(err)
	}
	s, err := store.CheckSettings(op, s)
	if err != nil {
		return refuse(err)
	}
	detail = settingsDetail(s)
	if clientID != "" {
		if err := e.checkClient(ctx, op, "", clientID); err != nil {
			return refuse(err)
		}
	}
	s.UpdatedBy, s.UpdatedAt = actor, e.clock.Now()
	if clientID == "" {
		err = e.acct.Settings.PutDefaults(ctx, s)
	} else {
		err = e.acct.Settings.PutClient(ctx, clientID, s)
	}
	if err != nil {
		return refusedAudited(err, e.auditAdmin(ctx, actor, "settings", "", target, "failed", err, detail))
	}
	aerr := e.auditAdmin(ctx, actor, "settings", "", target, "succeeded", nil, detail)
	return errors.Join(e.applyKinds(ctx, clientID), aerr)
}

// applyKinds sets the kinds in force on the linked tenants of clientID, or of every client
// when clientID is "" (the defaults changed).
func (e *Engine) applyKinds(ctx context.Context, clientID string) error {
	recs, err := e.acct.Tenants.List(ctx)
	if err != nil {
		return err
	}
	cache := map[string]Settings{}
	var errs []error
	for _, rec := range recs {
		if !rec.Linked() || (clientID != "" && rec.ClientID != clientID) {
			continue
		}
		s, ok := cache[rec.ClientID]
		if !ok {
			if s, err = e.SettingsFor(ctx, rec.ClientID); err != nil {
				return err
			}
			cache[rec.ClientID] = s
		}
		if s.Own.Kinds == nil && s.Defaults.Kinds == nil {
			continue
		}
		if err := e.acct.Tenants.SetEnabledKinds(ctx, rec.ID, s.Kinds); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// settingsDetail is the audit entry's record of a settings change.
func settingsDetail(s store.ClientSettings) map[string]string {
	d := map[string]string{}
	flag := func(name string, v *bool) {
		if v != nil {
			d[name] = fmt.Sprint(*v)
		}
	}
	flag("auto_create_contacts", s.AutoCreateContacts)
	flag("auto_create_assets", s.AutoCreateAssets)
	flag("auto_monitor_domains", s.AutoMonitorDomains)
	if s.Kinds != nil {
		kinds := make([]string, len(s.Kinds))
		for i, k := range s.Kinds {
			kinds[i] = string(k)
		}
		d["kinds"] = strings.Join(kinds, ",")
	}
	return d
}

package entra

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tenantsync/tenantsync"
)

// CloudName names one Microsoft cloud a connection lives in.
type CloudName string

// The clouds a connection can live in. GCC (moderate) tenants are in the global cloud: Microsoft
// tells GCC apps to keep the worldwide endpoints; GCC High and DoD have their own.
const (
	CloudGlobal    CloudName = "global"
	CloudUSGovHigh CloudName = "usgov-high" // Microsoft 365 GCC High (US Government L4)
	CloudUSGovDoD  CloudName = "usgov-dod"  // Microsoft 365 DoD (US Government L5)
	CloudChina     CloudName = "china"      // Microsoft 365 operated by 21Vianet
)

// CloudService is one service a cloud may or may not offer, for readiness.
type CloudService string

// Services a connection may need.
const (
	ServiceGraph         CloudService = "graph"
	ServicePartnerCenter CloudService = "partnercenter"
	ServiceGDAP          CloudService = "gdap" // Graph's tenantRelationships (GDAP relationships)
	ServiceCIPP          CloudService = "cipp"
)

// Cloud is where one connection's tokens come from and go to: the Entra ID authority, the
// Microsoft Graph and Partner Center hosts, the audiences tokens are asked for, and the services
// the cloud does not offer. Build one with CloudByName or Clouds; the zero Cloud means "not
// chosen", and clients then keep their own host settings.
//
// Sources (Microsoft's pages, checked when this table was written):
//   - Entra ID and Graph hosts: learn.microsoft.com/graph/deployments ("App registration and
//     token service root endpoints", "Microsoft Graph and Graph Explorer service root endpoints");
//     GCC stays on the worldwide endpoints, GCC High uses graph.microsoft.us, DoD
//     dod-graph.microsoft.us, 21Vianet microsoftgraph.chinacloudapi.cn, and "access tokens
//     acquired for a national cloud deployment are not interchangeable".
//   - Scopes name the cloud's own Graph host: learn.microsoft.com/graph/sdks/national-clouds.
//   - Partner Center hosts: learn.microsoft.com/partner-center/developer/partner-center-rest-urls
//     (Partner Center for Microsoft Cloud for US Government: api.partnercenter.microsoft.com;
//     operated by 21Vianet: partner.partnercenterapi.microsoftonline.cn).
//   - GDAP: the delegatedAdminRelationship APIs carry Graph's "global only" national-cloud table
//     (global service yes; US Government L4, L5 and 21Vianet no).
type Cloud struct {
	Name CloudName
	// Label is the cloud's name in a sentence ("US Government GCC High").
	Label string
	// AuthorityHost is Entra ID's login origin.
	AuthorityHost string
	// GraphURL is Microsoft Graph's origin; GraphAudience the resource its tokens are for.
	GraphURL      string
	GraphAudience string
	// PartnerCenterURL is Partner Center's REST origin ("" where the cloud has none);
	// PartnerCenterAudience the resource its tokens are for.
	PartnerCenterURL      string
	PartnerCenterAudience string
	// Missing lists the services the cloud does not offer, each with why, in the user's words.
	Missing map[CloudService]string
}

// Clouds returns every cloud, global first. Each call returns fresh copies.
func Clouds() []Cloud {
	global := Cloud{Name: CloudGlobal, Label: "global (commercial and GCC)",
		AuthorityHost: DefaultAuthorityHost,
		GraphURL:      "https://graph.microsoft.com", GraphAudience: "https://graph.microsoft.com",
		PartnerCenterURL: "https://api.partnercenter.microsoft.com", PartnerCenterAudience: "https://api.partnercenter.microsoft.com",
		Missing: map[CloudService]string{}}
	noGDAP := "Microsoft offers the GDAP relationship APIs only in the global cloud: customers are found " +
		"through Partner Center and reached with the partner admin's delegated sign-in instead"
	noCIPP := "CIPP reaches customer tenants through the global cloud's GDAP and Partner Center and does not " +
		"document national clouds: connect these tenants through Graph instead"
	high := Cloud{Name: CloudUSGovHigh, Label: "US Government GCC High",
		AuthorityHost: "https://login.microsoftonline.us",
		GraphURL:      "https://graph.microsoft.us", GraphAudience: "https://graph.microsoft.us",
		PartnerCenterURL: "https://api.partnercenter.microsoft.com", PartnerCenterAudience: "https://api.partnercenter.microsoft.com",
		Missing: map[CloudService]string{ServiceGDAP: noGDAP, ServiceCIPP: noCIPP}}
	dod := Cloud{Name: CloudUSGovDoD, Label: "US Government DoD",
		AuthorityHost: "https://login.microsoftonline.us",
		GraphURL:      "https://dod-graph.microsoft.us", GraphAudience: "https://dod-graph.microsoft.us",
		PartnerCenterURL: "https://api.partnercenter.microsoft.com", PartnerCenterAudience: "https://api.partnercenter.microsoft.com",
		Missing: map[CloudService]string{ServiceGDAP: noGDAP, ServiceCIPP: noCIPP}}
	china := Cloud{Name: CloudChina, Label: "China (operated by 21Vianet)",
		AuthorityHost: "https://login.chinacloudapi.cn",
		GraphURL:      "https://microsoftgraph.chinacloudapi.cn", GraphAudience: "https://microsoftgraph.chinacloudapi.cn",
		PartnerCenterURL: "https://partner.partnercenterapi.microsoftonline.cn", PartnerCenterAudience: "https://partner.partnercenterapi.microsoftonline.cn",
		Missing: map[CloudService]string{ServiceGDAP: noGDAP, ServiceCIPP: noCIPP}}
	return []Cloud{global, high, dod, china}
}

// CloudByName returns the named cloud ("" means global). An unknown name is ErrInvalidInput.
func CloudByName(name string) (Cloud, error) {
	if strings.TrimSpace(name) == "" {
		name = string(CloudGlobal)
	}
	for _, c := range Clouds() {
		if strings.EqualFold(string(c.Name), strings.TrimSpace(name)) {
			return c, nil
		}
	}
	return Cloud{}, &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: "entra", Op: "CloudByName",
		Message: "unknown cloud " + strconv.Quote(name),
		Hint:    "use global (commercial and GCC), usgov-high (GCC High), usgov-dod (DoD) or china (21Vianet)"}
}

// IsZero reports whether no cloud was chosen.
func (c Cloud) IsZero() bool { return c.Name == "" }

// Offers reports whether the cloud offers s, and if not, why.
func (c Cloud) Offers(s CloudService) (ok bool, why string) {
	why, missing := c.Missing[s]
	if s == ServicePartnerCenter && c.PartnerCenterURL == "" {
		return false, "Partner Center has no API in the " + c.Label + " cloud"
	}
	return !missing, why
}

// GraphScope is the .default scope of the cloud's Graph.
func (c Cloud) GraphScope() string { return c.GraphAudience + "/.default" }

// PartnerCenterScope is the delegated scope of the cloud's Partner Center.
func (c Cloud) PartnerCenterScope() string { return c.PartnerCenterAudience + "/user_impersonation" }

// Hosts returns the host names the cloud's tokens may be sent to (authority, Graph, Partner
// Center), for an origin guard.
func (c Cloud) Hosts() []string {
	var hs []string
	for _, raw := range []string{c.AuthorityHost, c.GraphURL, c.PartnerCenterURL} {
		if u, err := url.Parse(raw); err == nil && u.Host != "" && !slices.Contains(hs, u.Host) {
			hs = append(hs, u.Host)
		}
	}
	return hs
}

// CheckHost refuses a configured origin that is not the cloud's origin for what (a field name
// such as "BaseURL"); want is the cloud's origin for it. A zero Cloud accepts anything.
func (c Cloud) CheckHost(service, field, got, want string) error {
	if c.IsZero() || got == "" {
		return nil
	}
	g, err1 := url.Parse(got)
	w, err2 := url.Parse(want)
	if err1 == nil && err2 == nil && strings.EqualFold(g.Host, w.Host) && g.Scheme == w.Scheme {
		return nil
	}
	return &tenantsync.Error{Class: tenantsync.ErrHostNotAllowed, Service: service, Op: "NewClient",
		Message: field + " " + got + " is not the " + c.Label + " cloud's host",
		Hint:    "a connection in the " + c.Label + " cloud sends its tokens only to " + want + "; leave " + field + " empty to use it, or choose the cloud the tenant lives in"}
}

// Gap is a service a cloud does not offer, and why, for a readiness report.
type Gap struct {
	Service CloudService
	Reason  string
}

// Gaps lists what the cloud does not offer, in a fixed order (empty for the global cloud).
func (c Cloud) Gaps() []Gap {
	var gaps []Gap
	for _, s := range []CloudService{ServiceGraph, ServicePartnerCenter, ServiceGDAP, ServiceCIPP} {
		if ok, why := c.Offers(s); !ok {
			gaps = append(gaps, Gap{Service: s, Reason: why})
		}
	}
	return gaps
}

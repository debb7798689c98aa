package transport

import (
	"net/http"
	"strconv"
	"strings"
)

// Preset rules. Each returns rules for the given hosts (host or host:port, e.g. a test
// server's), or for the service's public host when none is given. Pass them to NewLimits;
// one Limits can hold the presets of several services.

// GraphRules sizes Microsoft Graph limiters per (host, customer tenant) from Microsoft's
// published service limits (learn.microsoft.com/graph/throttling-limits):
//   - identity and access (users, groups, domains, subscribedSkus, organization, …): a
//     token bucket of 3,500 resource units per 10 s per app+tenant for the smallest tenants
//     (5,000 and 8,000 for larger ones; the smallest is used because the size is not known
//     in advance), with graphCost charging each request;
//   - conditional access and identity protection: 1 request/s per tenant, and these
//     endpoints throttle without a Retry-After;
//   - authentication-method and audit reports: 5 requests per 10 s per app+tenant;
//   - usage reports: 14 requests per 10 minutes; secure score: 150 requests/minute;
//   - Intune (deviceManagement): 2,000 requests per 20 s per app+tenant.
func GraphRules(hosts ...string) []Rule {
	if len(hosts) == 0 {
		hosts = []string{"graph.microsoft.com"}
	}
	var rules []Rule
	for _, h := range hosts {
		for _, v := range []string{"/v1.0", "/beta"} {
			rules = append(rules,
				Rule{Host: h, PathPrefix: v + "/identity/conditionalAccess", Rate: 1, Burst: 1},
				Rule{Host: h, PathPrefix: v + "/identityProtection", Rate: 1, Burst: 1},
				Rule{Host: h, PathPrefix: v + "/reports/authenticationMethods", Rate: 0.5, Burst: 5},
				Rule{Host: h, PathPrefix: v + "/auditLogs", Rate: 0.5, Burst: 5},
				Rule{Host: h, PathPrefix: v + "/reports/", Rate: 14.0 / 600, Burst: 14},
				Rule{Host: h, PathPrefix: v + "/security/secureScores", Rate: 2.5, Burst: 10},
				Rule{Host: h, PathPrefix: v + "/deviceManagement", Rate: 100, Burst: 200},
			)
		}
		rules = append(rules, Rule{Host: h, Rate: 350, Burst: 3500, Cost: graphCost})
	}
	return rules
}

// graphCost is the resource-unit cost of a Graph identity request as Microsoft publishes it:
// GET users 2, subscribedSkus 3, groups/{id}/members 3, transitiveMembers 5, contracts 3,
// any other GET 1, writes 1; $select lowers the cost by 1, $expand raises it by 1, $top
// under 20 lowers it by 1, and the minimum is 1. A $batch is charged 20, its item ceiling,
// because its items are charged one by one.
func graphCost(req *http.Request) int {
	path := req.URL.Path
	for _, v := range []string{"/v1.0", "/beta"} {
		path = strings.TrimPrefix(path, v)
	}
	if path == "/$batch" {
		return 20
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return 1
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	cost := 1
	switch {
	case segs[0] == "users" && (len(segs) == 1 || (len(segs) == 2 && segs[1] == "delta")):
		cost = 2
	case segs[0] == "subscribedSkus" || segs[0] == "contracts":
		cost = 3
	case segs[0] == "groups" && len(segs) >= 3 && segs[2] == "members":
		cost = 3
	case segs[0] == "groups" && len(segs) >= 3 && segs[2] == "transitiveMembers":
		cost = 5
	}
	q := req.URL.Query()
	if q.Get("$select") != "" {
		cost--
	}
	if q.Get("$expand") != "" {
		cost++
	}
	if top, err := strconv.Atoi(q.Get("$top")); err == nil && top < 20 {
		cost--
	}
	return max(cost, 1)
}

// PartnerCenterRules sizes Partner Center limiters from its throttling guidance: the
// Customer resource allows 500 requests per minute per tenant identifier
// (learn.microsoft.com/partner-center/developer/customer-resources).
func PartnerCenterRules(hosts ...string) []Rule {
	if len(hosts) == 0 {
		hosts = []string{"api.partnercenter.microsoft.com"}
	}
	rules := make([]Rule, 0, len(hosts))
	for _, h := range hosts {
		rules = append(rules, Rule{Host: h, Rate: 500.0 / 60, Burst: 50})
	}
	return rules
}

// CIPPRules limits calls to a CIPP-API instance. CIPP has no inbound rate limit, but one
// Function App serves the UI, timers and queues (10 concurrent activity functions) and each
// call fans out to Graph and Exchange, so a modest 10 requests/s per tenant (burst 20) keeps
// a sync from starving the MSP's own CIPP users. hosts is the instance's host name (each
// MSP has its own); with none, the rule applies to every host, so use it in a Limits
// dedicated to CIPP.
func CIPPRules(hosts ...string) []Rule {
	if len(hosts) == 0 {
		return []Rule{{Rate: 10, Burst: 20}}
	}
	rules := make([]Rule, 0, len(hosts))
	for _, h := range hosts {
		rules = append(rules, Rule{Host: h, Rate: 10, Burst: 20})
	}
	return rules
}

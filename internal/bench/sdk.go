package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"time"

	"github.com/microsoft/kiota-abstractions-go/serialization"
	msgraph "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/devicemanagement"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/security"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/graph/msgraphsdk"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/transport"
)

// The fields the lean client selects, so both clients read the same pages.
var (
	sdkUserSelect = strings.Split("id,userPrincipalName,displayName,givenName,surname,mail,otherMails,proxyAddresses,imAddresses,"+
		"jobTitle,department,companyName,officeLocation,mobilePhone,businessPhones,accountEnabled,userType,"+
		"assignedLicenses,createdDateTime,onPremisesSyncEnabled", ",")
	sdkDeviceSelect = strings.Split("id,deviceName,serialNumber,operatingSystem,osVersion,manufacturer,model,complianceState,"+
		"userPrincipalName,userId,lastSyncDateTime,enrolledDateTime", ",")
)

// fetchInput is what a fetch child gets.
type fetchInput struct {
	Endpoints   endpoints
	Concurrency int
	Kinds       []tenantsync.Kind
}

// fetchOutput is what a fetch child measured of itself.
type fetchOutput struct {
	Wall   time.Duration
	CPU    time.Duration
	Alloc  uint64
	Items  int64
	Errors int
	First  string
}

// childFetch reads the graphKinds of every tenant, concurrency tenants at a time, through the
// graph package's Source (route "graph") or through msgraph-sdk-go as a developer writes it
// (route "sdk": one request builder per endpoint, PageIterator, Kiota models).
func childFetch(ctx context.Context, route string) error {
	var in fetchInput
	if err := childInput(&in); err != nil {
		return err
	}
	hc, err := in.Endpoints.httpClient()
	if err != nil {
		return err
	}
	cl, err := newClients(in.Endpoints, hc, transport.NewBudget(0), graph.MailboxesOff)
	if err != nil {
		return err
	}
	src := cl.graphSrc
	var items atomic.Int64
	var mu stdsync.Mutex
	var out fetchOutput
	one := func(tenant string) error {
		if route == "graph" {
			res, err := src.Fetch(ctx, tenantsync.FetchRequest{TenantID: tenant, Kinds: in.Kinds})
			if err != nil {
				return err
			}
			for _, k := range in.Kinds {
				kr := res.Kinds[k]
				if kr.Mode == tenantsync.Unavailable {
					return kr.Err
				}
				items.Add(int64(kr.Len()))
			}
			return nil
		}
		n, err := sdkFetch(ctx, cl.graph, tenant, slices.Contains(in.Kinds, tenantsync.KindMFA))
		items.Add(int64(n))
		return err
	}

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := cpuTime()
	start := time.Now()
	next := make(chan string)
	var wg stdsync.WaitGroup
	for range in.Concurrency {
		wg.Go(func() {
			for t := range next {
				if err := one(t); err != nil {
					mu.Lock()
					out.Errors++
					if out.First == "" {
						out.First = err.Error()
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, t := range in.Endpoints.Tenants {
		next <- t
	}
	close(next)
	wg.Wait()
	out.Wall = time.Since(start)
	out.CPU = cpuTime() - cpu0
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	out.Alloc = after.TotalAlloc - before.TotalAlloc
	out.Items = items.Load()
	return childOutput(out)
}

// sdkFetch reads one tenant the way the SDK's documentation shows: a client for the tenant,
// then each endpoint with its request builder and a PageIterator over Kiota models.
func sdkFetch(ctx context.Context, g *graph.Client, tenant string, mfa bool) (int, error) {
	adapter, err := msgraphsdk.NewRequestAdapter(ctx, msgraphsdk.Config{TenantID: tenant, Client: g})
	if err != nil {
		return 0, err
	}
	sdk := msgraph.NewGraphServiceClient(adapter)
	n := 0
	count := func(_ any) bool { n++; return true }

	// /users rather than /users/delta(): the fake serves /users/delta only, not the SDK's
	// delta() form, so the SDK lists users with $top=999 (fewer pages than a delta round).
	top := int32(999)
	us, err := sdk.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Select: sdkUserSelect, Top: &top}})
	if err != nil {
		return n, fmt.Errorf("users: %w", err)
	}
	if err := iterate[models.Userable](ctx, us, adapter, models.CreateUserCollectionResponseFromDiscriminatorValue, count); err != nil {
		return n, fmt.Errorf("users: %w", err)
	}

	devs, err := sdk.DeviceManagement().ManagedDevices().Get(ctx, &devicemanagement.ManagedDevicesRequestBuilderGetRequestConfiguration{
		QueryParameters: &devicemanagement.ManagedDevicesRequestBuilderGetQueryParameters{Select: sdkDeviceSelect}})
	if err != nil {
		return n, fmt.Errorf("devices: %w", err)
	}
	if err := iterate[models.ManagedDeviceable](ctx, devs, adapter, models.CreateManagedDeviceCollectionResponseFromDiscriminatorValue, count); err != nil {
		return n, fmt.Errorf("devices: %w", err)
	}

	doms, err := sdk.Domains().Get(ctx, nil)
	if err != nil {
		return n, fmt.Errorf("domains: %w", err)
	}
	if err := iterate[models.Domainable](ctx, doms, adapter, models.CreateDomainCollectionResponseFromDiscriminatorValue, count); err != nil {
		return n, fmt.Errorf("domains: %w", err)
	}

	skus, err := sdk.SubscribedSkus().Get(ctx, nil)
	if err != nil {
		return n, fmt.Errorf("subscribedSkus: %w", err)
	}
	if err := iterate[models.SubscribedSkuable](ctx, skus, adapter, models.CreateSubscribedSkuCollectionResponseFromDiscriminatorValue, count); err != nil {
		return n, fmt.Errorf("subscribedSkus: %w", err)
	}

	if mfa {
		regs, err := sdk.Reports().AuthenticationMethods().UserRegistrationDetails().Get(ctx, nil)
		if err != nil {
			return n, fmt.Errorf("registration details: %w", err)
		}
		if err := iterate[models.UserRegistrationDetailsable](ctx, regs, adapter, models.CreateUserRegistrationDetailsCollectionResponseFromDiscriminatorValue, count); err != nil {
			return n, fmt.Errorf("registration details: %w", err)
		}
	}

	cas, err := sdk.Identity().ConditionalAccess().Policies().Get(ctx, nil)
	if err != nil {
		return n, fmt.Errorf("conditional access: %w", err)
	}
	if err := iterate[models.ConditionalAccessPolicyable](ctx, cas, adapter, models.CreateConditionalAccessPolicyCollectionResponseFromDiscriminatorValue, count); err != nil {
		return n, fmt.Errorf("conditional access: %w", err)
	}

	if _, err := sdk.Policies().IdentitySecurityDefaultsEnforcementPolicy().Get(ctx, nil); err != nil {
		return n, fmt.Errorf("security defaults: %w", err)
	}

	one := int32(1)
	if _, err := sdk.Security().SecureScores().Get(ctx, &security.SecureScoresRequestBuilderGetRequestConfiguration{
		QueryParameters: &security.SecureScoresRequestBuilderGetQueryParameters{Top: &one}}); err != nil {
		return n, fmt.Errorf("secure scores: %w", err)
	}
	return n, nil
}

func iterate[T any](ctx context.Context, first any, adapter *msgraph.GraphRequestAdapter, factory serialization.ParsableFactory, f func(any) bool) error {
	it, err := msgraphcore.NewPageIterator[T](first, adapter, factory)
	if err != nil {
		return err
	}
	return it.Iterate(ctx, func(item T) bool { return f(item) })
}

// sdkRounds is how many times each client syncs the partner in the graph vs msgraph-sdk-go
// figure.
const sdkRounds = 3

func benchSDK(ctx context.Context, out io.Writer, o options, p partner, g *goals) error {
	w := p.world()
	f, err := o.startFake(ctx, fakeSpec{Partner: p, Latency: o.latency, PageCache: true})
	if err != nil {
		return err
	}
	defer f.close()
	ids := tenantIDs(w)
	// Without the MFA report, whose rate limit (5 requests per 10 s per tenant) would set both
	// clients' wall time alike, and without mailbox types, which the SDK reads one user at a time.
	kinds := slices.DeleteFunc(slices.Clone(graphKinds), func(k tenantsync.Kind) bool {
		return k == tenantsync.KindMFA || k == tenantsync.KindMailboxes
	})
	in := fetchInput{Endpoints: f.endpoints(ids), Concurrency: o.concurrency, Kinds: kinds}
	fmt.Fprintf(out, "\n== (b) graph package vs msgraph-sdk-go, same partner, same kinds (%s), each in its own process, concurrency %d, latency %s\n",
		kindList(kinds), o.concurrency, ms(o.latency))
	// The two clients alternate over sdkRounds rounds and each keeps its least CPU and wall
	// time: on a shared machine a single run of either may be slowed by others, and the ratio
	// of one run each moved by a tenth between complete runs.
	res := map[string]fetchOutput{}
	trips := map[string]int{}
	var cpus [2][]string
	for round := range sdkRounds {
		for i, route := range []string{"graph", "sdk"} {
			if err := f.reset(); err != nil {
				return err
			}
			var r fetchOutput
			if err := runChild(ctx, "fetch-"+route, in, &r); err != nil {
				return err
			}
			if r.Errors > 0 {
				return fmt.Errorf("%s: %d tenants failed, first: %s", route, r.Errors, r.First)
			}
			cpus[i] = append(cpus[i], secs(r.CPU))
			if best, ok := res[route]; ok {
				r.CPU, r.Wall = min(r.CPU, best.CPU), min(r.Wall, best.Wall)
			}
			res[route] = r
			counts, err := f.counts()
			if err != nil {
				return err
			}
			if round == 0 {
				trips[route] = counts.trips(testserver.ServiceGraph, "*")
			}
		}
	}
	gr, s := res["graph"], res["sdk"]
	fmt.Fprintf(out, "CPU per round, alternating: graph %s; msgraph-sdk-go %s (the least of each below)\n", strings.Join(cpus[0], ", "), strings.Join(cpus[1], ", "))
	fmt.Fprintf(out, "%-16s %10s %10s %12s %12s %8s\n", "", "wall", "CPU", "allocated", "round trips", "items*")
	fmt.Fprintf(out, "%-16s %10s %10s %9.1f MB %12d %8d\n", "graph", secs(gr.Wall), secs(gr.CPU), float64(gr.Alloc)/1e6, trips["graph"], gr.Items)
	fmt.Fprintf(out, "%-16s %10s %10s %9.1f MB %12d %8d\n", "msgraph-sdk-go", secs(s.Wall), secs(s.CPU), float64(s.Alloc)/1e6, trips["sdk"], s.Items)
	fmt.Fprintln(out, "  * items: graph counts the baseline as one item, the SDK counts the policies and scores it reads")
	cpu, bytes := s.CPU.Seconds()/gr.CPU.Seconds(), float64(s.Alloc)/float64(gr.Alloc)
	fmt.Fprintf(out, "ratios sdk/graph: wall %.2fx, CPU %.2fx, allocated bytes %.2fx, round trips %.2fx\n",
		s.Wall.Seconds()/gr.Wall.Seconds(), cpu, bytes, float64(trips["sdk"])/float64(trips["graph"]))
	g.add("sdk-cpu-ratio", cpu, ">=", 3, "%.2f")
	g.add("sdk-bytes-ratio", bytes, ">=", 3, "%.2f")
	return nil
}

package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
	"github.com/tenantsync/tenantsync/match/internal/fixture"
)

// Sizes of one seeded world of a real-name set: an MSP's PSA holds hundreds to a few thousand
// clients.
const (
	realCatalogue = 2000
	realQueries   = 1500
	realHeldOut   = 500
	realSeeds     = 5
	// realDomainShare is the share of tenants whose default domain is their organisation's
	// website (when the source knows it); the rest carry only a name and an onmicrosoft.com label.
	realDomainShare = 0.3
)

// seedFigures are one seed's results on one set.
type seedFigures struct {
	Top1, Top3, FalseAuto, HeldFalseAuto float64
	WrongAuto, HeldWrongAuto             int
	Queries, Held                        int
}

// stat is a mean and range over seeds.
type stat struct{ Mean, Min, Max float64 }

func over(fs []seedFigures, f func(seedFigures) float64) stat {
	s := stat{Min: 2, Max: -1}
	for _, x := range fs {
		v := f(x)
		s.Mean += v / float64(len(fs))
		s.Min, s.Max = min(s.Min, v), max(s.Max, v)
	}
	return s
}

func (s stat) String() string { return fmt.Sprintf("%.3f [%.3f-%.3f]", s.Mean, s.Min, s.Max) }

// initialLabel is the onmicrosoft.com label Microsoft offers for a company name: its letters and
// digits, folded to ASCII, at most 27 of them.
func initialLabel(name string, i int) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(strings.ToLower(name)) {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) && b.Len() < 27 {
			b.WriteRune(r)
		}
	}
	if b.Len() < 3 {
		return "tenant" + strconv.Itoa(i)
	}
	return b.String()
}

// evalSeed suggests every query of one seeded world and scores the answers.
// Every query is counted in st by its kind; misses receives the queries whose right client is
// not in the top three, with what was offered instead.
func evalSeed(s realSet, seed uint64, st catStats, misses map[string][]string) (seedFigures, error) {
	cat, qs, held := s.sample(seed, realCatalogue, realQueries, realHeldOut)
	canon := make(map[string]string, len(cat))
	for _, o := range cat {
		canon[o.ID] = o.Canonical
	}
	rng := rand.New(rand.NewPCG(seed, 0x646f6d))
	// A domain is verified in one Microsoft 365 tenant only, so only an organisation whose
	// website domain no other organisation of the source shares may have it as a tenant domain.
	orgsOn := map[string]int{}
	for _, o := range s.Orgs {
		orgsOn[o.Domain]++
	}
	domainOf := map[string]string{}
	for _, o := range s.Orgs {
		if o.Domain != "" && orgsOn[o.Domain] == 1 {
			domainOf[o.ID] = o.Domain
		}
	}
	clients := make([]tenantsync.Client, len(cat))
	for i, o := range cat {
		clients[i] = tenantsync.Client{ID: o.ID, Name: o.Canonical}
		if o.Domain != "" {
			clients[i].Domains = []string{o.Domain}
		}
	}
	sg, err := match.NewSuggester(clients, nil, match.SuggestConfig{})
	if err != nil {
		return seedFigures{}, err
	}
	tenant := func(i int, q query) tenantsync.Tenant {
		t := tenantsync.Tenant{ID: "t" + strconv.Itoa(i), DisplayName: q.Text, InitialDomain: initialLabel(q.Text, i) + ".onmicrosoft.com"}
		if d := domainOf[q.OrgID]; d != "" && rng.Float64() < realDomainShare {
			t.DefaultDomain = d
			t.Domains = []string{d}
		}
		return t
	}
	f := seedFigures{Queries: len(qs), Held: len(held)}
	for i, q := range qs {
		r := sg.Suggest(tenant(i, q))
		t1, t3 := inTop(r.Candidates, q.OrgID, 1), inTop(r.Candidates, q.OrgID, 3)
		f.Top1 += t1
		f.Top3 += t3
		k := category(q.Text, canon[q.OrgID])
		st.add(k, t1, t3)
		if t1 < 1 && misses != nil {
			first := "nothing"
			if len(r.Candidates) > 0 {
				first = strconv.Quote(r.Candidates[0].ClientName) + " " + r.Candidates[0].Signals[0].Detail
			}
			where := "not in the top 3"
			if t3 == 1 {
				where = "not first"
			}
			misses[k] = append(misses[k], fmt.Sprintf("%s: %q, want %q; first: %s", where, q.Text, canon[q.OrgID], first))
		}
		if r.AutoAccept && r.ClientID != q.OrgID {
			f.WrongAuto++
		}
	}
	for i, q := range held {
		if r := sg.Suggest(tenant(len(qs)+i, q)); r.AutoAccept {
			f.HeldWrongAuto++
		}
	}
	n := float64(max(len(qs), 1))
	f.Top1, f.Top3, f.FalseAuto = f.Top1/n, f.Top3/n, float64(f.WrongAuto)/n
	f.HeldFalseAuto = float64(f.HeldWrongAuto) / float64(max(len(held), 1))
	return f, nil
}

// inTop is the chance that the right client is among the first k when tied candidates are
// put in a random order: a tie is reported as one (Candidate.Rank), so a person sees the right
// client among equals, and the figure counts it by its share of the tie.
func inTop(cs []match.Candidate, want string, k int) float64 {
	i := slices.IndexFunc(cs, func(c match.Candidate) bool { return c.ClientID == want })
	if i < 0 {
		return 0
	}
	first, last := i, i
	for first > 0 && cs[first-1].Rank == cs[i].Rank {
		first--
	}
	for last+1 < len(cs) && cs[last+1].Rank == cs[i].Rank {
		last++
	}
	in := min(last, k-1) - first + 1
	if in <= 0 {
		return 0
	}
	return float64(in) / float64(last-first+1)
}

// goalList collects the goal lines of issue 15 in the form internal/bench prints them:
// "goal <name>: <value> (target <op> <target>) met|missed".
type goalList struct{ lines []string }

func (g *goalList) add(name string, value float64, op string, target float64, format string) {
	met := value >= target
	switch op {
	case "<=":
		met = value <= target
	case "<":
		met = value < target
	}
	verdict := "missed"
	if met {
		verdict = "met"
	}
	g.lines = append(g.lines, fmt.Sprintf("goal %s: %s (target %s %s) %s", name, fmt.Sprintf(format, value), op, fmt.Sprintf(format, target), verdict))
}

// realReport prints the real-name figures; it returns the number of wrong automatic acceptances.
func realReport(out io.Writer, dir string, ok bool, showMisses int, only string, gl *goalList) (int, error) {
	fmt.Fprintf(out, "\n== match: tenants to clients on real company names (%d seeds; mean [min-max]) ==\n", realSeeds)
	if !ok {
		fmt.Fprintf(out, "SKIPPED: real-name sets not found in %s (run match/internal/matchbench/fetchdata.sh DIR, then -data DIR or TENANTSYNC_EVAL_DATA=DIR)\n", dir)
		return 0, nil
	}
	sets, err := loadRealSets(dir)
	if err != nil {
		return 0, err
	}
	wrong := 0
	tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "set\torgs\tqueries\tno word shared\ttop-1\ttop-3\tfalse auto (all)\tfalse auto (held out)\t")
	var (
		names       []string
		stats       []catStats
		top1s       []stat
		top3s       []stat
		missesBySet []map[string][]string
		noGoal      []string
	)
	for _, s := range sets {
		if only != "" && !slices.Contains(strings.Split(only, ","), s.Name) {
			continue
		}
		var fs []seedFigures
		st := catStats{}
		misses := map[string][]string{}
		setWrong := 0
		for seed := uint64(1); seed <= realSeeds; seed++ {
			m := misses
			if seed > 1 {
				m = nil
			}
			f, err := evalSeed(s, seed, st, m)
			if err != nil {
				return 0, err
			}
			fs = append(fs, f)
			wrong += f.WrongAuto + f.HeldWrongAuto
			setWrong += f.WrongAuto + f.HeldWrongAuto
		}
		gl.add("suggest-false-auto-"+s.Name, float64(setWrong), "<=", 0, "%.0f")
		top1, top3 := over(fs, func(f seedFigures) float64 { return f.Top1 }), over(fs, func(f seedFigures) float64 { return f.Top3 })
		fmt.Fprintf(tw, "%s\t%d\t%d+%d held\t%.3f\t%s\t%s\t%s\t%s\t\n", s.Name, len(s.Orgs), fs[0].Queries, fs[0].Held, st.unshared(), top1, top3,
			over(fs, func(f seedFigures) float64 { return f.FalseAuto }), over(fs, func(f seedFigures) float64 { return f.HeldFalseAuto }))
		names, stats, top1s, top3s = append(names, s.Name), append(stats, st), append(top1s, top1), append(top3s, top3)
		noGoal = append(noGoal, s.NoAccuracyGoal)
		missesBySet = append(missesBySet, misses)
	}
	tw.Flush()
	for _, s := range sets {
		fmt.Fprintf(out, "  %s: %s\n", s.Name, s.Note)
	}
	printCategories(out, names, stats)
	if showMisses > 0 {
		for i, n := range names {
			for _, k := range catOrder {
				ms := missesBySet[i][k]
				for _, m := range ms[:min(showMisses, len(ms))] {
					fmt.Fprintf(out, "  miss %s / %s: %s\n", n, k, m)
				}
			}
		}
	}
	// The cleanest set is the one whose queries most often share a word with their right
	// client's name, the noisiest the one where they least often do: measured on the data, not
	// on the scorer's results.
	unshared := make([]float64, len(stats))
	for i, st := range stats {
		unshared[i] = st.unshared()
	}
	clean, noisy := cleanAndNoisy(unshared, noGoal)
	if clean >= 0 {
		fmt.Fprintf(out, "cleanest set: %s (%.3f of its queries share no word with the right client's name); noisiest: %s (%.3f)\n",
			names[clean], stats[clean].unshared(), names[noisy], stats[noisy].unshared())
	}
	for i, n := range names {
		if noGoal[i] != "" {
			fmt.Fprintf(out, "%s: top-1 and top-3 held to no goal: %s\n", n, noGoal[i])
			continue
		}
		// The issue sets the high bar for the cleanest set and the low one for the noisiest;
		// the sets between are held to the low one.
		g3, g1 := 0.80, 0.70
		if i == clean {
			g3, g1 = 0.95, 0.90
		}
		gl.add("suggest-top3-"+n, top3s[i].Mean, ">=", g3, "%.3f")
		gl.add("suggest-top1-"+n, top1s[i].Mean, ">=", g1, "%.3f")
	}
	return wrong, nil
}

// cleanAndNoisy returns the indexes of the cleanest set (the smallest share of queries that
// share no word with their right client's name) and the noisiest (the largest), among the sets
// held to an accuracy goal (noGoal[i] empty); -1 for both when there is none.
func cleanAndNoisy(unshared []float64, noGoal []string) (clean, noisy int) {
	clean, noisy = -1, -1
	for i, u := range unshared {
		if noGoal[i] != "" {
			continue
		}
		if clean < 0 || u < unshared[clean] {
			clean = i
		}
		if noisy < 0 || u > unshared[noisy] {
			noisy = i
		}
	}
	return clean, noisy
}

// speedReport times one bulk pass of 1,000 tenants against 5,000 clients, the index built once.
func speedReport(out io.Writer, dir string, ok bool, gl *goalList) (bool, error) {
	if !ok {
		gl.lines = append(gl.lines, "goal suggest-speed: not measured, no real-name data (target < 2.00 s)")
		return true, nil
	}
	recs, err := loadROR(dir)
	if err != nil {
		return false, err
	}
	var orgs []org
	for _, r := range recs {
		if o := r.org(); len(o.Names) >= 2 {
			orgs = append(orgs, o)
		}
	}
	slices.SortFunc(orgs, func(a, b org) int { return strings.Compare(a.ID, b.ID) })
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(orgs), func(i, j int) { orgs[i], orgs[j] = orgs[j], orgs[i] })
	orgs = orgs[:min(5000, len(orgs))]
	clients := make([]tenantsync.Client, len(orgs))
	for i, o := range orgs {
		clients[i] = tenantsync.Client{ID: o.ID, Name: o.Canonical}
		if o.Domain != "" {
			clients[i].Domains = []string{o.Domain}
		}
	}
	tenants := make([]tenantsync.Tenant, 1000)
	for i := range tenants {
		o := orgs[rng.IntN(len(orgs))]
		n := o.Names[1+rng.IntN(len(o.Names)-1)]
		tenants[i] = tenantsync.Tenant{ID: "t" + strconv.Itoa(i), DisplayName: n, InitialDomain: initialLabel(n, i) + ".onmicrosoft.com"}
	}
	sg, err := match.NewSuggester(clients, nil, match.SuggestConfig{})
	if err != nil {
		return false, err
	}
	best, bestCPU := time.Duration(1<<62), time.Duration(1<<62)
	for range 3 {
		var wall time.Duration
		cpu := fixture.ThreadCPU(func() {
			start := time.Now()
			sg.SuggestAll(tenants)
			wall = time.Since(start)
		})
		best, bestCPU = min(best, wall), min(bestCPU, cpu)
	}
	// One pass runs on one thread: its CPU time is what it costs; the wall time on this shared
	// machine adds whatever else runs.
	met := bestCPU < 2*time.Second
	fmt.Fprintf(out, "\nsuggest speed: %.2f s CPU (%.2f s wall) for %d tenants against %d clients, the index built once, best of 3\n",
		bestCPU.Seconds(), best.Seconds(), len(tenants), len(clients))
	gl.add("suggest-speed", bestCPU.Seconds(), "<", 2, "%.2f s")
	return met, nil
}

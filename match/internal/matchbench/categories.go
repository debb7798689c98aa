package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/tenantsync/tenantsync/match"
)

// Kinds of query, told apart by comparing the query with its right client's name, without the
// scorer: what the bench reports its misses by, and what "cleanest" and "noisiest" are measured
// by.
const (
	catScript  = "other script"        // a name in letters other than Latin, Cyrillic or Greek
	catAcronym = "acronym"             // one name is a single short word of capitals ("IBM", "PwC")
	catNoWord  = "no word in common"   // renamed, translated, a brand or parent's name
	catSame    = "same after folding"  // legal forms, case, diacritics, punctuation
	catParts   = "shares words, parts" // shares a word; commas or brackets add places or units
	catShares  = "shares words"        // shares a word otherwise
)

var catOrder = []string{catSame, catShares, catParts, catAcronym, catScript, catNoWord}

// category says what kind of variant q is of the client name canon.
func category(q, canon string) string {
	nq, nc := match.NormalizeCompanyName(q), match.NormalizeCompanyName(canon)
	if otherScript(nq) || otherScript(nc) {
		return catScript
	}
	if nq == nc || strings.ReplaceAll(nq, " ", "") == strings.ReplaceAll(nc, " ", "") {
		return catSame
	}
	if isAcronym(q) != isAcronym(canon) {
		return catAcronym
	}
	tq, tc := strings.Fields(nq), strings.Fields(nc)
	if !slices.ContainsFunc(tq, func(t string) bool { return len(t) > 1 && slices.Contains(tc, t) }) {
		return catNoWord
	}
	if strings.ContainsAny(q, ",;()[]") {
		return catParts
	}
	return catShares
}

// otherScript reports whether a normalised name keeps letters outside ASCII: the normaliser
// folds Latin diacritics and romanises Cyrillic and Greek, so what is left is Han, kana,
// Hangul, Arabic, Hebrew, Thai, Devanagari and the like.
func otherScript(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r > unicode.MaxASCII && unicode.IsLetter(r) })
}

// isAcronym reports whether s, legal forms aside, is one word of at most 8 letters written with
// two or more capitals ("IBM", "PwC", "AO VZKHE"). In a source written in capitals throughout
// (OFAC) every short one-word name counts.
func isAcronym(s string) bool {
	tok := match.NormalizeCompanyName(s)
	if strings.Contains(tok, " ") || len(tok) > 8 || tok == "" {
		return false
	}
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '.' }) {
		if match.NormalizeCompanyName(w) != tok {
			continue
		}
		upper := 0
		for _, r := range w {
			if unicode.IsUpper(r) {
				upper++
			}
		}
		return upper >= 2
	}
	return false
}

// catStats counts, per kind of query, the queries and the share of them with the right client
// in the top three, summed over seeds.
type catStats map[string]*struct{ N, Top1, Top3 float64 }

func (c catStats) add(cat string, top1, top3 float64) {
	s := c[cat]
	if s == nil {
		s = &struct{ N, Top1, Top3 float64 }{}
		c[cat] = s
	}
	s.N++
	s.Top1 += top1
	s.Top3 += top3
}

// unshared is the share of queries that share no word with the right client's name (other
// scripts, acronyms, different names): a measure of a set's noise that does not depend on the
// scorer.
func (c catStats) unshared() float64 {
	var n, u float64
	for k, s := range c {
		n += s.N
		if k == catScript || k == catAcronym || k == catNoWord {
			u += s.N
		}
	}
	if n == 0 {
		return 0
	}
	return u / n
}

// printCategories prints, per set, the kinds of query with their share of the set and of its
// top-3 misses, the kinds that lose most first.
func printCategories(out io.Writer, names []string, stats []catStats) {
	fmt.Fprintf(out, "\nmisses by kind of query (all seeds; a kind is found by comparing the query with the right client's name, not by the scorer):\n")
	tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  set\tkind\tshare of queries\ttop-1\ttop-3\ttop-3 misses (share of all queries)\t")
	for i, st := range stats {
		var total float64
		for _, s := range st {
			total += s.N
		}
		kinds := slices.Clone(catOrder)
		slices.SortStableFunc(kinds, func(a, b string) int {
			ma, mb := 0.0, 0.0
			if s := st[a]; s != nil {
				ma = s.N - s.Top3
			}
			if s := st[b]; s != nil {
				mb = s.N - s.Top3
			}
			return cmp.Compare(mb, ma)
		})
		for _, k := range kinds {
			s := st[k]
			if s == nil {
				continue
			}
			fmt.Fprintf(tw, "  %s\t%s\t%.3f\t%.3f\t%.3f\t%.3f\t\n", names[i], k, s.N/total, s.Top1/s.N, s.Top3/s.N, (s.N-s.Top3)/total)
		}
	}
	tw.Flush()
}

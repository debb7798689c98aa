// Package match decides which PSA contact an M365 user is, which contacts are duplicates of
// each other, and which PSA client a tenant belongs to. It does no I/O: the sync engine loads
// contacts, remembered links and merges from its store, builds an Index once per client, and
// asks it about each user.
//
// # Addresses
//
// ParseAddress turns what Exchange, Entra ID or a PSA holds into one canonical key: display-name
// forms are unwrapped, the domain is lowercased and converted to its IDNA A-label form, the
// local part is lowercased and NFC-normalised, and dots are kept (dropping them is a Gmail
// habit, not an SMTP rule). ParseProxyAddress reads Exchange proxyAddresses ("SMTP:" primary,
// "smtp:" alias, anything else is not an email), and DecodeGuestUPN recovers a B2B guest's home
// address from its "#EXT#" UPN, which is never used as an address as it stands.
//
// The A-label form ("xn--bcher-kva.de") is the canonical domain because it is the comparison
// form UTS #46 defines and the form DNS and Exchange route on, and because it is ASCII: two
// keys compare byte for byte, and the common ASCII domain canonicalises with a lowercase alone.
// Address.DomainUnicode gives the form to show a person.
//
// # Matching users to contacts
//
// Index.Match follows one cascade: a person's merge, a remembered link or a contact that stores
// the user's object ID (confidence 1); then the primary SMTP address (0.98); then any alias:
// smtp: proxies and mail (0.95), the UPN or a guest's decoded home address (0.93), otherMails
// (0.9), any onmicrosoft.com routing address (0.85); then, only when nothing matched exactly,
// the address with its "+tag" removed (0.75), which a person confirms. The first step with a
// hit decides. Shared, room and equipment mailboxes, guests and disabled users (unless
// allowed) and service accounts are excluded with the reason. Several candidate contacts make
// the result Ambiguous: it goes to a person and is never linked automatically; so does a
// contact already linked to another user.
//
//	ix, err := match.NewIndex(contacts, links, merges, match.Config{AutoCreate: true})
//	if err != nil {
//		return err
//	}
//	for i, r := range ix.MatchAll(users, mailboxTypes) {
//		switch {
//		case r.AutoLink:
//			link(users[i], r.ContactID)
//		case r.Outcome == match.Ambiguous, r.Outcome == match.Matched:
//			queueForReview(users[i], r.Candidates, r.ContactID, r.Reason)
//		case r.Create:
//			c, _ := match.ApplyUser(tenantsync.Contact{ClientID: client}, users[i], false)
//			create(c)
//		}
//	}
//
// Matching one user is a constant number of map lookups: one for the remembered link (behind
// a bit filter, so a user without one rarely pays for it), one per address the cascade reaches.
// The labelled fixture's figures (go run ./match/internal/matchbench) put the common case, a
// primary-address match, at about half the speed of a bare strings.ToLower and map lookup of
// the mail attribute, with no allocation, and a remembered link at twice its speed.
//
// # Tenants to clients
//
// A Suggester scores each client for a tenant from a stored tenant ID (1.0), the tenant's
// default domain among the client's domains (0.97) or a secondary one (0.88), the share of the
// client's contacts whose emails sit on a tenant domain (0.93 for half or more, down to 0.5 for
// a stray adviser's address), a subdomain relation (0.8), and the company name without its
// legal form (0.85 times the similarity). Public mail domains, onmicrosoft.com domains and the
// MSP's own domains (SuggestConfig.ExcludeDomains) are never domain evidence; the label of the
// initial onmicrosoft.com domain counts only as a name. Signals of different kinds reinforce
// each other: the strongest is raised by half the next one's share of what is left.
//
// A suggestion is auto-accepted only when its best candidate reaches 0.95, is at least 0.1
// ahead of the next and is not tied with it (tied candidates share Candidate.Rank): a name
// alone (at most 0.85) never is, nor are two clients with one name. When the best candidate's
// evidence is contacts' addresses and names, a credible runner-up (CredibleMin, which an exact
// name reaches, or a name read otherwise with evidence of another kind) also leaves the choice
// to a person: the directors of a holding company who use
// the operating company's domain do not link its tenant to the holding. So does, when the
// best candidate's evidence beyond its name is one or two contacts' addresses (no domain label
// of the tenant's spelling its name alone), another client whose name matches the tenant's
// about as well (within 0.05, at least as a name found whole does, as written: "Harbor Realty
// Coastal", "Harbor Realty" and "Coastal Realty"), or whose name the tenant's domain label
// spells and the best one's not. Otherwise the top five
// go to a person, each with its evidence in words ("name: "Sony Europa" ≈ "Sony Europe B.V."
// (0.97, rare token "sony" shared)").
//
// Names are split into parts (a comma, brackets or a spaced dash end one, so "DSM N.V.,
// Heerlen" and "Sony (Japan)" keep their first part), folded (diacritics, "ü" and "ue" alike,
// Cyrillic and Greek romanised), stripped of legal forms abbreviated or written out in many
// languages ("Naamloze Vennootschap", "Kabushiki Kaisha"), and compared word by word, each
// word weighted by how rare it is among the clients' names so that "Electronics" or "Group"
// count for little. Words match in part when one abbreviates the other ("Univ", "Intl"; letters
// that merely occur in order, "Mal" in "Mashoil", do not), differs by one slip, is the same word
// transliterated another way ("Kholding", "Holding"; "Kontakt", "Contact"; an English word in
// Russian letters, "Aviatreid", "Aviatrade", a reading), or the same word in
// another language or transliterated from Russian ("Nacional", "National"; "Tekhnologii",
// "Technologies"; "Kazanskii", "Kazan": a stem and the endings words take in those languages;
// a reading); a name found whole in the other counts 0.85; names run together
// ("ContosoTech") compare by character bigrams. Three or more single letters written with
// spaces are one word ("A T S" is "ATS"); letters "&" joins compare joined too ("J&B" is "JB").
// A short legal form is stripped from the front of a name only where such forms stand ("OOO
// Alfa", "PT Astra", "AB Volvo"): "AG Plumbing" keeps its "AG". Hints a person confirms: a kana
// or Hangul name romanised (Hepburn, Revised Romanisation), a kanji name read by a dictionary,
// or a Chinese name read in pinyin with its kinds translated ("华为技术", "Huawei
// Technologies"), that sounds or is spelled like a Latin one, or whose first word does, or a
// Japanese name whose name before its kind sounds like the Latin words before the kind
// translated ("武藤工業", "mutou kougyou", "Mutoh Industries"; 0.8) (EvidenceNameSound, at
// most 0.9),
// and every match that reads a word of one name as something else. Those readings never lead
// to an automatic acceptance without proof, whatever else agrees (contacts' addresses): initials,
// read from the words as written and skipping stop words and elided articles ("IBM"; "GIF",
// Groupe d'Investissement Financier), taking in the legal form or leaving out generic words
// and places, kept with their stop words ("BOA"), with a letter for each capital inside a word
// ("GSK", GlaxoSmithKline), a mixed-case acronym read by its capitals ("PwC",
// PricewaterhouseCoopers; "EnBW"), closed by "co" ("Sisco"), of a name's first
// words ("WDO" for Welfare and Development Organization of …), of a run of the other's words
// ("ISIS-WA"), read in Russian from the English name that translates it ("BAZ" for Bryansk
// Automobile Plant, Bryanskii Avtomobilnyi Zavod); the words of a transliterated Russian name
// read in English by the same table ("Zavod", "Plant"), when the name is Russian (two such
// words, or one and a Russian legal form: "Zavod Sonce" is Slovenian); the trade words of a
// name in Russian, Farsi, Arabic, Turkish or a Romance language read in English by a table of
// trades and kinds, never names, a Russian word with every ending Russian gives it ("Silovye
// Mashiny", "Power Machines"; "Sanaye Mokhaberat Iran", "Iran Communication Industries"), when
// two of the name's words are in the table, or one beside a Russian legal form, and the names
// as written match less ("OOO Almaz" is "Almaz" still; a domain label is compared with the
// name as written); an abbreviation of a kind of organisation
// ("NPO", "TD": a trading house, or Toronto-Dominion); a word made of the starts of the other's
// words ("Iralco", Iran Aluminum Company); a word transliterated or spelled otherwise ("Filips",
// "Philips"); a number written out ("Seven", "7"; "First", "1st"); a rare word shared. Initials
// and abbreviations score at most 0.84, below a name found whole in the other as written: a
// client named "Case" comes before Chicago Area Storage Enterprises. The label of the tenant's
// domain read as a client's initials ("bhp.com", Blue Hill Plumbing) or with another number,
// a compass point read from its initials ("NE", Northeast), names whose numbers differ
// ("Sparkle Cleaning 214", "… 117"), or whose single-letter initials differ ("J&A", "J&E";
// "A Smith", "E Smith"; an elided article or a conjunction is no initial), names alike once
// the legal forms they open with are left out, when one has two letters the other name lacks
// ("AB Plumbing", "Plumbing Ltd"; not "AB Volvo", "Volvo AB"), names alike only letter by letter ("Blue Harbor",
// "Blue Hill"; and then a domain label alike but not the same) and names whose first parts
// share words while each has one of its own ("Sparkle
// Cleaning Denver", "Sparkle Cleaning Boulder": then the domain label "sparklecleaning" says
// nothing either; a site after a dash or in brackets only qualifies a name) are
// readings too. What a reading adds is left out when judging whether a candidate reaches the
// automatic line: a name as written or a domain label may still take it. When a fifth or more
// of a second client's contacts use the tenant's domain too, a person chooses: the domain may
// be an outside adviser's, a franchise's or a group's; unless the best client bears the
// tenant's exact name and the other nothing of it. The
// dictionary (IPADIC) is in package match/kanji, which a program imports to have kanji names
// read (RegisterKanjiReader): it adds about 13 MB to a binary and is loaded the first time a
// name holds Han characters (about a second and 90 MB of memory). The pinyin table is in
// package match/hanzi (RegisterPinyinReader; about 1 MB and 2 MB of memory). A
// name index offers only the clients that share a word, a word's start or initials with the
// tenant, so a bulk pass does not compare every tenant with every client. The real-name
// figures (public registries, go run ./match/internal/matchbench with the data fetched by its
// fetchdata.sh) are in BENCHMARKS.md. Names count from 0.5.
//
// # Guarantees
//
//   - Identity is (tenant ID, object ID), compared without regard to case as the GUIDs they
//     are: a merge, a remembered link or a contact that stores the user's identity wins over
//     any address and over every exclusion, so the contact a crashed sync created for a user
//     is found again even when the user has no email address.
//   - One candidate links; none creates (when allowed); more than one goes to a person.
//   - A contact linked to one user is never linked to a second.
//   - Blank never overwrites: ApplyUser fills a contact from a user without erasing anything.
//   - Results are deterministic: the same input gives the same output in the same order,
//     whatever the order of clients or contacts.
package match

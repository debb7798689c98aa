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
// # Matching users to contacts
//
// Index.Match follows one cascade: a person's merge, a remembered link or a contact that stores
// the user's object ID; then the primary SMTP address; then any alias (proxyAddresses, mail,
// otherMails, UPN); then, only when nothing matched exactly, the address with its "+tag"
// removed, at a confidence too low to link without a person. Shared, room and equipment
// mailboxes, guests and disabled users (unless allowed) and service accounts are excluded with
// the reason. Several candidate contacts make the result Ambiguous: it goes to a person and is
// never linked automatically.
//
//	ix, err := match.NewIndex(contacts, links, merges, match.Config{AutoCreate: true})
//	if err != nil {
//		return err
//	}
//	for _, u := range users {
//		r := ix.Match(u, mailboxTypes[u.ObjectID])
//		switch {
//		case r.AutoLink:
//			link(u, r.ContactID)
//		case r.Outcome == match.Ambiguous:
//			queueForReview(u, r.Candidates, r.Reason)
//		case r.Create:
//			create(u)
//		}
//	}
//
// # Tenants to clients
//
// A Suggester scores each client for a tenant from a stored tenant ID, verified domains shared
// with the client or its contacts, and the company name without its legal form. Public mail
// domains and onmicrosoft.com domains are never domain evidence. A suggestion is auto-accepted
// only when its best candidate is strong, unique and clearly ahead of the next; otherwise a
// person picks from the top candidates.
//
// # Guarantees
//
//   - Identity is (tenant ID, object ID): a remembered link or merge wins over any address.
//   - One candidate links; none creates (when allowed); more than one goes to a person.
//   - A contact linked to one user is never linked to a second.
//   - Results are deterministic: the same input gives the same output in the same order.
package match

// Command match-contacts reads a PSA's contacts and Microsoft 365 users from CSV files and prints
// what tenantsync's matcher would do with each user (linked, matched, ambiguous, none, excluded,
// with the reason) and the duplicate contacts a person should merge.
//
// With no flags it uses the sample files beside it:
//
//	go run ./examples/match-contacts
//	go run ./examples/match-contacts -contacts psa.csv -users m365.csv -auto-create
//
// contacts.csv columns: id, client_id, first_name, last_name, email, alt_emails (";"-separated),
// active. users.csv columns: client_id (the client the user's tenant is linked to), tenant_id,
// object_id, upn, display_name, mail, proxy_addresses and other_mails (";"-separated),
// account_enabled, user_type (Member or Guest), mailbox_type (user, shared, room, equipment or
// empty).
package main

import (
	"embed"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
)

//go:embed testdata/*.csv
var samples embed.FS

func main() {
	err := run(os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "match-contacts:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fl := flag.NewFlagSet("match-contacts", flag.ContinueOnError)
	fl.SetOutput(out)
	fl.Usage = func() {
		fmt.Fprint(out, usage)
		fl.PrintDefaults()
	}
	contactsFile := fl.String("contacts", "", "PSA contacts CSV (default: the bundled sample)")
	usersFile := fl.String("users", "", "M365 users CSV (default: the bundled sample)")
	autoCreate := fl.Bool("auto-create", true, "report unmatched people as contacts to create")
	allowGuests := fl.Bool("allow-guests", false, "match and create B2B guests too")
	if err := fl.Parse(args); err != nil {
		return err
	}
	contacts, err := readContacts(open(*contactsFile, "testdata/contacts.csv"))
	if err != nil {
		return err
	}
	users, clientOf, err := readUsers(open(*usersFile, "testdata/users.csv"))
	if err != nil {
		return err
	}
	report(out, contacts, users, clientOf, match.Config{AutoCreate: *autoCreate, AllowGuests: *allowGuests})
	return nil
}

const usage = `match-contacts: what tenantsync's matcher would do with your PSA's contacts and your
Microsoft 365 users, read from two CSV files, without touching either system.

For every user it prints the outcome (linked, matched, ambiguous, none, excluded), the contact
and the reason, then the duplicate contacts a person should merge. With no flags it reads the
sample files bundled with it.

Both files are UTF-8 CSV with a header row naming the columns, in any order; columns not listed
are ignored. Lists are ";"-separated. Booleans are true or false (empty means true).

-contacts (the PSA's contacts), one row per contact:
  id             the PSA's contact ID                                  required
  client_id      the PSA client (company) the contact belongs to       required
  email          primary email address                                 required (may be empty)
  first_name     given name
  last_name      surname
  alt_emails     other addresses of the contact, ";"-separated
  active         false for a deactivated contact

-users (Microsoft 365 users, e.g. exported from Entra ID), one row per user:
  client_id      the PSA client the user's tenant is linked to          required
  tenant_id      the user's tenant ID                                   required
  object_id      the user's object ID                                   required
  upn            userPrincipalName                                      required
  display_name   display name
  mail           primary SMTP address
  proxy_addresses  Exchange addresses with their prefix, ";"-separated
                 (SMTP:primary;smtp:alias); other prefixes are ignored
  other_mails    alternate addresses, ";"-separated
  account_enabled  false for a blocked account
  user_type      Member (default) or Guest
  mailbox_type   user, shared, room, equipment, or empty for none

Example:
  go run ./examples/match-contacts -contacts psa.csv -users m365.csv -auto-create

Flags:
`

// open returns the named file, or the bundled sample when name is empty.
func open(name, sample string) func() (io.ReadCloser, string, error) {
	return func() (io.ReadCloser, string, error) {
		if name == "" {
			f, err := samples.Open(sample)
			return f, "sample " + sample, err
		}
		f, err := os.Open(name)
		return f, name, err
	}
}

// readCSV reads a CSV with a header row into maps keyed by column name.
func readCSV(src func() (io.ReadCloser, string, error), required ...string) ([]map[string]string, error) {
	f, name, err := src()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: reading the header row: %w", name, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, c := range required {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("%s: no %q column (the header row must name %s)", name, c, strings.Join(required, ", "))
		}
	}
	var rows []map[string]string
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) || errors.Is(err, fs.ErrClosed) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", name, line, err)
		}
		row := map[string]string{}
		for c, i := range col {
			if i < len(rec) {
				row[c] = strings.TrimSpace(rec[i])
			}
		}
		rows = append(rows, row)
	}
}

func list(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func readContacts(src func() (io.ReadCloser, string, error)) ([]tenantsync.Contact, error) {
	rows, err := readCSV(src, "id", "client_id", "email")
	if err != nil {
		return nil, err
	}
	out := make([]tenantsync.Contact, 0, len(rows))
	for _, r := range rows {
		out = append(out, tenantsync.Contact{ID: r["id"], ClientID: r["client_id"], FirstName: r["first_name"], LastName: r["last_name"],
			Email: r["email"], AltEmails: list(r["alt_emails"]), Active: r["active"] != "false"})
	}
	return out, nil
}

func readUsers(src func() (io.ReadCloser, string, error)) ([]tenantsync.User, map[string]string, error) {
	rows, err := readCSV(src, "client_id", "tenant_id", "object_id", "upn")
	if err != nil {
		return nil, nil, err
	}
	users := make([]tenantsync.User, 0, len(rows))
	clientOf := map[string]string{}
	for _, r := range rows {
		u := tenantsync.User{TenantID: r["tenant_id"], ObjectID: r["object_id"], UserPrincipalName: r["upn"], DisplayName: r["display_name"],
			Mail: r["mail"], ProxyAddresses: list(r["proxy_addresses"]), OtherMails: list(r["other_mails"]),
			AccountEnabled: r["account_enabled"] != "false", UserType: r["user_type"]}
		if u.UserType == "" {
			u.UserType = "Member"
		}
		users = append(users, u)
		clientOf[u.TenantID+"/"+u.ObjectID] = r["client_id"]
		clientOf[u.TenantID+"/"+u.ObjectID+"#mailbox"] = r["mailbox_type"]
	}
	return users, clientOf, nil
}

// report matches every user against its client's contacts and prints the outcome, then the
// duplicates.
func report(out io.Writer, contacts []tenantsync.Contact, users []tenantsync.User, clientOf map[string]string, cfg match.Config) {
	byClient := map[string][]tenantsync.Contact{}
	for _, c := range contacts {
		byClient[c.ClientID] = append(byClient[c.ClientID], c)
	}
	indexes := map[string]*match.Index{}
	counts := map[match.Outcome]int{}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tCLIENT\tOUTCOME\tCONTACT\tCONFIDENCE\tREASON")
	for _, u := range users {
		key := u.TenantID + "/" + u.ObjectID
		client := clientOf[key]
		ix, ok := indexes[client]
		if !ok {
			var err error
			ix, err = match.NewIndex(byClient[client], nil, nil, cfg)
			if err != nil {
				fmt.Fprintln(out, "match-contacts:", err)
				return
			}
			indexes[client] = ix
		}
		res := ix.Match(u, tenantsync.MailboxType(clientOf[key+"#mailbox"]))
		counts[res.Outcome]++
		contact := res.ContactID
		if len(res.Candidates) > 0 {
			contact = strings.Join(res.Candidates, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f\t%s\n", u.UserPrincipalName, client, res.Outcome, dash(contact), res.Confidence, res.Reason)
	}
	tw.Flush()

	outcomes := make([]string, 0, len(counts))
	for o, n := range counts {
		outcomes = append(outcomes, fmt.Sprintf("%s %d", o, n))
	}
	sort.Strings(outcomes)
	fmt.Fprintf(out, "\n%d users: %s\n", len(users), strings.Join(outcomes, ", "))

	d := match.Dedup(contacts, users)
	fmt.Fprintf(out, "\nDuplicates (%d contacts and %d users checked):\n", d.ContactsSeen, d.UsersSeen)
	if len(d.Duplicates) == 0 {
		fmt.Fprintln(out, "  none")
	}
	for _, g := range d.Duplicates {
		who := strings.Join(g.ContactIDs, ", ")
		if len(g.Users) > 0 {
			var ids []string
			for _, u := range g.Users {
				ids = append(ids, u.TenantID+"/"+u.ObjectID)
			}
			who = strings.Join(ids, ", ")
		}
		fmt.Fprintf(out, "  %s %s [%s]: %s. %s\n", g.Kind, dash(g.ClientID), who, g.Reason, g.Action)
	}
	for _, ix := range indexes {
		for _, s := range ix.Skipped() {
			fmt.Fprintf(out, "  skipped: %+v\n", s)
		}
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

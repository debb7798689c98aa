package match_test

import (
	"fmt"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
)

func ExampleParseAddress() {
	for _, s := range []string{"\"José García\" <JOSE\u0301.Garcia@Bücher.DE>", "Sales+EU@Contoso.com", "x500:/o=Contoso"} {
		a, err := match.ParseAddress(s)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Printf("%s (%s)\n", a, a.DomainUnicode())
	}
	// Output:
	// josé.garcia@xn--bcher-kva.de (bücher.de)
	// sales+eu@contoso.com (contoso.com)
	// error: match: not an email address (malformed address or display-name form): "x500:/o=Contoso"
}

func ExampleDecodeGuestUPN() {
	a, err := match.DecodeGuestUPN("jane.doe_gmail.com#EXT#@contoso.onmicrosoft.com")
	fmt.Println(a, err)
	// Output: jane.doe@gmail.com <nil>
}

func ExampleIndex_Match() {
	contacts := []tenantsync.Contact{
		{ID: "c1", Email: "jane.doe@contoso.com"},
		{ID: "c2", Email: "J.Smith@contoso.com"},
		{ID: "c3", Email: "j.smith@contoso.com"},
		{ID: "c4"},
	}
	// A person decided earlier that user u4 is contact c4.
	merges := []match.Merge{{User: match.Identity{TenantID: "t", ObjectID: "u4"}, ContactID: "c4", By: "tech@msp.example"}}
	ix, err := match.NewIndex(contacts, nil, merges, match.Config{AutoCreate: true})
	if err != nil {
		panic(err)
	}
	users := []struct {
		u   tenantsync.User
		box tenantsync.MailboxType
	}{
		{tenantsync.User{TenantID: "t", ObjectID: "u1", Mail: "Jane.Doe@Contoso.com", AccountEnabled: true}, tenantsync.MailboxUser},
		{tenantsync.User{TenantID: "t", ObjectID: "u2", Mail: "j.smith@contoso.com", AccountEnabled: true}, tenantsync.MailboxUser},
		{tenantsync.User{TenantID: "t", ObjectID: "u3", Mail: "info@contoso.com", AccountEnabled: true}, tenantsync.MailboxShared},
		{tenantsync.User{TenantID: "t", ObjectID: "u4", Mail: "jane.doe@contoso.com", AccountEnabled: true}, tenantsync.MailboxUser},
		{tenantsync.User{TenantID: "t", ObjectID: "u5", Mail: "new.hire@contoso.com", AccountEnabled: true}, tenantsync.MailboxUser},
	}
	for _, x := range users {
		r := ix.Match(x.u, x.box)
		fmt.Printf("%s: %s %s%v auto=%v create=%v (%s)\n", x.u.ObjectID, r.Outcome, r.ContactID, r.Candidates, r.AutoLink, r.Create, r.Reason)
	}
	// Output:
	// u1: matched c1[] auto=true create=false (one contact has the user's primary address)
	// u2: ambiguous [c2 c3] auto=false create=false (2 contacts match the user's addresses (j.smith@contoso.com); a person decides which one, or merges them)
	// u3: excluded [] auto=false create=false (shared mailbox: not a person's)
	// u4: linked c4[] auto=true create=false (a person merged this user with the contact)
	// u5: none [] auto=false create=true (no contact has any of the user's addresses; a contact may be created)
}

func ExampleSuggest() {
	clients := []tenantsync.Client{
		{ID: "cl-1", Name: "Contoso Ltd", Domains: []string{"contoso.com"}},
		{ID: "cl-2", Name: "Summit Dental"},
		{ID: "cl-3", Name: "Summit Legal LLC"},
	}
	tenants := []tenantsync.Tenant{
		{ID: "t-1", DisplayName: "Contoso Group", DefaultDomain: "contoso.com", InitialDomain: "contosogroup.onmicrosoft.com"},
		{ID: "t-2", DisplayName: "Summit Dental Pty. Limited", DefaultDomain: "summitdental.com.au"},
	}
	out, err := match.Suggest(tenants, clients, nil, match.SuggestConfig{})
	if err != nil {
		panic(err)
	}
	for _, s := range out {
		fmt.Printf("%s auto=%v client=%q\n", s.TenantName, s.AutoAccept, s.ClientID)
		for _, c := range s.Candidates {
			fmt.Printf("  %s %.2f %s\n", c.ClientName, c.Confidence, c.Signals[0].Evidence)
		}
	}
	// Output:
	// Contoso Group auto=true client="cl-1"
	//   Contoso Ltd 0.98 default-domain
	// Summit Dental Pty. Limited auto=false client=""
	//   Summit Dental 0.85 name
}

package tenantsync_test

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/tenantsync/tenantsync"
)

// Errors from every package carry a class for errors.Is, and details for the person who has
// to act on them.
func ExampleClassOf() {
	err := fmt.Errorf("sync contoso: %w", &tenantsync.Error{
		Class: tenantsync.ErrRoleMissing, Service: "graph", Op: "ListUsers", Status: 403,
		Hint: "add the Directory Readers role to the GDAP relationship",
	})
	fmt.Println(errors.Is(err, tenantsync.ErrForbidden)) // a missing role is a refusal too
	fmt.Println(tenantsync.ClassName(tenantsync.ClassOf(err)))
	fmt.Println(tenantsync.HintOf(err))
	// Output:
	// true
	// role_missing
	// add the Directory Readers role to the GDAP relationship
}

// A Secret prints as [REDACTED] whatever the verb or logger; Reveal is the only way to its value.
func ExampleSecret() {
	s := tenantsync.NewSecret("client-secret-value")
	cfg := struct {
		ClientID string
		Secret   tenantsync.Secret
	}{"app-id", s}
	fmt.Printf("%v %+v %#v\n", s, cfg, s)
	slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: dropTime})).Info("connect", "secret", s)
	fmt.Println(len(s.Reveal()))
	// Output:
	// [REDACTED] {ClientID:app-id Secret:[REDACTED]} [REDACTED]
	// level=INFO msg=connect secret=[REDACTED]
	// 19
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// A kind a source did not answer for reads as Unavailable, never as an empty listing.
func ExampleFetchResult_Result() {
	res := &tenantsync.FetchResult{TenantID: "t1", Kinds: map[tenantsync.Kind]*tenantsync.KindResult{
		tenantsync.KindUsers: {Kind: tenantsync.KindUsers, Mode: tenantsync.Complete,
			Users: []tenantsync.User{{ObjectID: "u1", DisplayName: "Ada"}}},
	}}
	for _, k := range []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindDevices} {
		r := res.Result(k)
		fmt.Println(k, r.Mode, r.Len(), errors.Is(r.Err, tenantsync.ErrUnsupported))
	}
	// Output:
	// users complete 1 false
	// devices unavailable 0 true
}

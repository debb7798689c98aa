package paging_test

import (
	"errors"
	"fmt"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/paging"
)

func ExampleWalk() {
	pages := map[string]struct {
		names []string
		next  string
	}{
		"":      {[]string{"Contoso", "Fabrikam"}, "tok-2"},
		"tok-2": {[]string{"Northwind"}, ""},
	}
	seq := paging.Walk(paging.Bounds{
		MaxPages: 10,
		TooMany:  func() error { return errors.New("more than 10 pages") },
		Loop:     func() error { return errors.New("the continuation token repeated") },
	}, func(cursor string) (tenantsync.Page[string], error) {
		p := pages[cursor]
		return tenantsync.Page[string]{Items: p.names, Next: p.next}, nil
	})
	names, err := paging.Collect(seq)
	fmt.Println(names, err)
	// Output: [Contoso Fabrikam Northwind] <nil>
}

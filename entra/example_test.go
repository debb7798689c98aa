package entra_test

import (
	"errors"
	"fmt"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/entra"
)

func ExampleMapError() {
	body := []byte(`{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 0000aaaa","error_codes":[7000215],"trace_id":"0000aaaa"}`)
	err := entra.MapError(&entra.ResponseError{StatusCode: 401, Body: body}, "graph", "")
	fmt.Println(errors.Is(err, tenantsync.ErrUnauthorized), err.Code, err.RequestID)
	fmt.Println(err.Hint)
	// Output:
	// true AADSTS7000215 0000aaaa
	// the client secret is wrong: copy the secret value, not its ID
}

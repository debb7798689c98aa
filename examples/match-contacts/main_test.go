package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSampleReport(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, run(nil, &out))
	for _, want := range []string{
		"14 users: ambiguous 2, excluded 6, matched 5, none 1",
		"shared mailbox",
		"same-address contoso [c2, c3]",
		"same-user-two-tenants",
	} {
		assert.Contains(t, out.String(), want)
	}
}

func TestGuestsAllowed(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, run([]string{"-allow-guests"}, &out))
	assert.NotContains(t, out.String(), "guest user from another organisation")
}

func TestMissingColumn(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "contacts.csv")
	require.NoError(t, os.WriteFile(f, []byte("id,name\n1,x\n"), 0o600))
	err := run([]string{"-contacts", f}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `no "client_id" column`)
}

// -help names every column the files are read with, and which are required.
func TestHelpDescribesTheColumns(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run([]string{"-help"}, &out)
	require.ErrorIs(t, err, flag.ErrHelp)
	for _, col := range []string{"id", "client_id", "first_name", "last_name", "email", "alt_emails", "active",
		"tenant_id", "object_id", "upn", "display_name", "mail", "proxy_addresses", "other_mails",
		"account_enabled", "user_type", "mailbox_type"} {
		assert.Regexp(t, `(?m)^  `+col+`\s`, out.String(), "column %s is described", col)
	}
	assert.Contains(t, out.String(), "-contacts")
	assert.Contains(t, out.String(), "required")
}

package postgres_test

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/storetest"
)

// The secret's plaintext must appear in no table: dump the text form of every row of every
// table of the schema and search it for the plaintext, raw and hex-encoded (bytea renders as hex).
func TestSecretPlaintextInNoTable(t *testing.T) {
	t.Parallel()
	const plaintext = "PLAINTEXT-pg-secret-9fK2vQ"
	const configMarker = "cfg-marker-6d1e"
	keys := storetest.NewKeys(t)
	s := open(t, keys)
	ctx := t.Context()
	acct := fmt.Sprint("secret-acct-", configMarker)
	for _, name := range []string{"cipp", "graph"} {
		require.NoError(t, s.Account(acct).Connections.Put(ctx, store.Connection{Name: name, Kind: store.ConnectionKind(name),
			Config: []byte(`{"marker":"` + configMarker + `"}`), Secret: store.NewSecret(plaintext)}))
	}
	got, err := s.Account(acct).Connections.Get(ctx, "cipp")
	require.NoError(t, err)
	require.Equal(t, plaintext, got.Secret.Reveal())

	dump := func(when string) {
		c, err := pgx.Connect(ctx, dsn)
		require.NoError(t, err)
		defer c.Close(ctx)
		rows, err := c.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`, schema)
		require.NoError(t, err)
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		require.Contains(t, tables, "connections")
		var all strings.Builder
		for _, table := range tables {
			ident := pgx.Identifier{schema, table}.Sanitize()
			rows, err := c.Query(ctx, `SELECT t::text FROM `+ident+` t`)
			require.NoError(t, err)
			texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
			require.NoError(t, err)
			for _, text := range texts {
				all.WriteString(text)
				all.WriteByte('\n')
			}
		}
		text := all.String()
		assert.Contains(t, text, configMarker, "%s: the dump must include the connection rows", when)
		assert.NotContains(t, text, plaintext, "%s: plaintext found in a table", when)
		assert.NotContains(t, strings.ToLower(text), hex.EncodeToString([]byte(plaintext)), "%s: hex-encoded plaintext found in a table", when)
	}
	dump("stored")
	keys.Rotate(t, "k2")
	n, err := s.Account(acct).Connections.RotateSecrets(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	dump("rotated")
}

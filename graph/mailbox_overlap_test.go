package graph_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/transport"
)

// roundStub is a Graph that answers one users delta round in two pages and the mailbox types
// of its users, and can hold the second page back until a mailbox-type $batch has arrived.
type roundStub struct {
	srv      *httptest.Server
	page1    []map[string]any
	page2    []map[string]any
	purposes map[string]string // user ID → userPurpose; missing: 404

	holdPage2    bool
	onPage2      func()        // runs under mu before page 2 is answered
	purposeBatch chan struct{} // closed at the first mailbox-type $batch
	once         sync.Once
	overlapped   atomic.Bool // a mailbox-type $batch arrived while page 2 was held
	mu           sync.Mutex
	looked       map[string]int // user ID → times its type was read
}

func newRoundStub(t *testing.T) *roundStub {
	s := &roundStub{purposes: map[string]string{}, purposeBatch: make(chan struct{}), looked: map[string]int{}}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *roundStub) page(users []map[string]any, next string) map[string]any {
	p := map[string]any{"value": users}
	if next != "" {
		p["@odata.nextLink"] = next
	} else {
		p["@odata.deltaLink"] = s.srv.URL + "/v1.0/users/delta?$deltatoken=end"
	}
	return p
}

func (s *roundStub) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/$batch"):
		var body struct{ Requests []graph.BatchRequest }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var out []graph.BatchResponse
		for _, it := range body.Requests {
			switch {
			case strings.HasPrefix(it.URL, "/users/delta"):
				b, _ := json.Marshal(s.page(s.page1, s.srv.URL+"/v1.0/users/delta?$skiptoken=page2"))
				out = append(out, graph.BatchResponse{ID: it.ID, Status: 200, Body: b})
			case strings.HasSuffix(it.URL, "/mailboxSettings/userPurpose"):
				s.once.Do(func() { close(s.purposeBatch) })
				id := strings.Split(it.URL, "/")[2]
				s.mu.Lock()
				s.looked[id]++
				p, ok := s.purposes[id]
				s.mu.Unlock()
				if ok {
					out = append(out, graph.BatchResponse{ID: it.ID, Status: 200, Body: json.RawMessage(fmt.Sprintf(`{"value":%q}`, p))})
				} else {
					out = append(out, graph.BatchResponse{ID: it.ID, Status: 404, Body: json.RawMessage(`{"error":{"code":"ErrorItemNotFound","message":"no mailbox"}}`)})
				}
			default:
				out = append(out, graph.BatchResponse{ID: it.ID, Status: 404, Body: json.RawMessage(`{"error":{"code":"NotFound","message":"not in this stub"}}`)})
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"responses": out})
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/users/delta") && r.URL.Query().Get("$skiptoken") == "page2":
		if s.holdPage2 {
			select {
			case <-s.purposeBatch:
				s.overlapped.Store(true)
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
				return
			}
		}
		s.mu.Lock()
		if s.onPage2 != nil {
			s.onPage2()
		}
		s.mu.Unlock()
		_ = json.NewEncoder(w).Encode(s.page(s.page2, ""))
	default:
		http.Error(w, `{"error":{"code":"NotFound","message":"not in this stub"}}`, http.StatusNotFound)
	}
}

func (s *roundStub) source(t *testing.T) *graph.Source {
	t.Helper()
	c, err := graph.NewClient(graph.Config{PartnerTenantID: testTenant, ClientID: testApp, BaseURL: s.srv.URL,
		Settings: transport.Settings{HTTPClient: s.srv.Client()}, TokenSource: staticTokens("token")})
	require.NoError(t, err)
	return newSource(t, c)
}

// mailUsers puts n users with a mail address and a user mailbox (u00, u01, ...) on page 1.
func (s *roundStub) mailUsers(n int) {
	for i := range n {
		id := fmt.Sprintf("u%02d", i)
		s.page1 = append(s.page1, stubUser(id, id+"@contoso.example"))
		s.purposes[id] = "user"
	}
}

func stubUser(id, mail string) map[string]any {
	u := map[string]any{"id": id, "userPrincipalName": id + "@contoso.example", "displayName": id, "accountEnabled": true}
	if mail != "" {
		u["mail"] = mail
	}
	return u
}

// The mailbox types of a large tenant's users are read while its users round is still being
// paged, not after it: the stub holds the round's second page until a mailbox-type $batch has
// arrived (five seconds at most), which only a fetch that reads types page by page sends.
func TestMailboxTypesOverlapTheUsersRound(t *testing.T) {
	t.Parallel()
	s := newRoundStub(t)
	s.holdPage2 = true
	s.mailUsers(40)
	s.page2 = []map[string]any{stubUser("u99", "u99@contoso.example")}
	s.purposes["u99"] = "shared"

	res, err := s.source(t).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: testTenant,
		Kinds: []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindMailboxes}})
	require.NoError(t, err)
	require.NoError(t, res.Result(tenantsync.KindUsers).Err)
	require.NoError(t, res.Result(tenantsync.KindMailboxes).Err)
	assert.True(t, s.overlapped.Load(), "no mailbox type was read before the users round ended")
	assert.Len(t, res.Result(tenantsync.KindUsers).Users, 41)
	assert.Len(t, res.Result(tenantsync.KindMailboxes).Mailboxes, 41)
	assert.Equal(t, 1+1+3, res.RoundTrips, "the first $batch, the second page and one $batch per 20 users with mail (41): no more than reading them afterwards")
}

// The users the round reports in the end decide the mailboxes kind: a user first reported
// without a mail address and later with one has its type read, a user the round later reports
// deleted has no mailbox, and no user's type is read twice.
func TestMailboxTypesFollowTheRoundsLastWord(t *testing.T) {
	t.Parallel()
	s := newRoundStub(t)
	s.mailUsers(20)
	s.page1 = append(s.page1, stubUser("late", ""), stubUser("gone", "gone@contoso.example"))
	s.purposes["late"], s.purposes["gone"] = "shared", "user"
	s.page2 = []map[string]any{stubUser("late", "late@contoso.example"), {"id": "gone", "@removed": map[string]any{"reason": "changed"}}}

	res, err := s.source(t).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: testTenant,
		Kinds: []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindMailboxes}})
	require.NoError(t, err)
	mb := res.Result(tenantsync.KindMailboxes)
	require.NoError(t, mb.Err)
	types := map[string]tenantsync.MailboxType{}
	for _, m := range mb.Mailboxes {
		types[m.ObjectID] = m.Type
	}
	assert.Len(t, types, 21)
	assert.Equal(t, tenantsync.MailboxShared, types["late"], "first reported without mail, then with it")
	assert.NotContains(t, types, "gone", "reported deleted later in the round")
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, n := range s.looked {
		assert.Equal(t, 1, n, "the type of %s was read %d times", id, n)
	}
	assert.Equal(t, 1, s.looked["late"])
}

// A user the round reports again after its type was read changed while the round was paged:
// its type is read again once the round has ended, and the later answer is the one kept. Here
// the mailbox is converted to shared between the two pages.
func TestMailboxTypeReadAgainForAUserReportedAgain(t *testing.T) {
	t.Parallel()
	s := newRoundStub(t)
	s.holdPage2 = true
	s.mailUsers(20)
	s.page2 = []map[string]any{stubUser("u07", "u07@contoso.example")}
	s.onPage2 = func() { s.purposes["u07"] = "shared" }

	res, err := s.source(t).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: testTenant,
		Kinds: []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindMailboxes}})
	require.NoError(t, err)
	mb := res.Result(tenantsync.KindMailboxes)
	require.NoError(t, mb.Err)
	require.True(t, s.overlapped.Load(), "the first types were read while the round was paged")
	types := map[string]tenantsync.MailboxType{}
	for _, m := range mb.Mailboxes {
		types[m.ObjectID] = m.Type
	}
	assert.Len(t, types, 20)
	assert.Equal(t, tenantsync.MailboxShared, types["u07"], "the type read before the user changed was kept")
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.Equal(t, 2, s.looked["u07"])
	assert.Equal(t, 1, s.looked["u03"])
}

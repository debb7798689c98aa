package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/tenantsync/tenantsync/store"
)

// Outcome reads the stored form of a resolution back as the typed value it was written from.
func TestReviewOutcome(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name   string
		review store.Review
		want   store.Resolution
	}{
		{"open", store.Review{ID: "r1"}, store.Resolution{}},
		{"link", store.Review{Resolved: true, Resolution: "link:contact-7", ResolvedBy: "alice", ResolvedAt: at},
			store.Resolution{Action: store.ResolveLink, ContactID: "contact-7", By: "alice", At: at}},
		{"link to a contact named create", store.Review{Resolved: true, Resolution: "link:create", ResolvedBy: "alice", ResolvedAt: at},
			store.Resolution{Action: store.ResolveLink, ContactID: "create", By: "alice", At: at}},
		{"link stored before v1", store.Review{Resolved: true, Resolution: "contact-7", ResolvedBy: "alice", ResolvedAt: at},
			store.Resolution{Action: store.ResolveLink, ContactID: "contact-7", By: "alice", At: at}},
		{"create", store.Review{Resolved: true, Resolution: "create", ResolvedBy: "bob", ResolvedAt: at},
			store.Resolution{Action: store.ResolveCreate, By: "bob", At: at}},
		{"ignore", store.Review{Resolved: true, Resolution: "ignore", ResolvedBy: "bob", ResolvedAt: at},
			store.Resolution{Action: store.ResolveIgnore, By: "bob", At: at}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, tt.review.Outcome())
			if tt.review.Resolved && tt.name != "link stored before v1" {
				assert.Equal(t, tt.review.Resolution, store.StoredResolution(tt.want), "the stored form round-trips")
			}
		})
	}
}

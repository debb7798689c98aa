package onetime

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestTakeOnceAndExpiry(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	s := New(func(e time.Time) time.Time { return e })
	s.Put("a", now.Add(time.Minute), now)
	s.Put("old", now.Add(time.Second), now)
	got, ok := s.Take("a")
	assert.True(t, ok)
	assert.Equal(t, now.Add(time.Minute), got)
	_, ok = s.Take("a")
	assert.False(t, ok, "a state is returned at most once")
	s.Put("b", now.Add(time.Hour), now.Add(2*time.Second))
	_, ok = s.Take("old")
	assert.False(t, ok, "an expired state is dropped when another is put")
	_, ok = s.Take("b")
	assert.True(t, ok)
}

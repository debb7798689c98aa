// Package onetime keeps one-time states in memory: the pending admin consents of graph and the
// pending partner sign-ins of entra. A state is returned at most once; expired states are
// dropped when a new one is put.
package onetime

import (
	"sync"
	"time"
)

// Store holds states of type T, each expiring at the time expires gives for it.
type Store[T any] struct {
	mu      sync.Mutex
	states  map[string]T
	expires func(T) time.Time
}

// New returns an empty store whose states expire at expires(state).
func New[T any](expires func(T) time.Time) *Store[T] {
	return &Store[T]{states: map[string]T{}, expires: expires}
}

// Put stores s under key, first dropping every state expired at now.
func (m *Store[T]) Put(key string, s T, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range m.states {
		if now.After(m.expires(v)) {
			delete(m.states, k)
		}
	}
	m.states[key] = s
}

// Take returns and deletes the state under key; ok is false when it is unknown or taken.
func (m *Store[T]) Take(key string) (s T, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok = m.states[key]
	delete(m.states, key)
	return s, ok
}

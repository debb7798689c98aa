package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"

	"github.com/tenantsync/tenantsync"
)

// Secret holds a credential in memory: tenantsync.Secret, which renders as [REDACTED] with
// every fmt verb, in slog and in JSON, so a Connection can be logged or wrapped in an error
// without leaking it. Reveal returns the plaintext for the one place that needs it.
type Secret = tenantsync.Secret

// NewSecret wraps a plaintext secret; it is tenantsync.NewSecret.
func NewSecret(plaintext string) Secret { return tenantsync.NewSecret(plaintext) }

// KeyProvider supplies the AES-256 keys that seal secrets at rest. Keys are identified so a
// stored ciphertext names the key that opens it and keys can rotate: CurrentKey seals new
// secrets, Key opens old ones.
type KeyProvider interface {
	// CurrentKey returns the ID and 32-byte key new secrets are sealed with.
	CurrentKey(ctx context.Context) (id string, key []byte, err error)
	// Key returns the 32-byte key with the given ID, or an error when it is unknown.
	Key(ctx context.Context, id string) ([]byte, error)
}

// StaticKeys is a KeyProvider over keys held in memory, for the daemon (keys from its
// configuration) and tests. The zero value has no keys. It renders as its key IDs with every
// fmt verb, in slog and in JSON; the keys never print, also where it is a field of a struct
// printed by reflection.
type StaticKeys struct {
	current string
	keys    map[string]sealingKey
}

// sealingKey returns a key's bytes: a function, so that a printer walking the provider by
// reflection finds nothing but its address.
type sealingKey func() []byte

// String implements fmt.Stringer: the key IDs, the current one first.
func (p *StaticKeys) String() string {
	if p == nil {
		return "store.StaticKeys(nil)"
	}
	ids := make([]string, 0, len(p.keys))
	for id := range p.keys {
		if id != p.current {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return fmt.Sprintf("store.StaticKeys{current: %q, others: %q}", p.current, ids)
}

// GoString implements fmt.GoStringer, as String.
func (p *StaticKeys) GoString() string { return p.String() }

// Format implements fmt.Formatter: String, whatever the verb.
func (p *StaticKeys) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, p.String()) }

// LogValue implements slog.LogValuer: String.
func (p *StaticKeys) LogValue() slog.Value { return slog.StringValue(p.String()) }

// MarshalJSON encodes String: the keys do not leave the process as JSON.
func (p *StaticKeys) MarshalJSON() ([]byte, error) { return json.Marshal(p.String()) }

// NewStaticKeys returns a provider whose current key is keys[current]. Every key must be 32 bytes.
func NewStaticKeys(current string, keys map[string][]byte) (*StaticKeys, error) {
	if _, ok := keys[current]; !ok || current == "" {
		return nil, Invalid("NewStaticKeys", "name the current key and include it in keys", "current key %q not among the keys", current)
	}
	cp := make(map[string]sealingKey, len(keys))
	for id, k := range keys {
		if len(k) != 32 {
			return nil, Invalid("NewStaticKeys", "use 32-byte (AES-256) keys", "key %q is %d bytes", id, len(k))
		}
		own := append([]byte(nil), k...)
		cp[id] = func() []byte { return slices.Clone(own) } // a caller clearing its copy keeps the key
	}
	return &StaticKeys{current: current, keys: cp}, nil
}

// CurrentKey implements KeyProvider.
func (p *StaticKeys) CurrentKey(context.Context) (string, []byte, error) {
	if p == nil || p.keys == nil {
		return "", nil, Invalid("CurrentKey", "configure a sealing key", "no keys")
	}
	return p.current, p.keys[p.current](), nil
}

// Key implements KeyProvider.
func (p *StaticKeys) Key(_ context.Context, id string) ([]byte, error) {
	if p != nil {
		if k, ok := p.keys[id]; ok {
			return k(), nil
		}
	}
	return nil, Errorf(tenantsync.ErrNotFound, "Key", "", "restore the key the secret was sealed with to the key provider", "no key %q", id)
}

// Sealed is a secret as stored: the key ID beside the AES-256-GCM nonce and ciphertext.
type Sealed struct {
	KeyID string
	Box   []byte // nonce followed by ciphertext and tag
}

// sealAAD binds a ciphertext to its account and connection, so a sealed secret copied to
// another row or account does not open.
func sealAAD(account, name string) []byte {
	return []byte("tenantsync/connection\x00" + account + "\x00" + name)
}

// Seal encrypts secret under kp's current key for the connection name of account.
func Seal(ctx context.Context, kp KeyProvider, account, name string, secret Secret) (Sealed, error) {
	const op = "Seal"
	if kp == nil {
		return Sealed{}, Invalid(op, "configure the store with a KeyProvider", "no key provider")
	}
	id, key, err := kp.CurrentKey(ctx)
	if err != nil {
		return Sealed{}, &tenantsync.Error{Class: tenantsync.ClassOf(err), Service: Service, Op: op, Hint: "check the key provider", Err: err}
	}
	gcm, err := newGCM(op, id, key)
	if err != nil {
		return Sealed{}, err
	}
	nonce := make([]byte, gcm.NonceSize(), gcm.NonceSize()+len(secret.Reveal())+gcm.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return Sealed{}, Internal(op, "", err)
	}
	return Sealed{KeyID: id, Box: gcm.Seal(nonce, nonce, []byte(secret.Reveal()), sealAAD(account, name))}, nil
}

// Open decrypts a sealed secret of the connection name of account.
func Open(ctx context.Context, kp KeyProvider, account, name string, s Sealed) (Secret, error) {
	const op = "Open"
	if kp == nil {
		return Secret{}, Invalid(op, "configure the store with a KeyProvider", "no key provider")
	}
	key, err := kp.Key(ctx, s.KeyID)
	if err != nil {
		return Secret{}, &tenantsync.Error{Class: tenantsync.ErrNotFound, Service: Service, Op: op,
			Message: fmt.Sprintf("sealing key %q unavailable", s.KeyID),
			Hint:    "restore the key the secret was sealed with to the key provider", Err: err}
	}
	gcm, err := newGCM(op, s.KeyID, key)
	if err != nil {
		return Secret{}, err
	}
	if len(s.Box) < gcm.NonceSize()+gcm.Overhead() {
		return Secret{}, Errorf(tenantsync.ErrInvalidInput, op, "", "store the connection's secret again", "sealed secret of %q is truncated", name)
	}
	plain, err := gcm.Open(nil, s.Box[:gcm.NonceSize()], s.Box[gcm.NonceSize():], sealAAD(account, name))
	if err != nil {
		return Secret{}, Errorf(tenantsync.ErrInvalidInput, op, "",
			"the stored ciphertext or key is wrong; store the connection's secret again",
			"sealed secret of %q does not open with key %q", name, s.KeyID)
	}
	return NewSecret(string(plain)), nil
}

func newGCM(op, id string, key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, Invalid(op, "use a 32-byte (AES-256) key", "key %q is %d bytes", id, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, Internal(op, "", err)
	}
	return cipher.NewGCM(block)
}

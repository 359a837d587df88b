package acm

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/google/uuid"

	"github.com/sluice-dev/sluice/internal/store"
)

// CertStorage is certmagic's Storage over the Sluice store: ACME account keys,
// challenge tokens (so any node can answer a challenge another node started) and
// issued certificates live under ACMEPrefix, and its locks are leases in the store,
// taken in a serializable transaction, so they hold across nodes sharing etcd.
type CertStorage struct {
	st    store.Store
	owner string // this process's lock owner id
	// lease is how long a lock lasts without Unlock (a crashed holder frees it).
	lease time.Duration
}

// ACMEPrefix is where certmagic's keys live: ACMEPrefix + key. Locks are under
// acmeLockPrefix, outside the key space certmagic lists.
const (
	ACMEPrefix     = "/acme/data/"
	acmeLockPrefix = "/acme/locks/"
)

// NewCertStorage returns the storage.
func NewCertStorage(st store.Store) *CertStorage {
	return &CertStorage{st: st, owner: uuid.NewString(), lease: 10 * time.Minute}
}

var _ certmagic.Storage = (*CertStorage)(nil)

// A value is stored as 8 bytes of modification time (UnixNano, big endian) and the
// bytes certmagic gave, so Stat can answer without a second record.
func encodeValue(v []byte, now time.Time) []byte {
	b := make([]byte, 8+len(v))
	binary.BigEndian.PutUint64(b, uint64(now.UnixNano()))
	copy(b[8:], v)
	return b
}

func decodeValue(b []byte) ([]byte, time.Time, error) {
	if len(b) < 8 {
		return nil, time.Time{}, errors.New("acm: certificate storage value too short")
	}
	return b[8:], time.Unix(0, int64(binary.BigEndian.Uint64(b[:8]))), nil
}

func keyOf(k string) string { return ACMEPrefix + strings.Trim(k, "/") }

func (s *CertStorage) Store(ctx context.Context, key string, value []byte) error {
	v := encodeValue(value, time.Now())
	return s.st.Update(ctx, func(tx store.Tx) error { return tx.Put(keyOf(key), v) })
}

func (s *CertStorage) Load(ctx context.Context, key string) ([]byte, error) {
	b, err := s.st.Get(ctx, keyOf(key))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fs.ErrNotExist
	}
	if err != nil {
		return nil, err
	}
	v, _, err := decodeValue(b)
	return v, err
}

// Delete removes key, or every key under it when it is a directory.
func (s *CertStorage) Delete(ctx context.Context, key string) error {
	k := keyOf(key)
	return s.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Delete(k); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		kvs, err := tx.List(k + "/")
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			if err := tx.Delete(kv.Key); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	})
}

func (s *CertStorage) Exists(ctx context.Context, key string) bool {
	_, err := s.Stat(ctx, key)
	return err == nil
}

// List returns the keys under path: all of them when recursive, else its direct
// children (files and directories).
func (s *CertStorage) List(ctx context.Context, path string, recursive bool) ([]string, error) {
	base := strings.Trim(path, "/")
	prefix := ACMEPrefix
	if base != "" {
		prefix += base + "/"
	}
	kvs, err := s.st.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	if len(kvs) == 0 {
		return nil, fs.ErrNotExist
	}
	seen := map[string]bool{}
	var out []string
	for _, kv := range kvs {
		rel := strings.TrimPrefix(kv.Key, prefix)
		if !recursive {
			rel, _, _ = strings.Cut(rel, "/")
		}
		name := rel
		if base != "" {
			name = base + "/" + rel
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out, nil
}

func (s *CertStorage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	k := keyOf(key)
	b, err := s.st.Get(ctx, k)
	if err == nil {
		v, mod, err := decodeValue(b)
		if err != nil {
			return certmagic.KeyInfo{}, err
		}
		return certmagic.KeyInfo{Key: key, Modified: mod, Size: int64(len(v)), IsTerminal: true}, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return certmagic.KeyInfo{}, err
	}
	kvs, err := s.st.List(ctx, k+"/")
	if err != nil {
		return certmagic.KeyInfo{}, err
	}
	if len(kvs) == 0 {
		return certmagic.KeyInfo{}, fs.ErrNotExist
	}
	return certmagic.KeyInfo{Key: key, IsTerminal: false}, nil
}

// lockRecord is a lease on a lock name.
type lockRecord struct {
	Owner   string    `json:"owner"`
	Expires time.Time `json:"expires"`
}

// Lock takes the named lock, waiting while another holder's lease is live.
func (s *CertStorage) Lock(ctx context.Context, name string) error {
	for {
		ok, err := s.TryLock(ctx, name)
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// TryLock takes the named lock if it is free or its lease has run out.
func (s *CertStorage) TryLock(ctx context.Context, name string) (bool, error) {
	key := acmeLockPrefix + name
	got := false
	err := s.st.Update(ctx, func(tx store.Tx) error {
		got = false
		cur, found, err := store.GetRecord[lockRecord](tx, key)
		if err != nil {
			return err
		}
		if found && cur.Owner != s.owner && time.Now().Before(cur.Expires) {
			return nil
		}
		got = true
		return store.PutRecord(tx, key, lockRecord{Owner: s.owner, Expires: time.Now().Add(s.lease)})
	})
	return got, err
}

// Unlock releases a lock this process holds.
func (s *CertStorage) Unlock(ctx context.Context, name string) error {
	key := acmeLockPrefix + name
	return s.st.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		b, err := tx.Get(key)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		var cur lockRecord
		if err := json.Unmarshal(b, &cur); err != nil || cur.Owner == s.owner {
			return tx.Delete(key)
		}
		return fmt.Errorf("acm: lock %s is held by another node", name)
	})
}

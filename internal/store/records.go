package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Reader is the read half of a Tx. ReaderOf adapts a Store to it, so the same
// lookups serve reads inside and outside transactions.
type Reader interface {
	Get(key string) ([]byte, error)
	List(prefix string) ([]KV, error)
}

// ReaderOf reads st outside any transaction, with ctx.
func ReaderOf(ctx context.Context, st Store) Reader { return storeReader{ctx, st} }

type storeReader struct {
	ctx context.Context
	st  Store
}

func (r storeReader) Get(key string) ([]byte, error)   { return r.st.Get(r.ctx, key) }
func (r storeReader) List(prefix string) ([]KV, error) { return r.st.List(r.ctx, prefix) }

// GetRecord reads and decodes the JSON record at key into a new T; found is false
// when the key does not exist.
func GetRecord[T any](r Reader, key string) (v *T, found bool, err error) {
	b, err := r.Get(key)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", key, err)
	}
	v = new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, false, fmt.Errorf("decode %s: %w", key, err)
	}
	return v, true, nil
}

// RecordOr reads and decodes the JSON record at key, or returns missing when there is
// none (the service's own "not found" error).
func RecordOr[T any](r Reader, key string, missing error) (*T, error) {
	v, found, err := GetRecord[T](r, key)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, missing
	}
	return v, nil
}

// ListRecords reads and decodes every JSON record under prefix, in key order.
func ListRecords[T any](r Reader, prefix string) ([]*T, error) {
	kvs, err := r.List(prefix)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	out := make([]*T, 0, len(kvs))
	for _, kv := range kvs {
		v := new(T)
		if err := json.Unmarshal(kv.Value, v); err != nil {
			return nil, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// PutRecord encodes v as JSON and writes it at key.
func PutRecord(tx Tx, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if err := tx.Put(key, b); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}

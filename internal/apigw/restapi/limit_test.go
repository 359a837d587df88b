package restapi

import (
	"context"
	"fmt"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

// writeLimitTx fails a transaction that writes more keys than etcd would accept in
// one Txn (model.MaxWritesPerUpdate), so every test here also proves the service
// keeps within the limit on the etcd backend.
type writeLimitTx struct {
	store.Tx
	writes int
}

func (t *writeLimitTx) Put(k string, v []byte) error {
	if err := t.count(); err != nil {
		return err
	}
	return t.Tx.Put(k, v)
}

func (t *writeLimitTx) Delete(k string) error {
	if err := t.count(); err != nil {
		return err
	}
	return t.Tx.Delete(k)
}

func (t *writeLimitTx) count() error {
	t.writes++
	if t.writes > model.MaxWritesPerUpdate {
		return fmt.Errorf("test store: transaction writes more than %d keys, etcd would refuse it", model.MaxWritesPerUpdate)
	}
	return nil
}

// writeLimitStore is the store the service under test writes through.
type writeLimitStore struct{ store.Store }

func (s writeLimitStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(&writeLimitTx{Tx: tx}) })
}

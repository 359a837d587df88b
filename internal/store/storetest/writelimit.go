package storetest

import (
	"context"
	"fmt"

	"github.com/sluice-dev/sluice/internal/store"
)

// WriteLimited wraps st so that an Update writing more than max keys fails, as etcd
// refuses a Txn over its --max-txn-ops. Services' tests run through it to prove they
// keep within the limit on every backend, not only on the embedded one.
func WriteLimited(st store.Store, max int) store.Store { return writeLimited{st, max} }

type writeLimited struct {
	store.Store
	max int
}

func (s writeLimited) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(LimitWrites(tx, s.max)) })
}

// LimitWrites wraps tx so that its max+1st write fails, for tests that wrap Update
// themselves.
func LimitWrites(tx store.Tx, max int) store.Tx { return &limitedTx{Tx: tx, max: max} }

type limitedTx struct {
	store.Tx
	max, writes int
}

func (t *limitedTx) Put(k string, v []byte) error {
	if err := t.count(); err != nil {
		return err
	}
	return t.Tx.Put(k, v)
}

func (t *limitedTx) Delete(k string) error {
	if err := t.count(); err != nil {
		return err
	}
	return t.Tx.Delete(k)
}

func (t *limitedTx) count() error {
	t.writes++
	if t.writes > t.max {
		return fmt.Errorf("test store: transaction writes more than %d keys, etcd would refuse it", t.max)
	}
	return nil
}

package model

import (
	"context"
	"fmt"

	"github.com/sluice-dev/sluice/internal/store"
)

// MaxWritesPerUpdate is how many keys one store Update may write (put or delete) on
// every backend (storetest.LargeUpdateKeys): etcd caps a transaction at 128
// operations by default (--max-txn-ops), and the etcd backend adds one of its own.
const MaxWritesPerUpdate = 100

// DeleteCascade deletes an API record and every record it owns, without ever
// writing more than MaxWritesPerUpdate keys in one transaction.
//
// The first transaction runs check (which returns the service's NotFound error when
// the API is missing), deletes the record at apiKey and as many children as fit, in
// the order of childPrefixes, so callers list stages first. An API with few records
// is therefore deleted atomically, as before. A larger one is gone (to its control
// plane and to the compiler, which skips records of an API without an API record)
// after that first transaction; its remaining children are deleted in further
// transactions. If one of those fails, DeleteCascade returns the error with the API
// already deleted: the leftover records are unreachable and harmless.
//
// Each prefix in childPrefixes is a record prefix such as HTTPRoutePrefix; the
// children listed are those under Key(prefix, apiID)+"/".
func DeleteCascade(ctx context.Context, st store.Store, apiKey, apiID string, childPrefixes []string, check func(tx store.Tx) error) error {
	done := false
	err := st.Update(ctx, func(tx store.Tx) error {
		if err := check(tx); err != nil {
			return err
		}
		if err := tx.Delete(apiKey); err != nil {
			return err
		}
		var err error
		done, err = deleteChildren(tx, apiID, childPrefixes, MaxWritesPerUpdate-1)
		return err
	})
	if err != nil {
		return err
	}
	for !done {
		err := st.Update(ctx, func(tx store.Tx) error {
			var err error
			done, err = deleteChildren(tx, apiID, childPrefixes, MaxWritesPerUpdate)
			return err
		})
		if err != nil {
			return fmt.Errorf("delete records of deleted API %s: %w", apiID, err)
		}
	}
	return nil
}

// deleteChildren deletes at most budget of the API's child records and reports
// whether none are left.
func deleteChildren(tx store.Tx, apiID string, prefixes []string, budget int) (done bool, err error) {
	for _, prefix := range prefixes {
		kvs, err := tx.List(Key(prefix, apiID) + "/")
		if err != nil {
			return false, fmt.Errorf("list %s records of API %s: %w", prefix, apiID, err)
		}
		for _, kv := range kvs {
			if budget == 0 {
				return false, nil
			}
			if err := tx.Delete(kv.Key); err != nil {
				return false, err
			}
			budget--
		}
	}
	return true, nil
}

package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/sluice-dev/sluice/internal/store"
)

// secretKey holds the installation's signing secret: it signs GetFunction's code
// download URLs and the session credentials functions get. It lives in the store
// (state.db is 0600; etcd is the cluster's trust root), so every node of a cluster
// signs and verifies with the same key, and a restart keeps URLs and credentials
// that are still valid.
const secretKey = "/server/signing-secret"

// loadSecret returns the signing secret, creating it on first start. The
// transaction makes two nodes starting at once agree on one secret.
func loadSecret(ctx context.Context, st store.Store) ([]byte, error) {
	var secret []byte
	err := st.Update(ctx, func(tx store.Tx) error {
		v, err := tx.Get(secretKey)
		switch {
		case err == nil && len(v) == 32:
			secret = v
			return nil
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return err
		}
		return tx.Put(secretKey, secret)
	})
	if err != nil {
		return nil, fmt.Errorf("signing secret: %w", err)
	}
	return secret, nil
}

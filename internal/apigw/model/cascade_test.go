package model

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/internal/store"
	"github.com/sluice-dev/sluice/internal/store/memstore"
	"github.com/sluice-dev/sluice/internal/store/storetest"
)

// limitStore fails any Update that writes more than MaxWritesPerUpdate keys, as
// etcd would, and counts the Updates that commit.
type limitStore struct {
	store.Store
	commits int
}

func (s *limitStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	err := storetest.WriteLimited(s.Store, MaxWritesPerUpdate).Update(ctx, fn)
	if err == nil {
		s.commits++
	}
	return err
}

func TestDeleteCascade(t *testing.T) {
	ctx := context.Background()
	prefixes := []string{HTTPStagePrefix, HTTPRoutePrefix, HTTPSnapshotPrefix}
	tests := []struct {
		name        string
		children    int // per prefix
		wantCommits int
	}{
		{"empty", 0, 1},
		{"fits one transaction", 33, 1},
		{"needs batches", 150, 5}, // 451 deletes: 100 + 100 + 100 + 100 + 51
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &limitStore{Store: memstore.New()}
			defer st.Close()
			err := st.Store.Update(ctx, func(tx store.Tx) error {
				for _, id := range []string{"api1", "api10"} { // api10 shares api1's key prefix
					if err := tx.Put(Key(HTTPAPIPrefix, id), []byte("{}")); err != nil {
						return err
					}
					for _, p := range prefixes {
						for i := range tt.children {
							if err := tx.Put(Key(p, id, fmt.Sprint(i)), []byte("{}")); err != nil {
								return err
							}
						}
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			checked := 0
			check := func(tx store.Tx) error { checked++; _, err := tx.Get(Key(HTTPAPIPrefix, "api1")); return err }
			if err := DeleteCascade(ctx, st, Key(HTTPAPIPrefix, "api1"), "api1", prefixes, check); err != nil {
				t.Fatal(err)
			}
			if st.commits != tt.wantCommits || checked != 1 {
				t.Errorf("commits = %d, check ran %d times; want %d and 1", st.commits, checked, tt.wantCommits)
			}
			kvs, err := st.List(ctx, Prefix)
			if err != nil {
				t.Fatal(err)
			}
			if want := 1 + len(prefixes)*tt.children; len(kvs) != want {
				t.Errorf("%d keys left, want %d (all of api10's)", len(kvs), want)
			}
			for _, kv := range kvs {
				if kv.Key != Key(HTTPAPIPrefix, "api10") && !containsAPI(kv.Key, prefixes, "api10") {
					t.Errorf("key %s survived", kv.Key)
				}
			}
		})
	}
}

func containsAPI(key string, prefixes []string, id string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(key, Key(p, id)+"/") {
			return true
		}
	}
	return false
}

func TestDeleteCascadeCheckFails(t *testing.T) {
	st := &limitStore{Store: memstore.New()}
	defer st.Close()
	notFound := errors.New("not found")
	err := DeleteCascade(context.Background(), st, Key(HTTPAPIPrefix, "x"), "x", []string{HTTPStagePrefix},
		func(store.Tx) error { return notFound })
	if err != notFound || st.commits != 0 {
		t.Fatalf("err = %v, commits = %d; want the check's error unchanged and no commit", err, st.commits)
	}
}

package server

import (
	"context"
	"log/slog"
)

// node is one running Sluice: its store, pool and services.
type node struct {
	services services
	closers  []func() error
}

func (n *node) close() {
	for i := len(n.closers) - 1; i >= 0; i-- {
		_ = n.closers[i]()
	}
}

// build constructs every part from cfg. addr is the listener's actual address.
func build(ctx context.Context, cfg Config, addr string, logger *slog.Logger) (*node, error) {
	n := &node{}
	return n, nil
}

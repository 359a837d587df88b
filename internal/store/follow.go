package store

import (
	"context"
	"time"
)

// Follow keeps an in-memory view of prefix current: it starts a watch, runs reload
// once (its error is returned and nothing is started), then runs reload again after
// every change until ctx ends. A watch the store closes early (a watcher that fell
// behind) is re-opened, retrying every second, and followed by a full reload, so no
// change is missed. A failed background reload keeps the previous view and is passed
// to failed.
func Follow(ctx context.Context, s Store, prefix string, reload func(context.Context) error, failed func(error)) error {
	events, err := s.Watch(ctx, prefix)
	if err != nil {
		return err
	}
	if err := reload(ctx); err != nil {
		return err
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-events:
				if !ok {
					for ctx.Err() == nil {
						if events, err = s.Watch(ctx, prefix); err == nil {
							break
						}
						time.Sleep(time.Second)
					}
				}
				if err := reload(ctx); err != nil && ctx.Err() == nil {
					failed(err)
				}
			}
		}
	}()
	return nil
}

package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"time"
)

// Run builds every part from cfg and serves until ctx is done, then shuts down
// cleanly: the listener stops accepting, in-flight requests finish, function
// instances are stopped and the store is closed.
func Run(ctx context.Context, cfg Config) error {
	logger := newLogger(cfg.LogLevel)
	// awsproto.WriteError logs internal failures it hides from clients through
	// slog's default logger.
	slog.SetDefault(logger)
	// Function processes run in their own working directory (the task root), so
	// every path handed to the runtime must be absolute; the default data dir
	// (./.sluice) is relative.
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	cfg.DataDir = dataDir
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	node, err := build(ctx, cfg, ln.Addr().String(), logger)
	if err != nil {
		ln.Close()
		return err
	}
	defer node.close()

	srv := &http.Server{
		Handler:           &dispatcher{s: node.services},
		ReadHeaderTimeout: 30 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if cfg.DebugListen != "" {
		debug := &http.Server{Addr: cfg.DebugListen, Handler: debugMux(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := debug.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Warn("debug listener", "err", err)
			}
		}()
		defer debug.Close()
	}
	logger.Info("sluice serving", "listen", ln.Addr().String(), "data_dir", cfg.DataDir,
		"store", cfg.Store, "auth_mode", cfg.AuthMode, "region", cfg.Region)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("shutdown", "err", err)
	}
	return nil
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// debugMux serves Go's profiles, for `go tool pprof http://<debug-listen>/debug/pprof/profile`.
func debugMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

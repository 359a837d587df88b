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
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sluice-dev/sluice/internal/listen"
	"github.com/sluice-dev/sluice/internal/sigv4"
)

// Run builds every part from cfg and serves until ctx is done, then shuts down
// cleanly: the listener stops accepting, in-flight requests finish, function
// instances are stopped and the store is closed.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	logger := newLogger(cfg.LogLevel)
	// awsproto.WriteError logs internal failures it hides from clients through
	// slog's default logger.
	slog.SetDefault(logger)
	if cfg.ControlPlaneAuth() == sigv4.ModeOpen && !cfg.listensOnLoopback() {
		logger.Warn("INSECURE: control plane in open auth mode on a non-loopback address (--insecure-open): " +
			"anyone who can reach " + cfg.Listen + " can create and run functions")
	}
	// Function processes run in their own working directory (the task root), so
	// every path handed to the runtime must be absolute; the default data dir
	// (./.sluice) is relative.
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	cfg.DataDir = dataDir
	// Everything Sluice writes (state, blobs, code, logs) is the server's alone:
	// other local users, and functions, which run as users of their own, read
	// nothing of it. What instances need is bound into their sandbox.
	syscall.Umask(0o077)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if err := os.Chmod(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// The services outlive the signal that ends Run: a drain lets in-flight
	// requests and invocations finish first (node.drain), then node.close stops
	// them one by one.
	node, err := build(context.WithoutCancel(ctx), cfg, ln.Addr().String(), logger)
	if err != nil {
		ln.Close()
		return err
	}
	defer node.close()

	listeners, err := node.listenerSet(cfg, ln, logger)
	if err != nil {
		ln.Close()
		return err
	}
	specs, err := cfg.listenerSpecs()
	if err == nil {
		err = listeners.Apply(ctx, specs)
	}
	if err != nil {
		ln.Close()
		return err
	}
	if cfg.DebugListen != "" {
		debug := &http.Server{Addr: cfg.DebugListen, Handler: debugMux(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := debug.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Warn("debug listener", "err", err)
			}
		}()
		defer debug.Close()
	}
	if node.metrics != nil {
		ml, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			ln.Close()
			shutdown(listeners)
			return fmt.Errorf("metrics listen: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", node.metrics.Handler())
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := msrv.Serve(ml); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Warn("metrics listener", "err", err)
			}
		}()
		defer msrv.Close()
		logger.Info("metrics serving", "listen", ml.Addr().String())
	}
	logger.Info("sluice serving", "listen", ln.Addr().String(), "data_dir", cfg.DataDir,
		"store", cfg.Store, "auth_mode", cfg.ControlPlaneAuth().String(), "region", cfg.Region)

	hup := make(chan os.Signal, 1)
	if cfg.Net.Reload != nil {
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	}
	for {
		select {
		case err := <-listeners.Errors():
			shutdown(listeners)
			return err
		case <-ctx.Done():
			node.drain(listeners, cfg.ShutdownGrace, logger)
			return nil
		case <-hup:
			next, err := cfg.Net.Reload()
			if err == nil {
				err = node.reconfigure(next)
			}
			var specs []listen.Spec
			if err == nil {
				specs, err = next.listenerSpecs()
			}
			if err == nil {
				err = listeners.Apply(ctx, specs)
			}
			if err != nil {
				logger.Error("reload refused; keeping the running configuration", "err", err)
				continue
			}
			logger.Info("configuration reloaded", "listeners", len(specs))
		}
	}
}

// drain is a graceful stop, for rolling restarts: readiness turns 503 (balancers
// stop sending), the listeners stop accepting and in-flight requests finish,
// running async invocations finish (no new one starts), all within grace. The
// node leaves the cluster registry when it closes, after this.
func (n *node) drain(listeners *listen.Set, grace time.Duration, logger *slog.Logger) {
	start := time.Now()
	n.draining.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	logger.Info("draining", "grace", grace)
	listeners.Shutdown(ctx)
	left := 0
	if n.fns != nil {
		left = n.fns.Drain(ctx)
	}
	logger.Info("drained", "took", time.Since(start).Round(time.Millisecond), "async_still_running", left)
}

func shutdown(listeners *listen.Set) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	listeners.Shutdown(ctx)
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

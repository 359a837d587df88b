// Package server wires Sluice together: it builds the store, the function pool and
// every service from a Config, and serves them on one listener, dispatching each
// request to the data plane (execute-api hosts and paths) or to a control-plane
// service chosen by the request's SigV4 credential scope, falling back to its path.
package server

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/sigv4"
)

// Config is everything `sluice serve` can be told, by flag, SLUICE_* env or config file.
type Config struct {
	Listen        string   `mapstructure:"listen"`
	DataDir       string   `mapstructure:"data-dir"`
	Region        string   `mapstructure:"region"`
	AccountID     string   `mapstructure:"account-id"`
	LogLevel      string   `mapstructure:"log-level"`
	Store         string   `mapstructure:"store"` // bolt | etcd
	EtcdEndpoints []string `mapstructure:"etcd-endpoints"`
	EtcdPrefix    string   `mapstructure:"etcd-prefix"`
	// BlobStore is where function code and object bodies live: "local" (the data
	// dir, one node) or s3://bucket/prefix, shared by a cluster's nodes, each
	// caching up to BlobCacheBytes locally. BlobStoreEndpoint is an S3-compatible
	// service's URL (empty: AWS S3).
	BlobStore         string `mapstructure:"blob-store"`
	BlobStoreEndpoint string `mapstructure:"blob-store-endpoint"`
	BlobCacheBytes    int64  `mapstructure:"blob-cache-bytes"`
	// QuotaCounters is where usage-plan quotas are counted: "store" (the state
	// store, one transaction per counted request) or redis://host:port/db.
	QuotaCounters string `mapstructure:"quota-counters"`
	// GCInterval is how often code and object blobs no record references are
	// swept (on a cluster with shared blobs, by the leader only).
	GCInterval time.Duration `mapstructure:"gc-interval"`

	// AuthMode is "verify", "open" or "auto" (open when Listen is a loopback
	// address, verify elsewhere). Empty means verify: a Config built in code
	// without it fails closed. Defaults (what `sluice serve` starts from) says auto.
	AuthMode string `mapstructure:"auth-mode"`
	// InsecureOpen must be set for open mode on a non-loopback address, where
	// anyone who can reach the port could create functions (run code).
	InsecureOpen        bool   `mapstructure:"insecure-open"`
	RootAccessKeyID     string `mapstructure:"root-access-key-id"`
	RootSecretAccessKey string `mapstructure:"root-secret-access-key"`

	// NoFunctionSandbox runs functions as Sluice's own user even as root, where
	// the sandbox cannot be set up (without it a root Sluice refuses to start).
	NoFunctionSandbox bool `mapstructure:"no-function-sandbox"`

	MaxInstances int           `mapstructure:"max-instances"`
	IdleTimeout  time.Duration `mapstructure:"idle-timeout"`
	QueueTimeout time.Duration `mapstructure:"queue-timeout"`
	// InstanceScheduler is the pool's policy when no instance is idle:
	// "adaptive" (default), "queue" or "spawn" (runtime.SchedulerAdaptive /
	// SchedulerQueue / SchedulerSpawn).
	InstanceScheduler string        `mapstructure:"instance-scheduler"`
	AsyncRetryDelay   time.Duration `mapstructure:"async-retry-delay"`
	PublicEndpoint    string        `mapstructure:"public-endpoint"`
	ExecuteAPIDomain  string        `mapstructure:"execute-api-domain"`
	// DebugListen, when set, serves Go's /debug/pprof profiles on a separate
	// listener (keep it on loopback).
	DebugListen string `mapstructure:"debug-listen"`
	// MetricsListen, when set, serves Prometheus metrics at /metrics on a separate
	// listener (never on a data-plane listener; off by default).
	MetricsListen string `mapstructure:"metrics-listen"`

	// ShutdownGrace bounds a drain on SIGTERM: in-flight requests and async
	// invocations get this long to finish before instances are stopped.
	ShutdownGrace time.Duration `mapstructure:"shutdown-grace"`
	// AccountConcurrency is the account's concurrency (AWS's default quota,
	// 1000): PutFunctionConcurrency reserves out of it, GetAccountSettings
	// reports it, and across a cluster (etcd store) functions without reserved
	// concurrency run at most what the reservations leave of it at once, on all
	// nodes together.
	AccountConcurrency int `mapstructure:"account-concurrency"`
	// Version is the binary's version, set by the CLI (not a flag).
	Version string `mapstructure:"-"`

	// Net is the listeners beyond --listen, TLS, limits and ACME (listeners.go).
	Net ListenerConfig `mapstructure:",squash"`
}

// Defaults returns the configuration `sluice serve` runs with when told nothing.
func Defaults() Config {
	return Config{
		Listen:            "127.0.0.1:4566",
		DataDir:           "./.sluice",
		Region:            "us-east-1",
		AccountID:         "123456789012",
		LogLevel:          "info",
		AuthMode:          "auto",
		Store:             "bolt",
		EtcdPrefix:        "/sluice",
		BlobStore:         "local",
		BlobCacheBytes:    10 << 30,
		GCInterval:        time.Hour,
		QuotaCounters:     "store",
		MaxInstances:      64,
		IdleTimeout:       10 * time.Minute,
		QueueTimeout:      3 * time.Second,
		InstanceScheduler: "adaptive",
		AsyncRetryDelay:   time.Minute,
		ExecuteAPIDomain:  "execute-api.localhost",
		ShutdownGrace:     10 * time.Second,
		// AWS's default account concurrency.
		AccountConcurrency: 1000,
	}
}

// Validate checks the configuration before anything starts. It does not change c:
// what the settings mean is derived (ControlPlaneAuth), so code that skips the CLI
// gets the same answers.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("--listen %q: %w", c.Listen, err)
	}
	if len(c.AccountID) != 12 || strings.Trim(c.AccountID, "0123456789") != "" {
		return fmt.Errorf("--account-id %q: must be 12 digits", c.AccountID)
	}
	switch c.Store {
	case "bolt", "":
	case "etcd":
		if len(c.EtcdEndpoints) == 0 {
			return fmt.Errorf("--store etcd needs --etcd-endpoints")
		}
	default:
		return fmt.Errorf("--store %q: want bolt or etcd", c.Store)
	}
	switch c.AuthMode {
	case "", "open", "verify", "auto":
	default:
		return fmt.Errorf("--auth-mode %q: want open, verify or auto", c.AuthMode)
	}
	if c.AuthMode == "open" && !c.listensOnLoopback() && !c.InsecureOpen {
		return fmt.Errorf("--auth-mode open on %s would let anyone who can reach it run code: "+
			"listen on loopback, use --auth-mode verify with a root key, or pass --insecure-open", c.Listen)
	}
	if c.ControlPlaneAuth() == sigv4.ModeVerify && (c.RootAccessKeyID == "" || c.RootSecretAccessKey == "") {
		return fmt.Errorf("auth mode verify (the default off loopback) needs SLUICE_ROOT_ACCESS_KEY_ID and SLUICE_ROOT_SECRET_ACCESS_KEY")
	}
	if s := c.InstanceScheduler; s != "" && s != "adaptive" && s != "queue" && s != "spawn" {
		return fmt.Errorf("--instance-scheduler must be adaptive, queue or spawn, not %q", s)
	}
	switch q := c.QuotaCounters; {
	case q == "" || q == "store" || strings.HasPrefix(q, "redis://") || strings.HasPrefix(q, "rediss://"):
	default:
		return fmt.Errorf("--quota-counters %q: want store or redis://host:port/db", q)
	}
	if c.GCInterval < 0 {
		return fmt.Errorf("--gc-interval must not be negative")
	}
	if c.ShutdownGrace < 0 {
		return fmt.Errorf("--shutdown-grace must not be negative")
	}
	if c.AccountConcurrency < 0 {
		return fmt.Errorf("--account-concurrency must not be negative")
	}
	if c.MaxInstances < 0 {
		return fmt.Errorf("--max-instances must be at least 1")
	}
	if err := c.validateExecuteAPIDomain(); err != nil {
		return err
	}
	if err := c.validateBlobs(); err != nil {
		return err
	}
	if err := c.validateListeners(); err != nil {
		return err
	}
	return nil
}

// validateExecuteAPIDomain refuses a --execute-api-domain the data plane could
// not serve: it finds an API by the "{apiId}.execute-api." labels of the Host (as
// AWS's {apiId}.execute-api.{region}.amazonaws.com), so a domain without that first
// label would be printed in ApiEndpoint yet answer nothing.
func (c Config) validateExecuteAPIDomain() error {
	d := strings.ToLower(c.ExecuteAPIDomain)
	if d == "" {
		return nil
	}
	rest, ok := strings.CutPrefix(d, "execute-api.")
	if !ok || rest == "" || strings.ContainsAny(d, "/:@ ") || strings.HasSuffix(d, ".") {
		return fmt.Errorf("--execute-api-domain %q: want a DNS name that starts with \"execute-api.\" "+
			"(e.g. execute-api.localhost, or execute-api.dev.example.com with a wildcard record *.execute-api.dev.example.com)", c.ExecuteAPIDomain)
	}
	return nil
}

// ControlPlaneAuth is the SigV4 mode the control plane runs in: open only when
// asked for (explicitly, or by auto on a loopback listener); anything else,
// including the zero value, is verify.
func (c Config) ControlPlaneAuth() sigv4.Mode {
	switch c.AuthMode {
	case "open":
		return sigv4.ModeOpen
	case "auto":
		if c.listensOnLoopback() {
			return sigv4.ModeOpen
		}
	}
	return sigv4.ModeVerify
}

func (c Config) listensOnLoopback() bool {
	host, _, err := net.SplitHostPort(c.Listen)
	return err == nil && isLoopback(host)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

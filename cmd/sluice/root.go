package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/sluice-dev/sluice/internal/server"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "sluice",
		Short:         "AWS API Gateway and AWS Lambda, self-hosted, in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCommand(), newVersionCommand(), newLogsCommand(), newDeployCommand(), newClusterCommand())
	return root
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "sluice", version)
		},
	}
}

func newServeCommand() *cobra.Command {
	d := server.Defaults()
	var configFile string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the AWS-compatible control plane and the API data plane",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd.Flags(), configFile)
			if err != nil {
				return err
			}
			cfg.Version = version
			// SIGHUP re-reads the same sources; listeners follow the new list.
			cfg.Net.Reload = func() (server.Config, error) { return loadConfig(cmd.Flags(), configFile) }
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return server.Run(ctx, cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "config", "", "YAML config file (keys are the flag names)")
	f.String("listen", d.Listen, "address to serve on")
	f.String("data-dir", d.DataDir, "directory for state, code and logs")
	f.String("region", d.Region, "AWS region Sluice presents")
	f.String("account-id", d.AccountID, "AWS account id Sluice presents")
	f.String("log-level", d.LogLevel, "debug, info, warn or error")
	f.String("store", d.Store, "state backend: bolt (embedded) or etcd")
	f.StringSlice("etcd-endpoints", nil, "etcd endpoints for --store etcd")
	f.String("etcd-prefix", d.EtcdPrefix, "key prefix in etcd")
	f.String("blob-store", d.BlobStore, "where code and object bytes live: local (the data dir) or s3://bucket/prefix (shared by a cluster)")
	f.String("blob-store-endpoint", "", "URL of the S3-compatible service behind --blob-store (empty: AWS S3); credentials come from the AWS environment/config chain")
	f.Int64("blob-cache-bytes", d.BlobCacheBytes, "most bytes of shared blobs each node caches locally")
	f.String("quota-counters", d.QuotaCounters, "where usage-plan quotas are counted: store (the state store) or redis://host:port/db (exact across nodes, cheaper than etcd; requests fail with 500 while Redis is unreachable)")
	f.Duration("gc-interval", d.GCInterval, "how often code and object blobs no record references (for over an hour) are deleted; with a shared --blob-store only the cluster's leader does it")
	f.String("auth-mode", d.AuthMode, "control-plane SigV4 mode: verify, open, or auto (open on a loopback --listen, verify elsewhere)")
	f.Bool("insecure-open", false, "allow --auth-mode open on a non-loopback address (anyone who reaches it can run code)")
	f.String("root-access-key-id", "", "root access key id (prefer env SLUICE_ROOT_ACCESS_KEY_ID)")
	f.String("root-secret-access-key", "", "root secret access key (prefer env SLUICE_ROOT_SECRET_ACCESS_KEY)")
	f.Bool("no-function-sandbox", false, "run functions as Sluice's own user without the sandbox (as root: only where the sandbox cannot be set up, and functions then run as root)")
	f.Int("max-instances", d.MaxInstances, "most function instances this node runs at once")
	f.Duration("idle-timeout", d.IdleTimeout, "idle function instances are stopped after this long")
	f.Duration("queue-timeout", d.QueueTimeout, "how long a sync invoke waits for a free instance before 429")
	f.String("instance-scheduler", d.InstanceScheduler, "adaptive: wait for a warm instance when the function's instances are CPU-busy on saturated cores, scale out I/O-bound ones; queue: wait when a warm instance will be free sooner than a new one starts; spawn: always start one")
	f.Duration("async-retry-delay", d.AsyncRetryDelay, "delay before the first retry of a failed async invoke (the second waits twice as long)")
	f.Duration("shutdown-grace", d.ShutdownGrace, "on SIGTERM, how long in-flight requests and invocations get to finish (the node stops accepting at once and leaves the cluster after)")
	f.Int("account-concurrency", d.AccountConcurrency, "the account's concurrency: reserved concurrency comes out of it; with --store etcd, functions without reserved concurrency run at most what the reservations leave of it at once across the whole cluster")
	f.String("public-endpoint", "", "base URL clients and functions use to reach Sluice (default http://<listen>)")
	f.String("execute-api-domain", d.ExecuteAPIDomain, "domain under which {apiId}.<domain> serves APIs")
	f.String("debug-listen", "", "address for Go's /debug/pprof profiles (off when empty; keep it on loopback)")
	f.String("metrics-listen", "", "address serving Prometheus metrics at /metrics (off when empty)")
	addListenerFlags(f)
	return cmd
}

// loadConfig merges defaults, the config file, SLUICE_* environment variables and
// flags, in increasing precedence.
func loadConfig(flags *pflag.FlagSet, file string) (server.Config, error) {
	v := viper.New()
	v.SetEnvPrefix("SLUICE")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	if err := v.BindPFlags(flags); err != nil {
		return server.Config{}, err
	}
	if file == "" {
		file = os.Getenv("SLUICE_CONFIG")
	}
	if file != "" {
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			return server.Config{}, fmt.Errorf("read config %s: %w", file, err)
		}
		if err := checkConfigKeys(flags, file); err != nil {
			return server.Config{}, err
		}
	}
	cfg := server.Defaults()
	if err := v.Unmarshal(&cfg); err != nil {
		return server.Config{}, fmt.Errorf("config: %w", err)
	}
	// Env lists arrive as one comma-separated string.
	if len(cfg.EtcdEndpoints) == 1 && strings.Contains(cfg.EtcdEndpoints[0], ",") {
		cfg.EtcdEndpoints = strings.Split(cfg.EtcdEndpoints[0], ",")
	}
	return cfg, cfg.Validate()
}

// checkConfigKeys refuses a config file key that is no flag of serve: a typo such as
// "regoin:" must not silently fall back to a default.
func checkConfigKeys(flags *pflag.FlagSet, file string) error {
	fv := viper.New()
	fv.SetConfigFile(file)
	if err := fv.ReadInConfig(); err != nil {
		return fmt.Errorf("read config %s: %w", file, err)
	}
	for _, key := range fv.AllKeys() {
		if key == "listeners" || strings.HasPrefix(key, "listeners.") {
			continue // the list form of the listener flags (listeners.go)
		}
		if key == "config" || flags.Lookup(key) == nil {
			return fmt.Errorf("config %s: unknown key %q (keys are the serve flag names, e.g. listen, data-dir)", file, key)
		}
	}
	return nil
}

package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/sluice-dev/sluice/internal/apigw/access"
	"github.com/sluice-dev/sluice/internal/apigw/gateway"
	"github.com/sluice-dev/sluice/internal/apigw/httpapi"
	"github.com/sluice-dev/sluice/internal/apigw/restapi"
	"github.com/sluice-dev/sluice/internal/cfn"
	"github.com/sluice-dev/sluice/internal/cluster"
	"github.com/sluice-dev/sluice/internal/console"
	"github.com/sluice-dev/sluice/internal/cwlogs"
	"github.com/sluice-dev/sluice/internal/domains"
	"github.com/sluice-dev/sluice/internal/fncreds"
	"github.com/sluice-dev/sluice/internal/fnlogs"
	"github.com/sluice-dev/sluice/internal/iam"
	"github.com/sluice-dev/sluice/internal/lambda"
	"github.com/sluice-dev/sluice/internal/metrics"
	"github.com/sluice-dev/sluice/internal/runtime"
	"github.com/sluice-dev/sluice/internal/runtime/shims"
	"github.com/sluice-dev/sluice/internal/s3"
	"github.com/sluice-dev/sluice/internal/sigv4"
	"github.com/sluice-dev/sluice/internal/store"
	"github.com/sluice-dev/sluice/internal/store/boltstore"
	"github.com/sluice-dev/sluice/internal/store/etcdstore"
)

// node is one running Sluice: its store, pool and services.
type node struct {
	metrics    *metrics.Metrics // nil unless --metrics-listen
	services   services
	tlsDefault defaultCert
	router     *domains.Router
	closers    []func() error

	// self is this node's registration; cluster is its membership (nil with the
	// bolt store), etcd and clusterPrefix where that membership lives.
	self          cluster.Member
	cluster       *cluster.Node
	etcd          *clientv3.Client
	clusterPrefix string
	// draining is set when shutdown begins: /_sluice/ready answers 503 so
	// balancers stop sending new requests.
	draining atomic.Bool
	fns      *lambda.Service
}

func (n *node) close() {
	for i := len(n.closers) - 1; i >= 0; i-- {
		_ = n.closers[i]()
	}
}

// build constructs every part from cfg. addr is the listener's actual address.
func build(ctx context.Context, cfg Config, addr string, logger *slog.Logger) (_ *node, err error) {
	n := &node{}
	if cfg.MetricsListen != "" {
		n.metrics = metrics.New()
	}
	defer func() {
		if err != nil {
			n.close()
		}
	}()
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	n.closers = append(n.closers, st.Close)
	endpoint := cfg.PublicEndpoint
	if endpoint == "" {
		endpoint = "http://" + addr
	}
	if n.cluster, err = joinCluster(ctx, cfg, st, endpoint, logger); err != nil {
		return nil, err
	}
	if n.cluster != nil {
		// Leaving revokes the node's lease: its registration and any concurrency
		// slot still held go with it. Run drains before this closer runs.
		n.closers = append(n.closers, func() error { return n.cluster.Leave(context.Background()) })
		es := st.(*etcdstore.Store)
		n.self, n.etcd, n.clusterPrefix = n.cluster.Self(), es.Client(), clusterPrefix(es)
	} else {
		id, err := nodeID(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		n.self = cluster.Member{ID: id, Address: endpoint, Version: cfg.Version, Started: time.Now().UTC()}
	}
	if n.metrics != nil {
		// After the cluster join, which needs the etcd store itself.
		backend := "bolt"
		if cfg.Store == "etcd" {
			backend = "etcd"
		}
		st = n.metrics.InstrumentStore(st, backend)
	}
	secret, err := loadSecret(ctx, st)
	if err != nil {
		return nil, err
	}

	blobs, err := openBlobs(ctx, cfg, "code", logger)
	if err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	// The log store learns whether a function exists from the lambda service,
	// built below; requests reach it only after build returns.
	var functionExists func(name string) bool
	shipper, err := n.logShipper(ctx, cfg, st, logger)
	if err != nil {
		return nil, err
	}
	logOpts := fnlogs.Options{Exists: func(name string) bool { return functionExists != nil && functionExists(name) }}
	if shipper != nil {
		logOpts.Ship = shipper.Append
	}
	logs, err := fnlogs.OpenWith(filepath.Join(cfg.DataDir, "logs"), logOpts)
	if err != nil {
		return nil, fmt.Errorf("function logs: %w", err)
	}
	n.closers = append(n.closers, logs.Close)
	if shipper != nil {
		if err := shipper.Start(ctx, logs); err != nil {
			return nil, err
		}
		// Closed before the log store (closers run last first) and after the
		// function pool, so the pool's last lines are shipped too.
		n.closers = append(n.closers, shipper.Close)
	}
	installed, err := shims.Install(filepath.Join(cfg.DataDir, "runtime", "shims"))
	if err != nil {
		return nil, fmt.Errorf("runtime shims: %w", err)
	}

	port := addr[strings.LastIndex(addr, ":")+1:]
	// Functions never get the root key: each instance gets temporary credentials
	// for its execution role, checked statelessly by every node.
	sessions := fncreds.New(secret)
	var gate runtime.ConcurrencyGate
	var slots *cluster.Slots
	if n.cluster != nil {
		// Reserved and account concurrency hold across the cluster (AWS counts
		// them per account and function, not per machine).
		slots = cluster.NewSlots(n.cluster, cfg.AccountConcurrency)
		gate = slots
	}
	pool, err := runtime.NewPool(runtime.Options{
		// In a cluster the code may have been created through another node: the
		// pool brings it from the shared blob store when it extracts it.
		FetchCode:    blobs.Fetch,
		Concurrency:  gate,
		DataDir:      cfg.DataDir,
		MaxInstances: cfg.MaxInstances,
		IdleTimeout:  cfg.IdleTimeout,
		QueueTimeout: cfg.QueueTimeout,
		Scheduler:    cfg.InstanceScheduler,
		NoSandbox:    cfg.NoFunctionSandbox,
		Region:       cfg.Region,
		AccountID:    cfg.AccountID,
		EndpointURL:  endpoint,
		Credentials: func(spec *runtime.FunctionSpec) (runtime.Credentials, error) {
			c, err := sessions.Issue(spec.FunctionName, spec.Role)
			return runtime.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}, err
		},
		MaxInstanceAge: fncreds.MaxInstanceAge,
		Logs:           logs,
		Shims:          installed,
		Logger:         logger.With("component", "runtime"),
	})
	if err != nil {
		return nil, fmt.Errorf("function pool: %w", err)
	}
	n.closers = append(n.closers, pool.Close)
	if n.metrics != nil {
		n.metrics.WatchInstances(pool.InstancesByFunction)
	}

	ids := iam.New(iam.Options{Store: st, AccountID: cfg.AccountID, Logger: logger.With("component", "iam")})
	iamCtx, stopIAM := context.WithCancel(ctx)
	n.closers = append(n.closers, func() error { stopIAM(); return nil })
	if err := ids.Start(iamCtx); err != nil {
		return nil, fmt.Errorf("iam: %w", err)
	}
	root := sigv4.StaticCredentials{}
	if cfg.RootAccessKeyID != "" {
		root[cfg.RootAccessKeyID] = cfg.RootSecretAccessKey
	}
	// The root key is the bootstrap admin; IAM users' keys and AssumeRole sessions
	// follow it.
	creds := credentialChain{root, ids, sessions}
	mode := cfg.ControlPlaneAuth()
	// Bodies hashed before their signature is checked spool here beyond 1 MiB.
	spool := filepath.Join(cfg.DataDir, "tmp")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		return nil, fmt.Errorf("spool dir: %w", err)
	}
	verifier := sigv4.NewVerifier(sigv4.Options{Mode: mode, Credentials: creds, MaxBodyBytes: 80 << 20, SpoolDir: spool})
	// Lambda reads S3 deployment packages from the object store, which is built
	// after Lambda (it invokes functions for notifications).
	code := &objectCodeSource{}
	fnOpts := lambda.Options{
		AccountConcurrency: cfg.AccountConcurrency,
		CodeSource:         code,
		Store:              st,
		Blobs:              blobs,
		Runner:             pool,
		Region:             cfg.Region,
		AccountID:          cfg.AccountID,
		Endpoint:           endpoint,
		AsyncRetryDelays:   []time.Duration{cfg.AsyncRetryDelay, 2 * cfg.AsyncRetryDelay},
		Runtimes:           installed,
		FunctionURLBase: func(id string) string {
			return "http://" + id + ".lambda-url." + cfg.Region + ".localhost:" + port + "/"
		},
		URLAuth:           urlAuthenticator{verifier: verifier, rootKey: cfg.RootAccessKeyID, account: cfg.AccountID},
		CodeURLSecret:     secret,
		Logger:            logger.With("component", "lambda"),
		SweepsSharedBlobs: n.sweepsSharedBlobs(cfg),
		GCInterval:        cfg.GCInterval,
	}
	if n.metrics != nil {
		fnOpts.Metrics = n.metrics
	}
	fns, err := lambda.New(fnOpts)
	if err != nil {
		return nil, fmt.Errorf("lambda: %w", err)
	}
	if slots != nil {
		// The unreserved pool is what the functions' reservations leave.
		slots.SetReserved(fns.ReservedConcurrency)
	}
	functionExists = fns.FunctionExists
	n.fns = fns
	if n.metrics != nil {
		n.metrics.WatchAsyncQueue(fns.AsyncQueueStats)
	}
	// The lambda service's watch and async workers run until the node closes; it
	// must stop before the store does.
	lambdaCtx, stopLambda := context.WithCancel(ctx)
	if err := fns.Start(lambdaCtx); err != nil {
		stopLambda()
		return nil, fmt.Errorf("lambda: %w", err)
	}
	n.closers = append(n.closers, func() error { stopLambda(); fns.Wait(); return nil })

	vpcLinks, err := cfg.vpcLinkTargets()
	if err != nil {
		return nil, err
	}
	gwOpts := gateway.Options{
		VPCLinkTargets: vpcLinks,
		Store:          st,
		Invoker:        fns,
		Region:         cfg.Region,
		AccountID:      cfg.AccountID,
		Logger:         logger.With("component", "gateway"),
		IAM: &invokeAuthenticator{
			// API Gateway allows 5 minutes of skew on execute-api ("Signature expired:
			// ... (... - 5 min.)"), not the 15 some services allow: a wider window would
			// accept replays AWS refuses.
			verifier: sigv4.NewVerifier(sigv4.Options{Mode: sigv4.ModeVerify, Credentials: creds, MaxSkew: 5 * time.Minute,
				MaxBodyBytes: 10 << 20, SpoolDir: spool, IncompleteSignatureStatus: http.StatusForbidden}),
			iam: ids, sessions: sessions, rootKey: cfg.RootAccessKeyID, account: cfg.AccountID, region: cfg.Region,
		},
	}
	// The console's recent requests always; metrics when --metrics-listen is set.
	recent := console.NewRecent(20)
	gwOpts.Observer = recent
	if n.metrics != nil {
		gwOpts.Observer = observers{n.metrics, recent}
	}
	gwOpts.AccessLogs = accessLogStore{logs}
	if strings.HasPrefix(cfg.QuotaCounters, "redis") {
		counters, err := access.OpenRedisCounters(ctx, cfg.QuotaCounters)
		if err != nil {
			return nil, err
		}
		n.closers = append(n.closers, counters.Close)
		gwOpts.Counters = counters
	}
	if n.cluster != nil {
		// Rate limits hold across the cluster: each node takes 1/N of every limit,
		// N being the registered nodes (read every second, not per request).
		gwOpts.RateShare = clusterSize(ctx, n)
	}
	gw := gateway.New(gwOpts)
	gwCtx, stopGateway := context.WithCancel(ctx)
	n.closers = append(n.closers, func() error { stopGateway(); return nil })
	if err := gw.Start(gwCtx); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}

	certs, router, err := n.buildDomains(ctx, cfg, addr, st, gw, logger)
	if err != nil {
		return nil, err
	}

	objects, err := buildS3(ctx, n, cfg, st, verifier, creds, mode == sigv4.ModeOpen, fns, logger)
	if err != nil {
		return nil, err
	}
	code.objects = objects

	authenticate := func(r *http.Request) (*http.Request, error) {
		id, err := verifier.Verify(r)
		if err != nil {
			return r, err
		}
		if err := checkSession(sessions, id); err != nil {
			return r, err
		}
		return r.WithContext(sigv4.WithIdentity(r.Context(), id)), nil
	}
	authenticate = guardControlPlane(authenticate, ids, sessions, cfg.AccountID, cfg.RootAccessKeyID)
	n.services = services{
		functionURLs:  fns.ServeFunctionURL,
		isFunctionURL: lambda.FunctionURLRequest,
		dataPlane:     router,
		isDataPlane:   router.IsDataPlane,
		acm:           certs,
		authenticate:  authenticate,
		lambda:        fns,
		restAPI:       restapi.New(restapi.Options{Store: st, Region: cfg.Region, AccountID: cfg.AccountID, Certificates: certs, Logger: logger.With("component", "apigateway"), Gateway: gw, Invoker: fns, Counters: gwOpts.Counters}),
		httpAPI: httpapi.New(httpapi.Options{Store: st, Region: cfg.Region, AccountID: cfg.AccountID, Certificates: certs,
			APIEndpoint: func(id string) string { return "http://" + id + "." + cfg.ExecuteAPIDomain + ":" + port },
			Logger:      logger.With("component", "apigatewayv2")}),
		logs:    logs.Handler(),
		iam:     ids.IAM(),
		sts:     ids.STS(),
		s3:      objects,
		isS3:    objects.Claims,
		cluster: n.clusterStatus,
		ready: func(ctx context.Context) error {
			if n.draining.Load() {
				return errDraining
			}
			// Any answer, "not found" included, means the store is reachable.
			if _, err := st.Get(ctx, "/_sluice/ready"); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return nil
		},
		cloudWatchLogs: cwlogs.New(cwlogs.Options{Logs: logs, Region: cfg.Region, AccountID: cfg.AccountID, Logger: logger.With("component", "logs")}),
	}
	// CloudFormation creates resources through this node's own control plane,
	// signing as the root key (any key is accepted in open mode).
	cfnKey, cfnSecret := cfg.RootAccessKeyID, cfg.RootSecretAccessKey
	if cfnKey == "" {
		cfnKey, cfnSecret = "AKIDSLUICECLOUDFORMATION", "sluice-cloudformation"
	}
	cfnOpts := cfn.Options{Store: st, Region: cfg.Region, AccountID: cfg.AccountID,
		API:         http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (&dispatcher{s: n.services}).ServeHTTP(w, r) }),
		AccessKeyID: cfnKey, SecretAccessKey: cfnSecret, Logger: logger.With("component", "cloudformation"),
		NodeID: n.self.ID}
	if n.cluster != nil {
		// A stack operation whose node is no longer registered was interrupted.
		cfnOpts.NodeAlive = func(ctx context.Context, id string) (bool, error) {
			members, err := n.cluster.Members(ctx)
			if err != nil {
				return false, err
			}
			for _, m := range members {
				if m.ID == id {
					return true, nil
				}
			}
			return false, nil
		}
	}
	stacks := cfn.New(cfnOpts)
	cfnCtx, stopCFN := context.WithCancel(ctx)
	stacks.Start(cfnCtx)
	n.closers = append(n.closers, func() error { stopCFN(); stacks.Wait(); return nil })
	n.services.cloudFormation = stacks
	consoleOpts := console.Options{Functions: fns, Logs: logs, APIs: st, Recent: recent,
		Open:            mode == sigv4.ModeOpen,
		RootAccessKeyID: cfg.RootAccessKeyID, RootSecretAccessKey: cfg.RootSecretAccessKey,
		Endpoint: endpoint, ExecuteAPIDomain: cfg.ExecuteAPIDomain, Draining: n.draining.Load,
		Logger: logger.With("component", "console")}
	if n.metrics != nil {
		consoleOpts.Metrics = n.metrics.Gatherer()
	}
	n.services.console = console.New(consoleOpts)
	if mode == sigv4.ModeVerify {
		n.services.authenticateLogs = authenticate
	} else {
		// Open mode trusts whoever can reach the port, so it must not trust a
		// browser tricked into reaching it: DNS rebinding points an attacker's
		// name at 127.0.0.1, and the Host header still carries that name.
		n.services.controlHostAllowed = allowedHosts(cfg, endpoint)
	}
	// Stack operations a stopped node left in progress are finished through the
	// services above, now complete.
	stacks.Resume()
	return n, nil
}

// buildS3 starts the object store: blobs under data-dir/s3/blobs (apart from
// function code, so each owner collects its own), metadata in the store.
func buildS3(ctx context.Context, n *node, cfg Config, st store.Store, verifier *sigv4.Verifier, creds sigv4.Credentials, open bool,
	fns *lambda.Service, logger *slog.Logger) (*s3.Service, error) {
	blobs, err := openBlobs(ctx, cfg, "s3", logger)
	if err != nil {
		return nil, fmt.Errorf("s3 blob store: %w", err)
	}
	objects, err := s3.New(s3.Options{Store: st, Bytes: s3.BlobBytes{Blobs: blobs}, Verifier: verifier, Invoker: fns,
		Credentials: creds, OpenMode: open,
		Region: cfg.Region, AccountID: cfg.AccountID, Logger: logger.With("component", "s3"),
		SweepsSharedBlobs: n.sweepsSharedBlobs(cfg), GCInterval: cfg.GCInterval})
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	s3Ctx, stopS3 := context.WithCancel(ctx)
	if err := objects.Start(s3Ctx); err != nil {
		stopS3()
		return nil, fmt.Errorf("s3: %w", err)
	}
	n.closers = append(n.closers, func() error { stopS3(); objects.Wait(); return nil })
	return objects, nil
}

// objectCodeSource hands Lambda the object store once it is built.
type objectCodeSource struct{ objects *s3.Service }

func (o *objectCodeSource) OpenObject(ctx context.Context, bucket, key, version string) (io.ReadCloser, error) {
	if o.objects == nil {
		return nil, fmt.Errorf("object store not started")
	}
	return o.objects.OpenObject(ctx, bucket, key, version)
}

func openStore(ctx context.Context, cfg Config) (store.Store, error) {
	switch cfg.Store {
	case "etcd":
		st, err := etcdstore.Open(ctx, etcdstore.Config{Endpoints: cfg.EtcdEndpoints, Prefix: cfg.EtcdPrefix, DialTimeout: 5 * time.Second})
		if err != nil {
			return nil, fmt.Errorf("etcd store: %w", err)
		}
		return st, nil
	default:
		st, err := boltstore.Open(filepath.Join(cfg.DataDir, "state.db"))
		if err != nil {
			return nil, fmt.Errorf("bolt store: %w", err)
		}
		return st, nil
	}
}

// accessLogStore writes stage access logs into the CloudWatch Logs store, under the
// log group their accessLogSettings name.
type accessLogStore struct{ logs *fnlogs.Store }

func (a accessLogStore) AppendAccessLog(group, stream string, t time.Time, line string) {
	a.logs.Append(cwlogs.StoreKey(group), stream, t, line)
}

// observers hands each gateway observation to several observers in turn.
type observers []gateway.Observer

func (o observers) ObserveRequest(apiID, stage, route string, status int, latency, integration time.Duration) {
	for _, x := range o {
		x.ObserveRequest(apiID, stage, route, status, latency, integration)
	}
}

func (o observers) ObserveCompile(d time.Duration) {
	for _, x := range o {
		x.ObserveCompile(d)
	}
}

// clusterSize follows the number of registered nodes (at least 1), refreshed every
// second until the node closes; a failed read keeps the last count.
func clusterSize(ctx context.Context, n *node) func() int {
	var size atomic.Int64
	size.Store(1)
	ctx, stop := context.WithCancel(ctx)
	n.closers = append(n.closers, func() error { stop(); return nil })
	refresh := func() {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if ms, err := n.cluster.Members(rctx); err == nil && len(ms) > 0 {
			size.Store(int64(len(ms)))
		}
	}
	refresh()
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				refresh()
			}
		}
	}()
	return func() int { return int(size.Load()) }
}

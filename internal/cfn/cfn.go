// Package cfn is Sluice's CloudFormation: one stack engine behind the
// CloudFormation API (Query protocol, XML), with the SAM transform applied
// server-side. Stacks, their resources and events live in the store; resources are
// created by calling Sluice's own AWS APIs in process (the requests the AWS CLI
// would send), so every validation and error text stays with its service.
// `sluice deploy` is a client of this API.
package cfn

import (
	"context"
	"log/slog"
	"net/http"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/sluice-dev/sluice/internal/store"
)

// Namespace of the CloudFormation API's XML.
const Namespace = "http://cloudformation.amazonaws.com/doc/2010-05-15/"

// Options configure the service.
type Options struct {
	Store     store.Store
	Region    string
	AccountID string
	// API serves the AWS requests the engine makes to create resources (the
	// node's control-plane dispatcher).
	API http.Handler
	// AccessKeyID and SecretAccessKey sign those requests: the root key in verify
	// mode (CloudFormation acts with the account's authority, as it does on AWS
	// without a service role).
	AccessKeyID, SecretAccessKey string
	Logger                       *slog.Logger
	// NodeID names this node in the stack operations it runs (resume.go).
	NodeID string
	// NodeAlive reports whether a node of the cluster is still registered; nil
	// with a single node, where an operation this process is not running was
	// interrupted.
	NodeAlive func(ctx context.Context, id string) (bool, error)
}

// Service is the CloudFormation control plane.
type Service struct {
	store           store.Store
	region, account string
	caller          *caller
	log             *slog.Logger
	nodeID          string
	nodeAlive       func(ctx context.Context, id string) (bool, error)

	// mu guards ctx and running; wg counts running stack operations.
	mu  sync.Mutex
	ctx context.Context
	// running holds the ids of the stacks whose operation this process runs.
	running map[string]bool
	wg      sync.WaitGroup
}

// New builds the service; Start must be called before it serves.
func New(o Options) *Service {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Service{
		store: o.Store, region: o.Region, account: o.AccountID, log: log,
		caller: &caller{handler: o.API, region: o.Region, signer: v4.NewSigner(),
			creds: aws.Credentials{AccessKeyID: o.AccessKeyID, SecretAccessKey: o.SecretAccessKey}},
		ctx: context.Background(), nodeID: o.NodeID, nodeAlive: o.NodeAlive, running: map[string]bool{},
	}
}

// Start sets the context stack operations run under: they stop when it is done.
func (s *Service) Start(ctx context.Context) {
	s.mu.Lock()
	s.ctx = ctx
	s.mu.Unlock()
}

// Wait returns when every running stack operation has returned.
func (s *Service) Wait() { s.wg.Wait() }

// run starts fn in the background under the service's context.
func (s *Service) run(fn func(ctx context.Context)) {
	s.mu.Lock()
	ctx := s.ctx
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn(ctx)
	}()
}

// runOp starts a stack operation begun with begin in the background, as
// CloudFormation does: the API call returns, the stack's status and events
// report progress.
func (s *Service) runOp(o *op, fn func(ctx context.Context)) {
	s.run(func(ctx context.Context) {
		defer s.forget(o.rec.StackID)
		fn(ctx)
	})
}

// forget notes that this process no longer runs the stack's operation.
func (s *Service) forget(stackID string) {
	s.mu.Lock()
	delete(s.running, stackID)
	s.mu.Unlock()
}

// runsHere reports whether this process runs the stack's operation.
func (s *Service) runsHere(stackID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running[stackID]
}

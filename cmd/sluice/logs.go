package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/internal/fnlogs"
)

func newLogsCommand() *cobra.Command {
	var (
		endpoint, since string
		follow          bool
	)
	cmd := &cobra.Command{
		Use:   "logs FUNCTION",
		Short: "Print a function's logs (START/END/REPORT and its output)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// A server in verify mode wants the request signed; sign with the same
			// credentials the AWS CLI would use, when they are in the environment.
			if id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
				http.DefaultClient.Transport = &signingTransport{
					creds:  aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: os.Getenv("AWS_SESSION_TOKEN")},
					region: envOr("AWS_REGION", envOr("AWS_DEFAULT_REGION", "us-east-1")),
				}
			}
			return fnlogs.Tail(ctx, endpoint, args[0], since, follow, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&endpoint, "endpoint-url", envOr("SLUICE_ENDPOINT_URL", "http://127.0.0.1:4566"), "Sluice's address")
	f.StringVar(&since, "since", "", "how far back to start: a duration (10m) or an RFC 3339 time (default 10m)")
	f.BoolVarP(&follow, "follow", "f", false, "keep printing new lines as they arrive")
	return cmd
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// signingTransport signs each request with SigV4 for the "lambda" service.
type signingTransport struct {
	creds  aws.Credentials
	region string
}

func (t *signingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	empty := sha256.Sum256(nil)
	if err := v4.NewSigner().SignHTTP(context.Background(), t.creds, r, hex.EncodeToString(empty[:]), "lambda", t.region, time.Now()); err != nil {
		return nil, err
	}
	return http.DefaultTransport.RoundTrip(r)
}

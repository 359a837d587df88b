package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/sluice-dev/sluice/internal/logtail"
	"github.com/sluice-dev/sluice/internal/server"
)

func newLogsCommand() *cobra.Command {
	var (
		endpoint, since, pattern, configFile string
		follow                               bool
	)
	cmd := &cobra.Command{
		Use:   "logs FUNCTION",
		Short: "Print a function's logs (START/END/REPORT and its output) from the CloudWatch Logs API",
		Long: "Print the log group /aws/lambda/FUNCTION through the CloudWatch Logs API (FilterLogEvents), as\n" +
			"`aws logs tail` does. The server is --endpoint-url, else $AWS_ENDPOINT_URL, else the listen\n" +
			"address of the Sluice configuration (--config / $SLUICE_CONFIG, $SLUICE_LISTEN; default\n" +
			"127.0.0.1:4566). Requests are signed with the usual AWS credentials ($AWS_ACCESS_KEY_ID, profiles);\n" +
			"without any, with a placeholder key that only a server in open auth mode accepts.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			from, err := logtail.ParseSince(since, time.Now())
			if err != nil {
				return err
			}
			cfg, err := logsClientConfig(ctx, endpoint, configFile)
			if err != nil {
				return err
			}
			fn := args[0]
			err = logtail.Tail(ctx, cloudwatchlogs.NewFromConfig(cfg), logtail.Options{
				Group: "/aws/lambda/" + fn, Since: from, FilterPattern: pattern, Follow: follow,
			}, cmd.OutOrStdout())
			if errors.Is(err, logtail.ErrGroupNotFound) {
				// Lambda makes a function's log group at its first invocation: a
				// function that has not run has no lines, which is not an error.
				if _, ferr := lambda.NewFromConfig(cfg).GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fn)}); ferr != nil {
					return fmt.Errorf("logs for %s: %s", fn, apiErrorText(ferr))
				}
				return nil
			}
			if err != nil {
				return fmt.Errorf("logs for %s: %s", fn, apiErrorText(err))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&endpoint, "endpoint-url", "", "Sluice's URL (default $AWS_ENDPOINT_URL, else the configured --listen address)")
	f.StringVar(&configFile, "config", "", "sluice.yaml whose listen (or public-endpoint) names the server")
	f.StringVar(&since, "since", "", "how far back to start: a duration (10m) or an RFC 3339 time (default 10m)")
	f.StringVar(&pattern, "filter-pattern", "", `only events matching this CloudWatch Logs filter pattern (ERROR, "two words", { $.level = "ERROR" })`)
	f.BoolVarP(&follow, "follow", "f", false, "keep printing new lines as they arrive (Ctrl-C stops)")
	return cmd
}

// apiErrorText is an AWS error as the AWS CLI prints it, "Code: message", rather
// than the SDK's whole operation chain; other errors as they are.
func apiErrorText(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	return err.Error()
}

// logsClientConfig is the AWS SDK configuration `sluice logs` calls with: the
// usual credential and region chain, the endpoint chosen by logsEndpoint, and a
// placeholder key when the chain has none (open mode accepts any well-formed
// signature; verify mode refuses it with its own clear error).
func logsClientConfig(ctx context.Context, flagEndpoint, configFile string) (aws.Config, error) {
	endpoint, region, err := logsEndpoint(flagEndpoint, configFile)
	if err != nil {
		return aws.Config{}, err
	}
	// No instance metadata: a key for Sluice comes from the environment or the
	// shared files, and probing IMDS off EC2 only costs a timeout and a warning.
	cfg, err := config.LoadDefaultConfig(ctx, config.WithDefaultRegion(region),
		config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	cfg.BaseEndpoint = aws.String(endpoint)
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		cfg.Credentials = credentials.NewStaticCredentialsProvider("SLUICEANONYMOUS", "sluice-open-mode", "")
	}
	return cfg, nil
}

// logsEndpoint picks the server: --endpoint-url, $SLUICE_ENDPOINT_URL (older
// name), $AWS_ENDPOINT_URL, else the Sluice configuration's public endpoint or
// listen address (a wildcard listen host means this machine's loopback). It also
// returns the configuration's region, the default when the AWS chain names none.
func logsEndpoint(flagEndpoint, configFile string) (endpoint, region string, err error) {
	v := viper.New()
	v.SetEnvPrefix("SLUICE")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	d := server.Defaults()
	v.SetDefault("listen", d.Listen)
	v.SetDefault("region", d.Region)
	v.SetDefault("public-endpoint", "")
	if configFile == "" {
		configFile = os.Getenv("SLUICE_CONFIG")
	}
	if configFile != "" {
		v.SetConfigFile(configFile)
		if err := v.ReadInConfig(); err != nil {
			return "", "", fmt.Errorf("read config %s: %w", configFile, err)
		}
	}
	region = v.GetString("region")
	for _, e := range []string{flagEndpoint, os.Getenv("SLUICE_ENDPOINT_URL"), os.Getenv("AWS_ENDPOINT_URL"), v.GetString("public-endpoint")} {
		if e != "" {
			return e, region, nil
		}
	}
	listen := v.GetString("listen")
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", "", fmt.Errorf("listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port), region, nil
}

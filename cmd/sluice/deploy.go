package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/internal/deploy"
)

func newDeployCommand() *cobra.Command {
	var (
		template, stackName, endpoint, configFile, bucket string
		overrides, caps                                   []string
		del                                               bool
	)
	cmd := &cobra.Command{
		Use:   "deploy [--parameter-overrides] [KEY=VALUE ...]",
		Short: "Deploy a SAM or CloudFormation template: package local code into S3, create or update the stack",
		Long: "Zip each local CodeUri folder of the template, upload the zips to --s3-bucket (keyed by their\n" +
			"SHA-256, so unchanged code is not uploaded again), then create or update the stack through the\n" +
			"CloudFormation API with a change set, printing each resource's events, the stack's Outputs and\n" +
			"the URLs of its HTTP APIs and REST API stages. A redeploy with nothing changed changes nothing. --delete deletes the stack\n" +
			"and what it created. The server is --endpoint-url, else $AWS_ENDPOINT_URL, else the listen\n" +
			"address of the Sluice configuration; requests are signed with the usual AWS credentials.",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			cfg, err := logsClientConfig(ctx, endpoint, configFile)
			if err != nil {
				return err
			}
			clients := deploy.Clients{
				Stacks:  cloudformation.NewFromConfig(cfg),
				Objects: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
				APIs:    apigatewayv2.NewFromConfig(cfg),

				RestAPIs: apigateway.NewFromConfig(cfg),
				Endpoint: aws.ToString(cfg.BaseEndpoint),
			}
			out := cmd.OutOrStdout()
			if del {
				return deploy.Delete(ctx, clients, stackName, 0, out)
			}
			params := map[string]string{}
			// `--parameter-overrides a=1 b=2` leaves b=2 as an argument: both forms count.
			for _, kv := range append(append([]string{}, overrides...), args...) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return fmt.Errorf("parameter override %q: want KEY=VALUE", kv)
				}
				params[k] = v
			}
			return deploy.Deploy(ctx, clients, deploy.Options{Template: template, StackName: stackName, Parameters: params,
				Bucket: bucket, Capabilities: caps}, out)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&template, "template", "t", "template.yaml", "the SAM or CloudFormation template")
	f.StringVar(&stackName, "stack-name", "sluice-app", "the stack to create or update")
	f.StringArrayVar(&overrides, "parameter-overrides", nil, "template parameters as KEY=VALUE (repeatable)")
	f.StringVar(&bucket, "s3-bucket", "sluice-deploy-artifacts", "the bucket code zips are uploaded to (created if missing)")
	f.StringSliceVar(&caps, "capabilities", nil, "capabilities granted (default CAPABILITY_IAM,CAPABILITY_NAMED_IAM,CAPABILITY_AUTO_EXPAND)")
	f.StringVar(&endpoint, "endpoint-url", "", "Sluice's URL (default $AWS_ENDPOINT_URL, else the configured --listen address)")
	f.StringVar(&configFile, "config", "", "sluice.yaml whose listen (or public-endpoint) names the server")
	f.BoolVar(&del, "delete", false, "delete the stack and everything it created")
	return cmd
}

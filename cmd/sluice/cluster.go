package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/internal/server"
)

func newClusterCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Inspect a Sluice cluster (nodes sharing one etcd)",
	}
	var endpoint, configFile, output string
	status := &cobra.Command{
		Use:   "status",
		Short: "List the live nodes of the cluster, as registered in etcd",
		Long: "Ask one node (--endpoint-url, else $AWS_ENDPOINT_URL, else the configured listen address)\n" +
			"for the nodes registered in etcd: id, address, version, start time, and which one is the\n" +
			"leader. A node killed without warning drops out within its lease TTL (5 s). The request is\n" +
			"signed with the usual AWS credentials, as `sluice logs` signs.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
			defer cancel()
			st, err := fetchClusterStatus(ctx, endpoint, configFile)
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NODE\tADDRESS\tVERSION\tSTARTED\tROLE")
			for _, m := range st.Nodes {
				role := ""
				if m.ID == st.Leader {
					role = "leader"
				}
				if m.ID == st.Self {
					role = strings.TrimPrefix(role+",answered", ",")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.ID, m.Address, m.Version, m.Started.Format(time.RFC3339), role)
			}
			return tw.Flush()
		},
	}
	f := status.Flags()
	f.StringVar(&endpoint, "endpoint-url", "", "a node's URL (default $AWS_ENDPOINT_URL, else the configured --listen address)")
	f.StringVar(&configFile, "config", "", "sluice.yaml whose listen (or public-endpoint) names the node")
	f.StringVarP(&output, "output", "o", "table", "table or json")
	cmd.AddCommand(status)
	return cmd
}

// fetchClusterStatus GETs /_sluice/cluster, signed with SigV4.
func fetchClusterStatus(ctx context.Context, flagEndpoint, configFile string) (*server.ClusterStatus, error) {
	cfg, err := logsClientConfig(ctx, flagEndpoint, configFile)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(*cfg.BaseEndpoint, "/")+"/_sluice/cluster", nil)
	if err != nil {
		return nil, err
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	empty := sha256.Sum256(nil)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(empty[:]), "sluice", cfg.Region, time.Now()); err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cluster status: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("cluster status from %s: %s %s", req.URL.Host, resp.Status, strings.TrimSpace(string(body)))
	}
	var st server.ClusterStatus
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("cluster status: %w", err)
	}
	return &st, nil
}

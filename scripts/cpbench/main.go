// Command cpbench measures a control plane's throughput and latency on a mix of
// create/get/update calls to API Gateway (REST and HTTP APIs) and Lambda, made with
// aws-sdk-go-v2 clients by several workers at once, so that the client is not the
// bottleneck. It prints one Markdown table row per operation family and one total.
// scripts/bench.sh runs it against Sluice and moto_server in the same run.
//
//	go run ./scripts/cpbench --endpoint http://127.0.0.1:4577 --label sluice
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func main() {
	endpoint := flag.String("endpoint", "http://127.0.0.1:4566", "control-plane endpoint")
	label := flag.String("label", "target", "name printed in the table")
	duration := flag.Duration("duration", 8*time.Second, "how long to run")
	workers := flag.Int("workers", 8, "concurrent workers, each with its own APIs and functions")
	role := flag.String("role", "arn:aws:iam::123456789012:role/cpbench", "execution role of the functions created")
	header := flag.Bool("header", false, "print the table header first")
	scale := flag.Int("scale-functions", 0, "instead of the mix: create this many functions from --code-zip, invoke each once, and report how that scales")
	codeZip := flag.String("code-zip", "", "with --scale-functions: a provided.al2023 function's zip")
	pid := flag.Int("pid", 0, "with --scale-functions: the server's pid, for its resident memory")
	flag.Parse()

	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  aws.CredentialsProviderFunc(staticCreds),
		BaseEndpoint: endpoint,
		// No retries: a throttle or conflict is counted, not hidden.
		RetryMaxAttempts: 1,
	}
	rest := apigateway.NewFromConfig(cfg)
	httpAPI := apigatewayv2.NewFromConfig(cfg)
	fns := lambda.NewFromConfig(cfg)
	code := zipOf("index.py", "def handler(event, context):\n    return {'ok': True}\n")
	if *scale > 0 {
		zip, err := os.ReadFile(*codeZip)
		if err != nil {
			log.Fatal(err)
		}
		scaleFunctions(lambda.NewFromConfig(cfg), *label, *role, zip, *scale, *pid)
		return
	}

	ctx := context.Background()
	families := []string{"REST API resources", "HTTP API routes", "Lambda functions"}
	type sample struct {
		family int
		d      time.Duration
		err    error
	}
	results := make(chan sample, 1<<16)
	var wg sync.WaitGroup
	deadline := time.Now().Add(*duration)
	for w := range *workers {
		wg.Go(func() {
			call := func(family int, f func() error) {
				t0 := time.Now()
				err := f()
				results <- sample{family, time.Since(t0), err}
			}
			restAPI, err := rest.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String(fmt.Sprintf("cpbench-%d", w))})
			if err != nil {
				log.Fatalf("%s: CreateRestApi: %v", *label, err)
			}
			httpOut, err := httpAPI.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String(fmt.Sprintf("cpbench-%d", w)), ProtocolType: "HTTP"})
			if err != nil {
				log.Fatalf("%s: CreateApi: %v", *label, err)
			}
			root, err := rest.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: restAPI.Id})
			if err != nil || len(root.Items) == 0 {
				log.Fatalf("%s: GetResources: %v", *label, err)
			}
			for i := 0; time.Now().Before(deadline); i++ {
				var resID, routeID *string
				call(0, func() error {
					out, err := rest.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: restAPI.Id, ParentId: root.Items[0].Id,
						PathPart: aws.String(fmt.Sprintf("r%d", i))})
					if err == nil {
						resID = out.Id
					}
					return err
				})
				if resID != nil {
					call(0, func() error {
						_, err := rest.GetResource(ctx, &apigateway.GetResourceInput{RestApiId: restAPI.Id, ResourceId: resID})
						return err
					})
				}
				call(0, func() error {
					_, err := rest.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: restAPI.Id, PatchOperations: []agtypes.PatchOperation{
						{Op: agtypes.OpReplace, Path: aws.String("/description"), Value: aws.String(fmt.Sprint(i))}}})
					return err
				})
				call(1, func() error {
					out, err := httpAPI.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: httpOut.ApiId, RouteKey: aws.String(fmt.Sprintf("GET /r%d", i))})
					if err == nil {
						routeID = out.RouteId
					}
					return err
				})
				if routeID != nil {
					call(1, func() error {
						_, err := httpAPI.GetRoute(ctx, &apigatewayv2.GetRouteInput{ApiId: httpOut.ApiId, RouteId: routeID})
						return err
					})
					call(1, func() error {
						_, err := httpAPI.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{ApiId: httpOut.ApiId, RouteId: routeID,
							OperationName: aws.String(fmt.Sprint("op", i))})
						return err
					})
				}
				name := aws.String(fmt.Sprintf("cpbench-%d-%d", w, i))
				created := false
				call(2, func() error {
					_, err := fns.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: name, Runtime: lambdatypes.RuntimePython312,
						Handler: aws.String("index.handler"), Role: role, Code: &lambdatypes.FunctionCode{ZipFile: code}})
					created = err == nil
					return err
				})
				if created {
					call(2, func() error {
						_, err := fns.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: name})
						return err
					})
					call(2, func() error {
						_, err := fns.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String("arn:aws:lambda:us-east-1:123456789012:function:" + *name),
							Tags: map[string]string{"i": fmt.Sprint(i)}})
						return err
					})
				}
			}
		})
	}
	go func() { wg.Wait(); close(results) }()
	var all []time.Duration
	per := make([][]time.Duration, len(families))
	errs := make([]int, len(families))
	var firstErr error
	for s := range results {
		if s.err != nil {
			errs[s.family]++
			if firstErr == nil {
				firstErr = s.err
			}
			continue
		}
		per[s.family] = append(per[s.family], s.d)
		all = append(all, s.d)
	}
	if *header {
		fmt.Println("| target | operations | ops/s | p50 ms | p99 ms | p99/p50 | errors |")
		fmt.Println("|---|---|---:|---:|---:|---:|---:|")
	}
	secs := duration.Seconds()
	for i, f := range families {
		row(*label, f, per[i], errs[i], secs)
	}
	total := 0
	for _, e := range errs {
		total += e
	}
	row(*label, "all (create/get/update mix)", all, total, secs)
	if firstErr != nil {
		fmt.Fprintf(os.Stderr, "%s: first error: %v\n", *label, firstErr)
	}
}

func row(label, family string, ds []time.Duration, errs int, secs float64) {
	if len(ds) == 0 {
		fmt.Printf("| %s | %s | 0 | | | | %d |\n", label, family, errs)
		return
	}
	slices.Sort(ds)
	p50, p99 := ds[len(ds)/2], ds[len(ds)*99/100]
	fmt.Printf("| %s | %s | %.0f | %.2f | %.2f | %.1f | %d |\n", label, family, float64(len(ds))/secs,
		ms(p50), ms(p99), float64(p99)/float64(p50), errs)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func staticCreds(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: envOr("AWS_ACCESS_KEY_ID", "AKIDBENCH"), SecretAccessKey: envOr("AWS_SECRET_ACCESS_KEY", "bench")}, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func zipOf(name, body string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create(name)
	_, _ = w.Write([]byte(body))
	_ = zw.Close()
	return buf.Bytes()
}

// scaleFunctions creates n functions, invokes each once (a cold start each), and
// reports the create and invoke latencies of the first and last hundred, a warm
// invoke of the first function before and after, and the server's resident memory
// per idle function.
func scaleFunctions(fns *lambda.Client, label, role string, code []byte, n, pid int) {
	ctx := context.Background()
	name := func(i int) *string { return aws.String(fmt.Sprintf("scale-%05d", i)) }
	create := func(i int) time.Duration {
		t0 := time.Now()
		if _, err := fns.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: name(i), Runtime: lambdatypes.RuntimeProvidedal2023,
			Handler: aws.String("bootstrap"), Role: aws.String(role), Code: &lambdatypes.FunctionCode{ZipFile: code}}); err != nil {
			log.Fatalf("create %d: %v", i, err)
		}
		return time.Since(t0)
	}
	invoke := func(i int) time.Duration {
		t0 := time.Now()
		out, err := fns.Invoke(ctx, &lambda.InvokeInput{FunctionName: name(i), Payload: []byte(`{}`)})
		if err != nil || out.FunctionError != nil {
			log.Fatalf("invoke %d: %v %v", i, err, out)
		}
		return time.Since(t0)
	}
	warm := func() time.Duration { // median of 21 warm invokes of function 0
		var ds []time.Duration
		for range 21 {
			ds = append(ds, invoke(0))
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	rss0 := rssMB(pid)
	creates := make([]time.Duration, n)
	for i := range n {
		creates[i] = create(i)
	}
	rssCreated := rssMB(pid)
	invoke(0)
	warmBefore := warm()
	invokes := make([]time.Duration, n)
	for i := range n {
		invokes[i] = invoke(i)
	}
	warmAfter := warm()
	median := func(ds []time.Duration) float64 {
		c := slices.Clone(ds)
		slices.Sort(c)
		return ms(c[len(c)/2])
	}
	k := min(100, n)
	fmt.Printf("| %s | %d | %.2f / %.2f | %.2f / %.2f | %.3f / %.3f | %.0f | %.1f |\n", label, n,
		median(creates[:k]), median(creates[n-k:]), median(invokes[:k]), median(invokes[n-k:]),
		ms(warmBefore), ms(warmAfter), rssCreated-rss0, (rssCreated-rss0)*1024/float64(n))
}

// rssMB is a process's resident memory (VmRSS) in MB; 0 without a pid.
func rssMB(pid int) float64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	var kb float64
	for _, line := range bytes.Split(b, []byte("\n")) {
		if f := bytes.Fields(line); len(f) >= 2 && string(f[0]) == "VmRSS:" {
			fmt.Sscan(string(f[1]), &kb)
		}
	}
	return kb / 1024
}

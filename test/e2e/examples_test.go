package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"image"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// runExample runs an example's deploy.sh against s, as its README says to, and
// returns what it printed.
func runExample(t *testing.T, s *instance, script string, args ...string) string {
	t.Helper()
	return runExampleEnv(t, s, nil, script, args...)
}

// runExampleEnv is runExample with more environment variables.
func runExampleEnv(t *testing.T, s *instance, env []string, script string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{script}, args...)...)
	cmd.Env = append(append(awsEnv(), "ENDPOINT="+s.URL, "SLUICE="+sluiceBin), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash %s: %v\n%s", script, err, out)
	}
	return string(out)
}

// examples/email-service (seed scenario 1) as SAM: deploy.sh deploys template.yaml
// with `sluice deploy` and calls the stage v1 with curl. A second run changes
// nothing; a one-line change to the handler updates the function's code under the
// same REST API; the AWS CLI path (`aws cloudformation package` + `deploy`) deploys
// the same template as another stack; nothing is left in the example's folder.
func TestEmailServiceDeployTwice(t *testing.T) {
	s := startSluice(t, startOpts{})
	dir := filepath.Join("..", "..", "examples", "email-service")
	before := listDir(t, dir)
	answers := func(run, out string, sent string) {
		t.Helper()
		for _, want := range []string{`POST /v1/email/send → {"sent":` + sent, `GET  /v1/email/ping → {"pong":true`,
			`GET  /v1/nothing    → {"message":"Missing Authentication Token"}`} {
			if !strings.Contains(out, want) {
				t.Fatalf("%s: no %q in:\n%s", run, want, out)
			}
		}
	}
	first := runExample(t, s, filepath.Join(dir, "deploy.sh"))
	answers("first run", first, "true")
	for _, want := range []string{"Stack email-service is CREATE_COMPLETE", "EmailProxyPermissionv1",
		"EmailApiv1Stage", "/_user_request_/"} {
		if !strings.Contains(first, want) {
			t.Fatalf("first run: no %q in:\n%s", want, first)
		}
	}
	apiID := stackOutputs(s.describeStack(t, "email-service"))["ApiId"]
	if !strings.Contains(first, "stage v1: "+s.URL+"/restapis/"+apiID+"/v1/_user_request_/") {
		t.Fatalf("first run: no stage URL for API %q:\n%s", apiID, first)
	}
	fn := stackResource(t, s, "email-service", "Email")
	code := func() string {
		return str(s.awsJSON("lambda", "get-function-configuration", "--function-name", fn)["CodeSha256"])
	}
	sha := code()

	second := runExample(t, s, filepath.Join(dir, "deploy.sh"))
	answers("second run", second, "true")
	if !strings.Contains(second, "No changes to deploy") || code() != sha {
		t.Fatalf("second run changed something (code %s, was %s):\n%s", code(), sha, second)
	}

	// A one-line handler change, in a copy of the folder: new code, same API.
	edited := filepath.Join(t.TempDir(), "email-service")
	if err := os.CopyFS(edited, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	handler := filepath.Join(edited, "email", "index.js")
	src, err := os.ReadFile(handler)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(src), "result = { sent: true };", "result = { sent: \"queued\" };", 1)
	if changed == string(src) {
		t.Fatalf("%s has no line `result = { sent: true };` to change", handler)
	}
	if err := os.WriteFile(handler, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	third := runExample(t, s, filepath.Join(edited, "deploy.sh"))
	answers("run after the handler change", third, `"queued"`)
	if !strings.Contains(third, "Stack email-service is UPDATE_COMPLETE") || code() == sha {
		t.Fatalf("the handler change did not update the code (code %s, was %s):\n%s", code(), sha, third)
	}
	if got := stackOutputs(s.describeStack(t, "email-service"))["ApiId"]; got != apiID {
		t.Fatalf("API id after the handler change = %q, want %q", got, apiID)
	}
	if apis := s.awsJSON("apigateway", "get-rest-apis")["items"].([]any); len(apis) != 1 {
		t.Fatalf("three runs made %d REST APIs, want 1: %v", len(apis), apis)
	}

	// The AWS CLI's way, as another stack.
	cli := runExampleEnv(t, s, []string{"DEPLOY_WITH=aws", "STACK=email-service-cli"}, filepath.Join(dir, "deploy.sh"))
	answers("DEPLOY_WITH=aws", cli, "true")
	if !strings.Contains(cli, "Successfully created/updated stack - email-service-cli") {
		t.Fatalf("DEPLOY_WITH=aws:\n%s", cli)
	}
	if cliAPI := stackOutputs(s.describeStack(t, "email-service-cli"))["ApiId"]; cliAPI == apiID ||
		!strings.Contains(cli, "stage v1: "+s.URL+"/restapis/"+cliAPI+"/v1/_user_request_/") {
		t.Fatalf("DEPLOY_WITH=aws: API %q (the first stack's is %q):\n%s", cliAPI, apiID, cli)
	}
	if again := runExampleEnv(t, s, []string{"DEPLOY_WITH=aws", "STACK=email-service-cli"}, filepath.Join(dir, "deploy.sh")); !strings.Contains(again, "No changes to deploy") {
		t.Fatalf("DEPLOY_WITH=aws, second run:\n%s", again)
	}
	if after := listDir(t, dir); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("deploy.sh left files behind: before %v, after %v", before, after)
	}
}

// stackResource is the physical id of a stack's resource.
func stackResource(t *testing.T, s *instance, stack, logicalID string) string {
	t.Helper()
	r, _ := s.awsJSON("cloudformation", "describe-stack-resource", "--stack-name", stack,
		"--logical-resource-id", logicalID)["StackResourceDetail"].(map[string]any)
	if id := str(r["PhysicalResourceId"]); id != "" {
		return id
	}
	t.Fatalf("stack %s has no resource %s", stack, logicalID)
	return ""
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// examples/token-authorizer: the SAM template deploys with `sluice deploy` and the
// API answers each kind of token as scenario 2 says; a second run changes nothing;
// DEPLOY_WITH=aws deploys it with `aws cloudformation package` + `deploy` as another
// stack that answers the same.
func TestTokenAuthorizerExample(t *testing.T) {
	s := startSluice(t, startOpts{})
	dir := filepath.Join("..", "..", "examples", "token-authorizer")
	before := listDir(t, dir)
	first := runExample(t, s, filepath.Join(dir, "deploy.sh"))
	for _, want := range []string{"Stack token-authorizer is CREATE_COMPLETE", "BlocksApiTokenAuthorizerPermission",
		`token allow-1    → 200 {"blocks": [{"height": 1, "hash": "00ab"}, {"height": 2, "hash": "00cd"}]}`,
		`token deny-1     → 403 {"Message":"User is not authorized to access this resource with an explicit deny"}`,
		`token nonsense   → 401 {"message":"Unauthorized"}`,
		`token (none)     → 401 {"message":"Unauthorized"}`} {
		if !strings.Contains(first, want) {
			t.Fatalf("no %q in:\n%s", want, first)
		}
	}
	// sluice deploy prints the stage's URL, the one deploy.sh calls.
	if m := regexp.MustCompile(`GET (\S+)/restapis/(\w+)/prod/_user_request_/blocks`).FindStringSubmatch(first); m == nil ||
		!strings.Contains(first, "BlocksApi ("+m[2]+") "+m[1]+"/restapis/"+m[2]+"/prod/_user_request_/") {
		t.Fatalf("no REST API URL printed:\n%s", first)
	}
	// The malformed token never reached the authorizer: it ran for allow-1 and deny-1 only.
	fns := s.awsJSON("lambda", "list-functions")["Functions"].([]any)
	var auth string
	for _, f := range fns {
		if name := str(f.(map[string]any)["FunctionName"]); strings.HasPrefix(name, "token-authorizer-TokenAuth-") {
			auth = name
		}
	}
	if got := s.logged(auth, "START RequestId"); len(got) != 2 {
		t.Fatalf("authorizer invocations = %q, want 2", got)
	}
	second := runExample(t, s, filepath.Join(dir, "deploy.sh"))
	if !strings.Contains(second, "No changes to deploy") || !strings.Contains(second, "token allow-1    → 200") {
		t.Fatalf("second run:\n%s", second)
	}
	// The same template through the AWS CLI (package + deploy), as a second stack.
	cli := runExampleEnv(t, s, []string{"DEPLOY_WITH=aws", "STACK=token-authorizer-cli"}, filepath.Join(dir, "deploy.sh"))
	for _, want := range []string{"Successfully created/updated stack - token-authorizer-cli",
		`token allow-1    → 200 {"blocks": [{"height": 1, "hash": "00ab"}, {"height": 2, "hash": "00cd"}]}`,
		`token deny-1     → 403 {"Message":"User is not authorized to access this resource with an explicit deny"}`,
		`token nonsense   → 401 {"message":"Unauthorized"}`,
		`token (none)     → 401 {"message":"Unauthorized"}`} {
		if !strings.Contains(cli, want) {
			t.Fatalf("DEPLOY_WITH=aws: no %q in:\n%s", want, cli)
		}
	}
	if cliAPI := stackOutputs(s.describeStack(t, "token-authorizer-cli"))["ApiId"]; cliAPI == "" ||
		!strings.Contains(cli, "GET "+s.URL+"/restapis/"+cliAPI+"/prod/_user_request_/blocks") {
		t.Fatalf("DEPLOY_WITH=aws: API %q not called:\n%s", cliAPI, cli)
	}
	if after := listDir(t, dir); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("deploy.sh left files behind: before %v, after %v", before, after)
	}
}

// examples/image-pipeline (seed scenario 5) as SAM: deploy.sh builds the two
// functions, deploys template.yaml with `sluice deploy` and uploads a photo through
// the presigned URL; then the test drives it as the browser would. It keeps what
// TestImagePipeline checks of the hand-built pipeline: a URL valid 20 minutes, an
// altered URL or another Content-Type refused, 80 and 500 px JPEG thumbnails. A
// second run changes nothing.
func TestImagePipelineExample(t *testing.T) {
	for _, tool := range []string{"curl", "npm", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	// Verify mode with the CLI's key as root: presigned URLs are checked against a
	// known secret, and the functions' sessions act as their SAM roles.
	s := startSluice(t, startOpts{args: []string{"--auth-mode", "verify"},
		env: []string{"SLUICE_ROOT_ACCESS_KEY_ID=AKIDSLUICETEST", "SLUICE_ROOT_SECRET_ACCESS_KEY=sluice-test-secret"}})
	dir := filepath.Join("..", "..", "examples", "image-pipeline")
	before := listDir(t, dir)
	photo := filepath.Join(t.TempDir(), "cat.jpg")
	if err := os.WriteFile(photo, testJPEG(t, 1200, 800), 0o644); err != nil {
		t.Fatal(err)
	}
	first := runExample(t, s, filepath.Join(dir, "deploy.sh"), photo)
	for _, want := range []string{"Stack image-pipeline is CREATE_COMPLETE", "PresignPresignedUriPermission", "ResizeUploadedPermission",
		"uploaded s3://photos/cat.jpg", "s3://photos-resized/80/cat.jpg.jpg: ", "s3://photos-resized/500/cat.jpg.jpg: "} {
		if !strings.Contains(first, want) {
			t.Fatalf("no %q in:\n%s", want, first)
		}
	}
	apiID := stackOutputs(s.describeStack(t, "image-pipeline"))["ApiId"]

	r := s.awaitStatus(t, 200, "GET", apiID, "/image/presigned-uri?name=cat%20photo.jpg", "")
	var presigned struct{ UploadURL, Key string }
	if err := json.Unmarshal(r.Body, &presigned); err != nil || presigned.UploadURL == "" {
		t.Fatalf("presigned-uri answered %d %s", r.Status, r.Body)
	}
	if !strings.Contains(presigned.UploadURL, "X-Amz-Expires=1200") {
		t.Fatalf("upload URL is not valid for 20 minutes: %s", presigned.UploadURL)
	}
	altered := strings.Replace(presigned.UploadURL, "cat%20photo.jpg", "dog.jpg", 1)
	if code, body := curlUpload(t, altered, photo); code != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") {
		t.Fatalf("altered URL: %d %s", code, body)
	}
	if code, body := curlUploadAs(t, presigned.UploadURL, photo, "image/png"); code != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") {
		t.Fatalf("upload with another Content-Type: %d %s", code, body)
	}
	if code, body := curlUpload(t, presigned.UploadURL, photo); code != 200 {
		t.Fatalf("upload: %d %s", code, body)
	}
	thumbs := t.TempDir()
	for _, w := range []int{80, 500} {
		key := fmt.Sprintf("%d/%s.jpg", w, presigned.Key)
		if !eventually(t, 60*time.Second, func() bool {
			_, _, err := s.awsRaw("s3api", "head-object", "--bucket", "photos-resized", "--key", key)
			return err == nil
		}) {
			t.Fatalf("no thumbnail %s", key)
		}
		out := filepath.Join(thumbs, fmt.Sprintf("%d.jpg", w))
		s.aws("s3", "cp", "--no-progress", "s3://photos-resized/"+key, out)
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		cfg, format, err := image.DecodeConfig(f)
		f.Close()
		if err != nil || format != "jpeg" || cfg.Width != w || cfg.Height != w*800/1200 {
			t.Fatalf("%s: %s %dx%d, %v", key, format, cfg.Width, cfg.Height, err)
		}
	}
	// The bucket's CorsConfiguration lets a browser on another origin PUT.
	pre, err := http.NewRequest(http.MethodOptions, s.URL+"/photos/"+presigned.Key, nil)
	if err != nil {
		t.Fatal(err)
	}
	pre.Header.Set("Origin", "https://app.example.com")
	pre.Header.Set("Access-Control-Request-Method", "PUT")
	resp, err := http.DefaultClient.Do(pre)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") == "" {
		t.Fatalf("CORS preflight on the upload bucket = %d %v", resp.StatusCode, resp.Header)
	}

	second := runExample(t, s, filepath.Join(dir, "deploy.sh"))
	if !strings.Contains(second, "No changes to deploy") {
		t.Fatalf("second run:\n%s", second)
	}

	// The same template through the AWS CLI (package + deploy), as a second stack
	// with its own buckets.
	cli := runExampleEnv(t, s, []string{"DEPLOY_WITH=aws", "STACK=image-pipeline-cli", "BUCKET_NAME=snaps"}, filepath.Join(dir, "deploy.sh"), photo)
	for _, want := range []string{"Successfully created/updated stack - image-pipeline-cli", "uploaded s3://snaps/cat.jpg",
		"s3://snaps-resized/80/cat.jpg.jpg: ", "s3://snaps-resized/500/cat.jpg.jpg: "} {
		if !strings.Contains(cli, want) {
			t.Fatalf("no %q in:\n%s", want, cli)
		}
	}
	if after := listDir(t, dir); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("deploy.sh left files behind: before %v, after %v", before, after)
	}
}

// examples/private-api (seed scenario 3) as SAM: a PRIVATE REST API behind a private
// endpoint, its resource policy, an API key method under a PER_API usage plan and an
// AWS_IAM method, driven by deploy.sh with curl (SigV4 with curl's --aws-sigv4). A
// second run changes nothing in the stack; DEPLOY_WITH=aws deploys it with
// `aws cloudformation package` + `deploy` as another stack that answers the same.
func TestPrivateAPIExample(t *testing.T) {
	const vpce = "vpce-0123456789abcdef0"
	priv := freeAddr(t, "127.0.0.1")
	s := startSluice(t, startOpts{args: []string{"--private-listen", priv + "=" + vpce}})
	dir := filepath.Join("..", "..", "examples", "private-api")
	before := listDir(t, dir)
	env := []string{"PRIVATE=" + priv, "VPCE=" + vpce}
	first := runExampleEnv(t, s, env, filepath.Join(dir, "deploy.sh"))
	for _, want := range []string{"Stack private-api is CREATE_COMPLETE", "PrivateApiUsagePlanKey",
		`items with the key           → 200 {"path": "/items", "apiKeyId": "`,
		`items without a key          → 403 {"message":"Forbidden"}`,
		`items from the public port   → 403 `,
		`admin unsigned               → 403 {"message":"Missing Authentication Token"}`,
		`admin signed (SigV4)         → 200 {"path": "/admin", "apiKeyId": null, "caller": "arn:aws:iam::123456789012:user/private-api-caller"}`} {
		if !strings.Contains(first, want) {
			t.Fatalf("no %q in:\n%s", want, first)
		}
	}
	second := runExampleEnv(t, s, env, filepath.Join(dir, "deploy.sh"))
	if !strings.Contains(second, "No changes to deploy") || !strings.Contains(second, "admin signed (SigV4)         → 200") {
		t.Fatalf("second run:\n%s", second)
	}
	// The same template through the AWS CLI (package + deploy), as a second stack
	// behind the same endpoint, with its own caller.
	cli := runExampleEnv(t, s, append(env, "DEPLOY_WITH=aws", "STACK=private-api-cli"), filepath.Join(dir, "deploy.sh"))
	for _, want := range []string{"Successfully created/updated stack - private-api-cli",
		`items with the key           → 200 {"path": "/items", "apiKeyId": "`,
		`items without a key          → 403 {"message":"Forbidden"}`,
		`items from the public port   → 403 `,
		`admin unsigned               → 403 {"message":"Missing Authentication Token"}`,
		`admin signed (SigV4)         → 200 {"path": "/admin", "apiKeyId": null, "caller": "arn:aws:iam::123456789012:user/private-api-cli-caller"}`} {
		if !strings.Contains(cli, want) {
			t.Fatalf("DEPLOY_WITH=aws: no %q in:\n%s", want, cli)
		}
	}
	if cliAPI := stackOutputs(s.describeStack(t, "private-api-cli"))["ApiId"]; cliAPI == "" ||
		!strings.Contains(cli, "API "+cliAPI+" at ") {
		t.Fatalf("DEPLOY_WITH=aws: API %q not called:\n%s", cliAPI, cli)
	}
	if after := listDir(t, dir); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("deploy.sh left files behind: before %v, after %v", before, after)
	}
}

// examples/static-front (seed scenario 4) as SAM: two HTTP APIs forwarding to
// upstream services (HTTP proxy integrations, run by the test) through one listener
// on the address the operator gives, picked by Host, and through their custom
// domain names (SAM's HttpApi Domain) on the TLS listener, with the demo
// certificate deploy.sh imports. A second run changes nothing.
func TestStaticFrontExample(t *testing.T) {
	upstream := func(name string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"service":%q,"path":%q}`, name, r.URL.Path)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	orders, users := upstream("orders"), upstream("users")
	front, tlsFront := freeAddr(t, "127.0.0.1"), freeAddr(t, "127.0.0.1")
	s := startSluice(t, startOpts{args: []string{"--data-listen", front, "--tls-listen", tlsFront}})
	dir := filepath.Join("..", "..", "examples", "static-front")
	before := listDir(t, dir)
	env := []string{"FRONT=" + front, "TLS_FRONT=" + tlsFront, "ORDERS=" + orders.URL, "USERS=" + users.URL}
	domainLine := func(domain, path, body string) string {
		return fmt.Sprintf("%-44s %-14s → 200 %s", "https://"+domain, path, body)
	}
	first := runExampleEnv(t, s, env, filepath.Join(dir, "deploy.sh"))
	outs := stackOutputs(s.describeStack(t, "static-front"))
	for _, want := range []string{"Stack static-front is CREATE_COMPLETE", "both APIs on http://" + front,
		outs["OrdersApiId"] + `.execute-api.localhost             /orders/42     → 200 {"service":"orders","path":"/orders/42"}`,
		`→ 200 {"service":"users","path":"/users/alice"}`,
		`→ 200 {"service":"users","path":"/health"}`,
		"imported a demo certificate for orders.front.test and users.front.test: arn:aws:acm:",
		"custom domains on https://" + tlsFront,
		domainLine("orders.front.test", "/orders/42", `{"service":"orders","path":"/orders/42"}`),
		domainLine("users.front.test", "/users/alice", `{"service":"users","path":"/users/alice"}`)} {
		if !strings.Contains(first, want) {
			t.Fatalf("no %q in:\n%s", want, first)
		}
	}
	second := runExampleEnv(t, s, env, filepath.Join(dir, "deploy.sh"))
	if !strings.Contains(second, "No changes to deploy") || !strings.Contains(second, `{"service":"orders","path":"/orders/42"}`) ||
		strings.Contains(second, "imported a demo certificate") ||
		!strings.Contains(second, domainLine("users.front.test", "/users/alice", `{"service":"users","path":"/users/alice"}`)) {
		t.Fatalf("second run:\n%s", second)
	}
	if after := listDir(t, dir); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("deploy.sh left files behind: before %v, after %v", before, after)
	}
	// Each API has its domain name on the shared TLS listener: the name (SNI and
	// Host) picks the API, whatever the path, and the certificate is the one
	// imported once, trusted through the chain ACM holds.
	t.Run("custom domains", func(t *testing.T) {
		var certs []string
		for _, c := range s.awsJSON("acm", "list-certificates")["CertificateSummaryList"].([]any) {
			if c := c.(map[string]any); c["DomainName"] == "orders.front.test" {
				certs = append(certs, str(c["CertificateArn"]))
			}
		}
		if len(certs) != 1 {
			t.Fatalf("certificates for orders.front.test after two runs = %v, want one", certs)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(str(s.awsJSON("acm", "get-certificate", "--certificate-arn", certs[0])["CertificateChain"]))) {
			t.Fatal("no CA in the certificate's chain")
		}
		for _, c := range []struct{ domain, api, service string }{
			{"orders.front.test", outs["OrdersApiId"], "orders"}, {"users.front.test", outs["UsersApiId"], "users"}} {
			maps := s.awsJSON("apigatewayv2", "get-api-mappings", "--domain-name", c.domain)["Items"].([]any)
			if len(maps) != 1 || maps[0].(map[string]any)["ApiId"] != c.api || maps[0].(map[string]any)["Stage"] != "$default" {
				t.Fatalf("%s mappings = %v, want %s at the root on $default", c.domain, maps, c.api)
			}
			for _, path := range []string{"/orders/7", "/users/bob"} {
				r, st := tlsGet(t, tlsFront, c.domain, path, pool)
				if want := fmt.Sprintf(`{"service":%q,"path":%q}`, c.service, path); r.Status != 200 || string(r.Body) != want {
					t.Fatalf("https://%s%s = %d %s, want 200 %s", c.domain, path, r.Status, r.Body, want)
				}
				if st.PeerCertificates[0].Subject.CommonName != "orders.front.test" || st.Version < tls.VersionTLS12 {
					t.Fatalf("https://%s served %q over %x", c.domain, st.PeerCertificates[0].Subject.CommonName, st.Version)
				}
			}
		}
		if outs["OrdersUrl"] != "https://orders.front.test" || outs["UsersUrl"] != "https://users.front.test" {
			t.Fatalf("outputs = %v", outs)
		}
	})
	// The same template through the AWS CLI (aws cloudformation deploy), as a second
	// stack with domain names of its own; a second run changes nothing.
	t.Run("aws cloudformation deploy", func(t *testing.T) {
		cli := append(env, "DEPLOY_WITH=aws", "STACK=static-front-cli", "ORDERS_DOMAIN=orders.cli.test", "USERS_DOMAIN=users.cli.test")
		out := runExampleEnv(t, s, cli, filepath.Join(dir, "deploy.sh"))
		cliOuts := stackOutputs(s.describeStack(t, "static-front-cli"))
		for _, want := range []string{"Successfully created/updated stack - static-front-cli",
			cliOuts["OrdersApiId"] + `.execute-api.localhost             /orders/42     → 200 {"service":"orders","path":"/orders/42"}`,
			domainLine("users.cli.test", "/users/alice", `{"service":"users","path":"/users/alice"}`)} {
			if !strings.Contains(out, want) {
				t.Fatalf("no %q in:\n%s", want, out)
			}
		}
		if cliOuts["OrdersApiId"] == outs["OrdersApiId"] {
			t.Fatalf("the CLI stack reused the first stack's API: %v", cliOuts)
		}
		again := runExampleEnv(t, s, cli, filepath.Join(dir, "deploy.sh"))
		if !strings.Contains(again, "No changes to deploy. Stack static-front-cli is up to date") {
			t.Fatalf("second CLI run:\n%s", again)
		}
		if after := listDir(t, dir); strings.Join(after, ",") != strings.Join(before, ",") {
			t.Fatalf("deploy.sh left files behind: before %v, after %v", before, after)
		}
	})
}

package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// S3 through the AWS SDK for JavaScript v3 (@aws-sdk/client-s3 and
// s3-request-presigner, from the npm registry), configured only by the standard
// environment as Node.js code running anywhere would be: buckets, string and
// streamed (aws-chunked with a trailing CRC32) puts, ranged and conditional gets,
// copy, paged listing, tagging, multipart with EntityTooSmall and NoSuchUpload,
// quiet DeleteObjects, BucketNotEmpty, and a presigned GET fetched with fetch(),
// altered → SignatureDoesNotMatch. testdata/s3-js/conformance.mjs names each step.
func TestS3JavaScriptSDK(t *testing.T) {
	s := startSluice(t, startOpts{args: []string{"--auth-mode", "verify"},
		env: []string{"SLUICE_ROOT_ACCESS_KEY_ID=AKIDSLUICETEST", "SLUICE_ROOT_SECRET_ACCESS_KEY=sluice-test-secret"}})
	// The image pipeline's package has both SDK packages locked.
	dir := npmPackage(t, "../../examples/image-pipeline/presign")
	script := copyInto(t, "testdata/s3-js/conformance.mjs", dir)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = dir
	cmd.Env = append(awsEnv(), "AWS_ENDPOINT_URL="+s.URL, "AWS_REGION=us-east-1", "AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "ok") {
		t.Fatalf("node conformance.mjs: %v\n%s", err, out)
	}
}

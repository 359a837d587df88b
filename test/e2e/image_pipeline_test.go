package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	exampleZipsMu sync.Mutex
	exampleZips   = map[string]string{}
)

// goPackageZip builds a Go main package of this module for provided.al2023 and
// returns its deployment zip (a `bootstrap` executable), once per test binary.
func goPackageZip(t *testing.T, pkg string) string {
	t.Helper()
	exampleZipsMu.Lock()
	defer exampleZipsMu.Unlock()
	if z, ok := exampleZips[pkg]; ok {
		return z
	}
	name := strings.ReplaceAll(strings.Trim(pkg, "./"), "/", "-")
	bin := filepath.Join(buildDir, name+"-bootstrap")
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	z := filepath.Join(buildDir, name+".zip")
	if err := os.WriteFile(z, zipBytes(t, map[string]zipEntry{"bootstrap": {data, 0o755}}), 0o644); err != nil {
		t.Fatal(err)
	}
	exampleZips[pkg] = z
	return z
}

// testJPEG is a w x h gradient photo.
func testJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Seed scenario 5 end to end (examples/image-pipeline): an HTTP API route GET
// /image/presigned-uri runs a function that returns a presigned PUT URL; curl uploads
// a photo to it; the bucket's ObjectCreated notification runs the resize function
// (deployed from code in S3), which writes 80 and 500 pixel wide JPEGs to
// {bucket}-resized/{width}/{key}.jpg; the AWS CLI finds them. An altered URL is refused.
func TestImagePipeline(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	// Verify mode with the CLI's own key as root: presigned URLs are checked against a
	// known secret, and functions sign with it too.
	s := startSluice(t, startOpts{args: []string{"--auth-mode", "verify"},
		env: []string{"SLUICE_ROOT_ACCESS_KEY_ID=AKIDSLUICETEST", "SLUICE_ROOT_SECRET_ACCESS_KEY=sluice-test-secret"}})
	const bucket = "photos"
	s.aws("s3", "mb", "s3://"+bucket)
	s.aws("s3", "mb", "s3://"+bucket+"-resized")
	s.aws("s3", "mb", "s3://deploy-artifacts")

	// The resize function's code goes through S3, as CloudFormation/SAM deploy it.
	s.aws("s3", "cp", "--no-progress", goPackageZip(t, "../../examples/image-pipeline/resize"), "s3://deploy-artifacts/resize.zip")
	resize := s.awsJSON("lambda", "create-function", "--function-name", "resize", "--runtime", "provided.al2023",
		"--handler", "bootstrap", "--role", "arn:aws:iam::123456789012:role/resize", "--timeout", "30", "--memory-size", "512",
		"--code", "S3Bucket=deploy-artifacts,S3Key=resize.zip")
	resizeARN := str(resize["FunctionArn"])
	// presign is Node.js with @aws-sdk/client-s3 and s3-request-presigner from npm,
	// packaged as its README says (npm ci, zip the folder).
	presignDir := npmPackage(t, "../../examples/image-pipeline/presign")
	presign := s.createFunction("presign", "nodejs22.x", "index.handler", zipTree(t, presignDir, "presign"),
		"--environment", "Variables={UPLOAD_BUCKET="+bucket+"}", "--timeout", "15")
	presignARN := str(presign["FunctionArn"])

	// Without the permission S3 cannot validate the destination.
	notif := fmt.Sprintf(`{"LambdaFunctionConfigurations":[{"Id":"thumbnails","LambdaFunctionArn":%q,"Events":["s3:ObjectCreated:*"],
		"Filter":{"Key":{"FilterRules":[{"Name":"suffix","Value":".jpg"}]}}}]}`, resizeARN)
	_, stderr, err := s.awsRaw("s3api", "put-bucket-notification-configuration", "--bucket", bucket, "--notification-configuration", notif)
	if err == nil || !strings.Contains(stderr, "(InvalidArgument)") || !strings.Contains(stderr, "Unable to validate the following destination configurations") {
		t.Fatalf("notification without permission: %v %s", err, stderr)
	}
	s.aws("lambda", "add-permission", "--function-name", "resize", "--statement-id", "s3", "--action", "lambda:InvokeFunction",
		"--principal", "s3.amazonaws.com", "--source-arn", "arn:aws:s3:::"+bucket, "--source-account", "123456789012")
	s.aws("s3api", "put-bucket-notification-configuration", "--bucket", bucket, "--notification-configuration", notif)
	got := s.awsJSON("s3api", "get-bucket-notification-configuration", "--bucket", bucket)
	if cfgs, _ := got["LambdaFunctionConfigurations"].([]any); len(cfgs) != 1 {
		t.Fatalf("notification configuration = %v", got)
	}

	api := newHTTPAPI(t, s, "image-pipeline")
	api.route("GET /image/presigned-uri", api.lambda(presignARN, "2.0"))
	s.aws("apigatewayv2", "create-stage", "--api-id", api.id, "--stage-name", "$default", "--auto-deploy")
	s.aws("lambda", "add-permission", "--function-name", "presign", "--statement-id", "apigw", "--action", "lambda:InvokeFunction",
		"--principal", "apigateway.amazonaws.com", "--source-arn", "arn:aws:execute-api:us-east-1:123456789012:"+api.id+"/*/*/image/presigned-uri")
	r := s.awaitStatus(t, 200, "GET", api.id, "/image/presigned-uri?name=cat%20photo.jpg", "")
	var presigned struct{ UploadURL, Key string }
	if err := json.Unmarshal(r.Body, &presigned); err != nil || presigned.UploadURL == "" {
		logs, _ := s.sluiceLogs("presign")
		t.Fatalf("presigned-uri answered %d %s; presign logs:\n%s", r.Status, r.Body, tail(logs, 4000))
	}
	if !strings.Contains(presigned.UploadURL, "X-Amz-Expires=1200") {
		t.Fatalf("upload URL is not valid for 20 minutes: %s", presigned.UploadURL)
	}

	photo := filepath.Join(t.TempDir(), "photo.jpg")
	if err := os.WriteFile(photo, testJPEG(t, 1200, 800), 0o644); err != nil {
		t.Fatal(err)
	}
	// An altered URL (another key) is refused before anything is stored.
	altered := strings.Replace(presigned.UploadURL, "cat%20photo.jpg", "dog.jpg", 1)
	if code, body := curlUpload(t, altered, photo); code != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") {
		t.Fatalf("altered URL: %d %s", code, body)
	}
	// Content-Type is a signed header of the URL: another type is refused too.
	if code, body := curlUploadAs(t, presigned.UploadURL, photo, "image/png"); code != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") {
		t.Fatalf("upload with another Content-Type: %d %s", code, body)
	}
	if code, body := curlUpload(t, presigned.UploadURL, photo); code != 200 {
		t.Fatalf("upload: %d %s", code, body)
	}

	dir := t.TempDir()
	for _, w := range []int{80, 500} {
		key := fmt.Sprintf("%d/%s.jpg", w, presigned.Key)
		ok := eventually(t, 60*time.Second, func() bool {
			_, _, err := s.awsRaw("s3api", "head-object", "--bucket", bucket+"-resized", "--key", key)
			return err == nil
		})
		if !ok {
			logs, _ := s.sluiceLogs("resize")
			t.Fatalf("no thumbnail %s; resize logs:\n%s", key, tail(logs, 4000))
		}
		out := filepath.Join(dir, fmt.Sprintf("%d.jpg", w))
		s.aws("s3", "cp", "--no-progress", "s3://"+bucket+"-resized/"+key, out)
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
}

// curlUpload PUTs a file to a presigned URL the way the scenario's browser would, with
// curl, and returns the status and body.
func curlUpload(t *testing.T, url, file string) (int, string) {
	t.Helper()
	return curlUploadAs(t, url, file, "image/jpeg")
}

// curlUploadAs is curlUpload with the given Content-Type.
func curlUploadAs(t *testing.T, url, file, contentType string) (int, string) {
	t.Helper()
	out, err := exec.Command("curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-H", "Content-Type: "+contentType,
		"--upload-file", file, url).Output()
	if err != nil {
		t.Fatalf("curl: %v", err)
	}
	text := string(out)
	i := strings.LastIndex(text, "\n")
	var code int
	fmt.Sscanf(text[i+1:], "%d", &code)
	return code, text[:i]
}

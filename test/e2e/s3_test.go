package e2e

import (
	"bytes"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// boto3 drives every S3 operation Sluice implements, with the error cases, against
// a sluice in verify mode (so presigned-URL tampering is checked against a real key).
func TestS3Boto3Conformance(t *testing.T) {
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skip("python3 with boto3 not installed")
	}
	s := startSluice(t, startOpts{env: rootEnv()})
	cmd := exec.Command("python3", "testdata/s3/boto3_conformance.py", s.URL, rootKeyID, rootSecret)
	cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("ok")) {
		t.Fatalf("boto3 conformance: %v\n%s", err, out)
	}
}

// The AWS CLI's high-level commands (mb, cp with multipart, ls, rm, rb) and the
// errors it reports; deleting objects frees their bytes on disk.
func TestS3CLI(t *testing.T) {
	s := startSluice(t, startOpts{})
	dir := t.TempDir()
	small := filepath.Join(dir, "small.txt")
	writeFile(t, small, "hello\n")
	big := filepath.Join(dir, "big.bin")
	data := make([]byte, 20<<20)
	_, _ = rand.Read(data)
	if err := os.WriteFile(big, data, 0o644); err != nil {
		t.Fatal(err)
	}
	s.aws("s3", "mb", "s3://cli-bucket")
	s.aws("s3", "cp", "--no-progress", small, "s3://cli-bucket/dir/small.txt")
	s.aws("s3", "cp", "--no-progress", big, "s3://cli-bucket/big.bin")
	ls := string(s.aws("s3", "ls", "--recursive", "s3://cli-bucket"))
	if !strings.Contains(ls, "dir/small.txt") || !strings.Contains(ls, "20971520 big.bin") {
		t.Fatalf("ls:\n%s", ls)
	}
	back := filepath.Join(dir, "back.bin")
	s.aws("s3", "cp", "--no-progress", "s3://cli-bucket/big.bin", back)
	got, err := os.ReadFile(back)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("downloaded %d bytes, %v", len(got), err)
	}
	// One PutObject past the control plane's 80 MiB body cap: S3 takes up to 5 GiB
	// in a single PUT.
	huge := filepath.Join(dir, "huge.bin")
	if err := os.WriteFile(huge, bytes.Repeat(data[:1<<20], 90), 0o644); err != nil {
		t.Fatal(err)
	}
	s.aws("s3api", "put-object", "--bucket", "cli-bucket", "--key", "huge.bin", "--body", huge)
	if h := s.awsJSON("s3api", "head-object", "--bucket", "cli-bucket", "--key", "huge.bin"); h["ContentLength"] != float64(90<<20) {
		t.Fatalf("head-object huge.bin = %v", h)
	}
	head := s.awsJSON("s3api", "head-object", "--bucket", "cli-bucket", "--key", "big.bin")
	if etag := str(head["ETag"]); !strings.HasSuffix(etag, `-3"`) {
		t.Fatalf("multipart ETag = %s", etag)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"s3api", "get-object", "--bucket", "cli-bucket", "--key", "nope", filepath.Join(dir, "x")}, "(NoSuchKey)"},
		{[]string{"s3api", "get-object", "--bucket", "no-such-bucket", "--key", "k", filepath.Join(dir, "x")}, "(NoSuchBucket)"},
		{[]string{"s3api", "create-bucket", "--bucket", "Bad_Name"}, "(InvalidBucketName)"},
		{[]string{"s3", "rb", "s3://cli-bucket"}, "(BucketNotEmpty)"},
	} {
		_, stderr, err := s.awsRaw(tc.args...)
		if err == nil || !strings.Contains(stderr, tc.want) {
			t.Fatalf("aws %v: err %v, stderr %s; want %s", tc.args, err, stderr, tc.want)
		}
	}
	blobs := filepath.Join(s.DataDir, "s3", "blobs", "sha256")
	if n := countFiles(t, blobs); n == 0 {
		t.Fatal("no object bytes on disk")
	}
	s.aws("s3", "rm", "--recursive", "s3://cli-bucket")
	if !eventually(t, 20*time.Second, func() bool { return countFiles(t, blobs) == 0 }) {
		t.Fatalf("%d blobs left after deleting every object", countFiles(t, blobs))
	}
	s.aws("s3", "rb", "s3://cli-bucket")
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n++
		}
		return nil
	})
	return n
}

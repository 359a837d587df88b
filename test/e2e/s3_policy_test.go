package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// S3 bucket policies: put/get/delete with the AWS CLI, AWS's MalformedPolicy refusals,
// anonymous reads allowed only by the policy (and its aws:SourceIp condition), and an
// explicit Deny that holds for signed callers too.
func TestS3BucketPolicy(t *testing.T) {
	s := startSluice(t, startOpts{})
	dir := t.TempDir()
	writeFile(t, dir+"/page.html", "<h1>public</h1>\n")
	s.aws("s3", "mb", "s3://site")
	s.aws("s3", "cp", "--no-progress", dir+"/page.html", "s3://site/pub/page.html")
	s.aws("s3", "cp", "--no-progress", dir+"/page.html", "s3://site/private/page.html")
	anon := func(method, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(""))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// No policy: anonymous is denied, get-bucket-policy says there is none.
	if code, body := anon("GET", "/site/pub/page.html"); code != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") {
		t.Fatalf("anonymous without policy: %d %s", code, body)
	}
	if _, stderr, err := s.awsRaw("s3api", "get-bucket-policy", "--bucket", "site"); err == nil || !strings.Contains(stderr, "NoSuchBucketPolicy") {
		t.Fatalf("get-bucket-policy without one: %v %s", err, stderr)
	}

	// Malformed policies are refused as S3 refuses them.
	for _, bad := range []struct{ doc, msg string }{
		{`not json`, "Policies must be valid JSON and the first byte must be '{'"},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}]}`,
			"Missing required field Principal"},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}`,
			"Policy has invalid resource"},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}]}`, ""},
	} {
		_, stderr, err := s.awsRaw("s3api", "put-bucket-policy", "--bucket", "site", "--policy", bad.doc)
		if err == nil || !strings.Contains(stderr, "MalformedPolicy") || !strings.Contains(stderr, bad.msg) {
			t.Fatalf("put-bucket-policy %s: %v %s", bad.doc, err, stderr)
		}
	}

	// Public read of pub/*, and a Deny on deleting anything, for everyone.
	policy := `{"Version":"2012-10-17","Statement":[
	 {"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/pub/*"},
	 {"Sid":"NoDeletes","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::site/*"}]}`
	s.aws("s3api", "put-bucket-policy", "--bucket", "site", "--policy", policy)
	got := s.awsJSON("s3api", "get-bucket-policy", "--bucket", "site")
	if !strings.Contains(str(got["Policy"]), `"PublicRead"`) {
		t.Fatalf("get-bucket-policy = %v", got)
	}
	if code, body := anon("GET", "/site/pub/page.html"); code != 200 || body != "<h1>public</h1>\n" {
		t.Fatalf("anonymous public read: %d %s", code, body)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/site/private/page.html"}, {"PUT", "/site/pub/new.html"}, {"GET", "/site?list-type=2"}, {"DELETE", "/site/pub/page.html"},
	} {
		if code, body := anon(c.method, c.path); code != 403 || !strings.Contains(body, "AccessDenied") {
			t.Fatalf("anonymous %s %s: %d %s", c.method, c.path, code, body)
		}
	}
	// The Deny holds for the account's own signed requests.
	if _, stderr, err := s.awsRaw("s3api", "delete-object", "--bucket", "site", "--key", "pub/page.html"); err == nil || !strings.Contains(stderr, "AccessDenied") {
		t.Fatalf("signed delete under a Deny: %v %s", err, stderr)
	}
	s.awsJSON("s3api", "head-object", "--bucket", "site", "--key", "private/page.html") // signed reads still work

	// A SourceIp condition: reads only from 10.0.0.0/8, so not from this test.
	s.aws("s3api", "put-bucket-policy", "--bucket", "site", "--policy", `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`)
	if code, _ := anon("GET", "/site/pub/page.html"); code != 403 {
		t.Fatalf("anonymous read outside the SourceIp range: %d", code)
	}
	s.aws("s3api", "put-bucket-policy", "--bucket", "site", "--policy", `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*","Condition":{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}}]}`)
	if code, _ := anon("GET", "/site/private/page.html"); code != 200 {
		t.Fatalf("anonymous read inside the SourceIp range: %d", code)
	}

	// Deleting the policy closes the bucket again.
	s.aws("s3api", "delete-bucket-policy", "--bucket", "site")
	if code, _ := anon("GET", "/site/pub/page.html"); code != 403 {
		t.Fatalf("anonymous after delete-bucket-policy: %d", code)
	}
}

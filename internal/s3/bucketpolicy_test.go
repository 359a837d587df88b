package s3

import (
	"errors"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/sluice-dev/sluice/internal/awsproto"
)

func TestParseBucketPolicy(t *testing.T) {
	for _, tc := range []struct{ doc, msg string }{
		{``, "Policies must be valid JSON and the first byte must be '{'"},
		{`[1]`, "Policies must be valid JSON and the first byte must be '{'"},
		{`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}]}`, "Missing required field Principal"},
		{`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::c/*"}]}`, "Policy has invalid resource"},
		{`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}`, "Policy has invalid resource"},
		{`{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::x"]}}`, "Policy has invalid resource"},
	} {
		_, err := parseBucketPolicy("b", []byte(tc.doc))
		var ae *awsproto.Error
		if !errors.As(err, &ae) || ae.Code != "MalformedPolicy" || ae.Message != tc.msg {
			t.Errorf("%s: %v, want MalformedPolicy %q", tc.doc, err, tc.msg)
		}
	}
	if _, err := parseBucketPolicy("b", []byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":["arn:aws:s3:::b/*","arn:aws:s3:::b"]}}`)); err != nil {
		t.Fatal(err)
	}
}

func TestActionOf(t *testing.T) {
	s := &Service{}
	for _, tc := range []struct {
		method, bucket, key, query string
		action, resource           string
	}{
		{"GET", "b", "k/x", "", "s3:GetObject", "arn:aws:s3:::b/k/x"},
		{"HEAD", "b", "k", "", "s3:GetObject", "arn:aws:s3:::b/k"},
		{"PUT", "b", "k", "", "s3:PutObject", "arn:aws:s3:::b/k"},
		{"PUT", "b", "k", "tagging", "s3:PutObjectTagging", "arn:aws:s3:::b/k"},
		{"DELETE", "b", "k", "uploadId=1", "s3:AbortMultipartUpload", "arn:aws:s3:::b/k"},
		{"GET", "b", "", "list-type=2", "s3:ListBucket", "arn:aws:s3:::b"},
		{"GET", "b", "", "policy", "s3:GetBucketPolicy", "arn:aws:s3:::b"},
		{"PUT", "b", "", "cors", "s3:PutBucketCORS", "arn:aws:s3:::b"},
		{"POST", "b", "", "delete", "s3:DeleteObject", "arn:aws:s3:::b/*"},
		{"DELETE", "b", "", "", "s3:DeleteBucket", "arn:aws:s3:::b"},
	} {
		q, _ := url.ParseQuery(tc.query)
		c := &request{r: httptest.NewRequest(tc.method, "/", nil), bucket: tc.bucket, key: tc.key, hasKey: tc.key != "", query: q}
		if a, r := s.actionOf(c); a != tc.action || r != tc.resource {
			t.Errorf("%s %s/%s?%s = %s %s, want %s %s", tc.method, tc.bucket, tc.key, tc.query, a, r, tc.action, tc.resource)
		}
	}
}

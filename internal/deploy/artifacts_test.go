package deploy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// memObjects is an in-memory bucket store.
type memObjects struct{ objects map[string][]byte }

func (m *memObjects) HeadBucket(context.Context, *s3.HeadBucketInput, ...func(*s3.Options)) (*s3.HeadBucketOutput, error) {
	return &s3.HeadBucketOutput{}, nil
}
func (m *memObjects) CreateBucket(context.Context, *s3.CreateBucketInput, ...func(*s3.Options)) (*s3.CreateBucketOutput, error) {
	return &s3.CreateBucketOutput{}, nil
}
func (m *memObjects) HeadObject(_ context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	if _, ok := m.objects[aws.ToString(in.Key)]; ok {
		return &s3.HeadObjectOutput{}, nil
	}
	return nil, os.ErrNotExist
}
func (m *memObjects) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	b := make([]byte, aws.ToInt64(in.ContentLength))
	if _, err := in.Body.Read(b); err != nil && len(b) > 0 {
		return nil, err
	}
	m.objects[aws.ToString(in.Key)] = b
	return &s3.PutObjectOutput{}, nil
}

const samTemplate = `Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    CodeUri: ./shared
Resources:
  A:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ./src
      Role: !GetAtt R.Arn   # short forms and comments stay
  B:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://already/there.zip
  R:
    Type: AWS::IAM::Role
`

func TestPackageTemplate(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"src/index.js", "src/lib/util.js", "shared/app.py"} {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	objs := &memObjects{objects: map[string][]byte{}}
	log := func(string, ...any) {}
	p, err := packageTemplate(context.Background(), objs, []byte(samTemplate), dir, "bkt", "st/", log)
	if err != nil {
		t.Fatal(err)
	}
	body := string(p.body)
	if p.uploads != 2 || len(objs.objects) != 2 || strings.Count(body, "s3://bkt/st/") != 2 ||
		!strings.Contains(body, "s3://already/there.zip") || !strings.Contains(body, "!GetAtt R.Arn") || !strings.Contains(body, "# short forms") {
		t.Fatalf("uploads %d, objects %d, template:\n%s", p.uploads, len(objs.objects), body)
	}
	// Same files, same zips: nothing is uploaded again and the template is the same.
	again, err := packageTemplate(context.Background(), objs, []byte(samTemplate), dir, "bkt", "st/", log)
	if err != nil || again.uploads != 0 || string(again.body) != body {
		t.Fatalf("repackage: %v, %d uploads, same template %v", err, again.uploads, string(again.body) == body)
	}
	if _, err := packageTemplate(context.Background(), objs, []byte(strings.Replace(samTemplate, "./src", "./nope", 1)), dir, "bkt", "st/", log); err == nil ||
		!strings.Contains(err.Error(), "A.CodeUri") {
		t.Fatalf("missing folder: %v", err)
	}
}

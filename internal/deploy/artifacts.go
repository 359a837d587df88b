// Package deploy is `sluice deploy`: it packages a SAM or CloudFormation
// template's local code folders into zips in an S3 bucket (as `aws cloudformation
// package` does), then creates or updates the stack through the CloudFormation API
// with a change set (as `aws cloudformation deploy` does), printing the stack's
// events as they arrive, its outputs and its HTTP APIs' URLs. It is a client: it
// reaches Sluice (or AWS) by the endpoint its SDK clients were built with.
package deploy

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"gopkg.in/yaml.v3"
)

// ObjectAPI is what packaging needs of S3.
type ObjectAPI interface {
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	CreateBucket(ctx context.Context, in *s3.CreateBucketInput, optFns ...func(*s3.Options)) (*s3.CreateBucketOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// codeProperty names, per resource type, the property that may hold a local path.
var codeProperty = map[string]string{
	"AWS::Serverless::Function":     "CodeUri",
	"AWS::Serverless::LayerVersion": "ContentUri",
}

// packaged is a template whose local code paths were replaced by S3 URIs.
type packaged struct {
	body    []byte
	uploads int // zips uploaded (the others were already in the bucket)
}

// packageTemplate zips every local code path of the template (relative to dir),
// uploads each zip to bucket under its SHA-256 (skipping those already there), and
// returns the template with the paths replaced by s3:// URIs. The rest of the
// template is kept as written (comments and short forms included).
func packageTemplate(ctx context.Context, api ObjectAPI, body []byte, dir, bucket, prefix string, log func(string, ...any)) (*packaged, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("template: not a mapping")
	}
	root := doc.Content[0]
	var targets []*yaml.Node // scalar nodes holding a local path
	var names []string
	resources := mapValue(root, "Resources")
	if resources != nil && resources.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(resources.Content); i += 2 {
			name, res := resources.Content[i].Value, resources.Content[i+1]
			typ := mapValue(res, "Type")
			if typ == nil {
				continue
			}
			prop, ok := codeProperty[typ.Value]
			if !ok {
				continue
			}
			if v := mapValue(mapValue(res, "Properties"), prop); isLocalPath(v) {
				targets = append(targets, v)
				names = append(names, name+"."+prop)
			}
		}
	}
	if v := mapValue(mapValue(mapValue(root, "Globals"), "Function"), "CodeUri"); isLocalPath(v) {
		targets = append(targets, v)
		names = append(names, "Globals.Function.CodeUri")
	}
	if len(targets) == 0 {
		return &packaged{body: body}, nil
	}
	if err := ensureBucket(ctx, api, bucket); err != nil {
		return nil, err
	}
	p := &packaged{}
	zips := map[string]string{} // path -> s3 uri, each folder zipped once
	for i, n := range targets {
		path := n.Value
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		if uri, ok := zips[path]; ok {
			n.Value = uri
			continue
		}
		data, err := zipPath(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", names[i], err)
		}
		sum := sha256.Sum256(data)
		key := prefix + hex.EncodeToString(sum[:]) + ".zip"
		uploaded, err := upload(ctx, api, bucket, key, data)
		if err != nil {
			return nil, fmt.Errorf("%s: upload s3://%s/%s: %w", names[i], bucket, key, err)
		}
		if uploaded {
			p.uploads++
			log("Uploaded %s (%d bytes) to s3://%s/%s\n", n.Value, len(data), bucket, key)
		}
		uri := "s3://" + bucket + "/" + key
		zips[path] = uri
		n.Value = uri
		n.Style = 0
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	p.body = buf.Bytes()
	return p, nil
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// isLocalPath reports whether a code property is a plain string that is not
// already an S3 (or other) URI.
func isLocalPath(n *yaml.Node) bool {
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!str" && n.Tag != "" {
		return false
	}
	return n.Value != "" && !strings.Contains(n.Value, "://")
}

// zipEpoch is every entry's modification time, so a folder's zip (and the key it is
// stored under) changes only when its files do.
var zipEpoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// zipPath returns a .zip file's bytes, or zips a folder: regular files in name
// order, with their permission bits (an executable bootstrap stays executable).
func zipPath(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		if strings.HasSuffix(strings.ToLower(path), ".zip") || strings.HasSuffix(strings.ToLower(path), ".jar") {
			return os.ReadFile(path)
		}
		return zipFiles(filepath.Dir(path), []string{filepath.Base(path)})
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(path, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s has no files", path)
	}
	return zipFiles(path, files)
}

func zipFiles(dir string, files []string) ([]byte, error) {
	sort.Strings(files)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range files {
		full := filepath.Join(dir, filepath.FromSlash(name))
		info, err := os.Stat(full)
		if err != nil {
			return nil, err
		}
		data, err := os.ReadFile(full)
		if err != nil {
			return nil, err
		}
		h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: zipEpoch}
		h.SetMode(info.Mode().Perm() | 0o444)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func ensureBucket(ctx context.Context, api ObjectAPI, bucket string) error {
	if _, err := api.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err == nil {
		return nil
	}
	_, err := api.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	var owned *types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	return nil
}

// upload puts data at key unless an object is there already (keys are content
// hashes, so it is the same bytes).
func upload(ctx context.Context, api ObjectAPI, bucket, key string, data []byte) (bool, error) {
	if _, err := api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err == nil {
		return false, nil
	}
	_, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data)))})
	return err == nil, err
}

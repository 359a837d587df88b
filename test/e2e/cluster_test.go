package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/internal/store/etcdstore/etcdtest"
)

// cluster is etcd, a shared blob store (a third sluice serving its S3 subset) and
// nodes on separate data dirs.
type cluster struct {
	t        *testing.T
	etcd     string
	blobs    *instance
	nodeArgs []string
	nodeEnv  []string
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{t: t, etcd: etcdtest.Start(t)}
	// The blob store is an S3-compatible service like any other: here another
	// sluice (bolt store, its own data dir), reached with the AWS SDK's S3 client.
	c.blobs = startSluice(t, startOpts{})
	c.blobs.aws("s3api", "create-bucket", "--bucket", "cluster-blobs")
	c.nodeArgs = []string{"--store", "etcd", "--etcd-endpoints", c.etcd,
		"--blob-store", "s3://cluster-blobs/sluice", "--blob-store-endpoint", c.blobs.URL}
	// Credentials for the blob store come from the standard AWS chain.
	c.nodeEnv = []string{"AWS_ACCESS_KEY_ID=AKIDSLUICETEST", "AWS_SECRET_ACCESS_KEY=sluice-test-secret",
		"AWS_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
	return c
}

func (c *cluster) node() *instance {
	return startSluice(c.t, startOpts{args: c.nodeArgs, env: c.nodeEnv})
}

// Two nodes on one etcd with separate data dirs: a function created through one
// runs on the other (it used to fail with "open code zip: ... no such file or
// directory"), an S3 object put through one is read through the other, and the
// bytes are in the shared bucket.
func TestClusterSharedBlobs(t *testing.T) {
	c := startCluster(t)
	a, b := c.node(), c.node()

	fn := a.createFunction("cluster-fn", "provided.al2023", "bootstrap", goFunctionZip(t))
	fnArn := str(fn["FunctionArn"])
	if meta, out := b.invokeCLI("cluster-fn", `{"via":"b"}`); meta["StatusCode"] != float64(200) || string(out) != `{"via":"b"}` {
		t.Fatalf("invoke through node b of a function created on node a = %v %s", meta, out)
	}

	// The code's bytes are in the bucket, named by their SHA-256.
	listed := c.blobs.awsJSON("s3api", "list-objects-v2", "--bucket", "cluster-blobs", "--prefix", "sluice/code/sha256/")
	contents, _ := listed["Contents"].([]any)
	if len(contents) != 1 {
		t.Fatalf("blob bucket lists %v", listed)
	}

	// An HTTP API made on node b, served by node a (and the other way round).
	api := b.awsJSON("apigatewayv2", "create-api", "--name", "cluster-api", "--protocol-type", "HTTP", "--target", fnArn)
	apiID := str(api["ApiId"])
	b.aws("lambda", "add-permission", "--function-name", "cluster-fn", "--statement-id", "apigw", "--action", "lambda:InvokeFunction",
		"--principal", "apigateway.amazonaws.com", "--source-arn", "arn:aws:execute-api:us-east-1:123456789012:"+apiID+"/*")
	for _, n := range []*instance{a, b} {
		if r := n.awaitStatus(t, 200, "GET", apiID, "/hi", ""); r.Status != 200 || r.JSON(t)["rawPath"] != "/hi" {
			t.Fatalf("GET /hi on %s = %d %s", n.Addr, r.Status, r.Body)
		}
	}

	// Objects: put through a, read through b.
	a.aws("s3api", "create-bucket", "--bucket", "user-data")
	src := filepath.Join(t.TempDir(), "obj")
	body := strings.Repeat("cluster object ", 70000) // ~1 MB
	if err := os.WriteFile(src, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	a.aws("s3api", "put-object", "--bucket", "user-data", "--key", "k", "--body", src)
	dst := filepath.Join(t.TempDir(), "got")
	b.aws("s3api", "get-object", "--bucket", "user-data", "--key", "k", dst)
	if got, _ := os.ReadFile(dst); string(got) != body {
		t.Fatalf("object read through node b: %d bytes, want %d", len(got), len(body))
	}

	// A Node function created on b runs on a.
	zip := filepath.Join(t.TempDir(), "node.zip")
	if err := os.WriteFile(zip, nodeZip(t, `exports.handler = async (e) => ({made: "on b", got: e});`), 0o644); err != nil {
		t.Fatal(err)
	}
	b.createFunction("made-on-b", "nodejs22.x", "index.handler", zip)
	if meta, out := a.invokeCLI("made-on-b", `{"n":1}`); meta["StatusCode"] != float64(200) || string(out) != `{"made":"on b","got":{"n":1}}` {
		t.Fatalf("invoke through node a of a function created on node b = %v %s", meta, out)
	}
}

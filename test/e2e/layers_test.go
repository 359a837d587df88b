package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeZip writes files (name → content; names under bin/ or named bootstrap are
// executable) as a zip in a temp dir.
func writeZip(t *testing.T, name string, files map[string]string) string {
	t.Helper()
	entries := map[string]zipEntry{}
	for n, c := range files {
		mode := os.FileMode(0o644)
		if strings.HasPrefix(n, "bin/") || filepath.Base(n) == "bootstrap" {
			mode = 0o755
		}
		entries[n] = zipEntry{[]byte(c), mode}
	}
	p := filepath.Join(t.TempDir(), name+".zip")
	if err := os.WriteFile(p, zipBytes(t, entries), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Layers as Lambda presents them: published with the AWS CLI, attached in order,
// merged at /opt with later layers overriding earlier ones, bin on PATH and
// nodejs/node_modules on NODE_PATH; a provided.al2023 function's bootstrap may come
// from a layer; a deleted layer version keeps working for the functions using it.
func TestLayers(t *testing.T) {
	s := startSluice(t, startOpts{})
	one := writeZip(t, "one", map[string]string{
		"bin/hello-layer":                    "#!/bin/sh\necho hello from bin\n",
		"nodejs/node_modules/greet/index.js": `module.exports = () => "greet from one";`,
		"nodejs/node_modules/only/index.js":  `module.exports = "only in one";`,
	})
	two := writeZip(t, "two", map[string]string{
		"nodejs/node_modules/greet/index.js": `module.exports = () => "greet from two";`,
	})
	v1 := s.awsJSON("lambda", "publish-layer-version", "--layer-name", "one", "--zip-file", "fileb://"+one,
		"--compatible-runtimes", "nodejs22.x", "--description", "first")
	if v1["Version"] != float64(1) || !strings.HasSuffix(str(v1["LayerVersionArn"]), ":layer:one:1") {
		t.Fatalf("publish-layer-version = %v", v1)
	}
	v2 := s.awsJSON("lambda", "publish-layer-version", "--layer-name", "two", "--zip-file", "fileb://"+two)
	if got := s.awsJSON("lambda", "list-layers"); len(got["Layers"].([]any)) != 2 {
		t.Fatalf("list-layers = %v", got)
	}
	if got := s.awsJSON("lambda", "get-layer-version", "--layer-name", "one", "--version-number", "1"); got["Description"] != "first" {
		t.Fatalf("get-layer-version = %v", got)
	}

	code := writeZip(t, "fn", map[string]string{"index.js": `
const { execSync } = require("child_process");
const fs = require("fs");
exports.handler = async () => ({
  greet: require("greet")(),
  only: require("only"),
  bin: execSync("hello-layer").toString().trim(),
  opt: fs.existsSync("/opt/nodejs/node_modules/greet/index.js"),
});`})
	s.awsJSON("lambda", "create-function", "--function-name", "layered", "--runtime", "nodejs22.x", "--handler", "index.handler",
		"--role", testRole, "--zip-file", "fileb://"+code, "--timeout", "30",
		"--layers", str(v1["LayerVersionArn"]), str(v2["LayerVersionArn"]))
	var got struct {
		Greet, Only, Bin string
		Opt              bool
	}
	invoke := func() {
		t.Helper()
		_, payload := s.invokeCLI("layered", `{}`)
		if err := json.Unmarshal(payload, &got); err != nil {
			t.Fatalf("payload %s: %v", payload, err)
		}
		if got.Greet != "greet from two" || got.Only != "only in one" || got.Bin != "hello from bin" {
			t.Fatalf("layered function saw %+v", got)
		}
	}
	invoke()
	if os.Geteuid() == 0 && !got.Opt { // sandboxed: the merged layers are /opt itself
		t.Fatalf("/opt does not hold the layers: %+v", got)
	}

	// A provided.al2023 function whose bootstrap is in a layer.
	boot, err := os.ReadFile(goFunctionZip(t))
	if err != nil {
		t.Fatal(err)
	}
	bootZip := filepath.Join(t.TempDir(), "boot.zip")
	_ = os.WriteFile(bootZip, boot, 0o644)
	rt := s.awsJSON("lambda", "publish-layer-version", "--layer-name", "runtime", "--zip-file", "fileb://"+bootZip)
	s.awsJSON("lambda", "create-function", "--function-name", "custom", "--runtime", "provided.al2023", "--handler", "x",
		"--role", testRole, "--zip-file", "fileb://"+writeZip(t, "empty", map[string]string{"README": "code is in the layer"}),
		"--layers", str(rt["LayerVersionArn"]))
	if _, payload := s.invokeCLI("custom", `{"echo":1}`); !strings.Contains(string(payload), `"echo":1`) {
		t.Fatalf("bootstrap from a layer answered %s", payload)
	}

	// Errors, in AWS's words.
	six := []string{"lambda", "update-function-configuration", "--function-name", "layered", "--layers"}
	for i := 0; i < 6; i++ {
		six = append(six, str(v1["LayerVersionArn"]))
	}
	if _, stderr, err := s.awsRaw(six...); err == nil || !strings.Contains(stderr, "InvalidParameterValueException") {
		t.Fatalf("six layers: %v %s", err, stderr)
	}
	missing := strings.Replace(str(v1["LayerVersionArn"]), ":one:1", ":one:9", 1)
	if _, stderr, err := s.awsRaw("lambda", "update-function-configuration", "--function-name", "layered", "--layers", missing); err == nil ||
		!strings.Contains(stderr, "InvalidParameterValueException") {
		t.Fatalf("missing layer version: %v %s", err, stderr)
	}

	// Deleting a layer version does not break the functions that use it.
	s.aws("lambda", "delete-layer-version", "--layer-name", "one", "--version-number", "1")
	if _, stderr, err := s.awsRaw("lambda", "get-layer-version", "--layer-name", "one", "--version-number", "1"); err == nil ||
		!strings.Contains(stderr, "ResourceNotFoundException") {
		t.Fatalf("deleted layer version: %v %s", err, stderr)
	}
	s.aws("lambda", "update-function-configuration", "--function-name", "layered", "--timeout", "31")
	invoke()
}

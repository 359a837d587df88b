package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// sluiceConfigEnv lists the variables a test's own environment must not leak into
// a sluice whose configuration the test controls.
var sluiceConfigEnv = []string{"SLUICE_CONFIG", "SLUICE_REGION", "SLUICE_ACCOUNT_ID", "SLUICE_LISTEN", "SLUICE_DATA_DIR",
	"SLUICE_STORE", "SLUICE_AUTH_MODE", "SLUICE_ROOT_ACCESS_KEY_ID", "SLUICE_ROOT_SECRET_ACCESS_KEY", "SLUICE_LOG_LEVEL"}

// startSluiceIn starts `sluice serve args...` in working directory dir with env
// added to a clean environment, expecting it to answer on addr; unlike
// startSluice it passes no flags of its own.
func startSluiceIn(t *testing.T, dir, addr string, env []string, args ...string) *instance {
	t.Helper()
	s := &instance{t: t, Addr: addr, URL: "http://" + addr, logs: &bytes.Buffer{}}
	s.cmd = exec.Command(sluiceBin, append([]string{"serve"}, args...)...)
	s.cmd.Dir = dir
	s.cmd.Env = append(envWithout(sluiceConfigEnv...), env...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start sluice: %v", err)
	}
	t.Cleanup(s.stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/_sluice/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("sluice did not become healthy: %v\n%s", err, s.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The configuration is merged from defaults, the --config file (or
// $SLUICE_CONFIG), SLUICE_* environment variables and flags, each overriding the
// one before; the region and account show in ARNs and in the function's
// environment.
func TestConfigSources(t *testing.T) {
	zipData, err := os.ReadFile(goFunctionZip(t))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		// file is the config file's content ("" for none); %s is the listen address.
		file       string
		useEnvFile bool // pass the file as $SLUICE_CONFIG instead of --config
		env        []string
		flags      []string
		listenFlag bool // pass --listen rather than setting it in the file
		region     string
		account    string
		dataDir    string // relative to the working directory
	}{
		{name: "file", file: "listen: %s\nregion: eu-west-2\naccount-id: \"111111111111\"\ndata-dir: state\n",
			region: "eu-west-2", account: "111111111111", dataDir: "state"},
		{name: "SLUICE_CONFIG", file: "listen: %s\nregion: eu-west-2\naccount-id: \"111111111111\"\ndata-dir: state\n", useEnvFile: true,
			region: "eu-west-2", account: "111111111111", dataDir: "state"},
		{name: "env over file", file: "listen: %s\nregion: eu-west-2\naccount-id: \"111111111111\"\ndata-dir: state\n",
			env: []string{"SLUICE_REGION=ap-south-1"}, region: "ap-south-1", account: "111111111111", dataDir: "state"},
		{name: "flag over env", file: "listen: %s\nregion: eu-west-2\naccount-id: \"111111111111\"\ndata-dir: state\n",
			env:   []string{"SLUICE_REGION=ap-south-1", "SLUICE_ACCOUNT_ID=222222222222", "SLUICE_DATA_DIR=envstate"},
			flags: []string{"--region", "ca-central-1"}, region: "ca-central-1", account: "222222222222", dataDir: "envstate"},
		{name: "env only", env: []string{"SLUICE_REGION=sa-east-1", "SLUICE_ACCOUNT_ID=333333333333"}, listenFlag: true,
			region: "sa-east-1", account: "333333333333", dataDir: ".sluice"},
		// No --data-dir anywhere: the default ./.sluice, relative to the working
		// directory, must work for running functions too.
		{name: "defaults", listenFlag: true, region: "us-east-1", account: "123456789012", dataDir: ".sluice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			env, args := c.env, c.flags
			if c.file != "" {
				path := writeFile(t, filepath.Join(dir, "sluice.yaml"), fmt.Sprintf(c.file, addr))
				if c.useEnvFile {
					env = append(env, "SLUICE_CONFIG="+path)
				} else {
					args = append(args, "--config", path)
				}
			}
			if c.listenFlag {
				args = append(args, "--listen", addr)
			}
			s := startSluiceIn(t, dir, addr, env, args...)

			cfg := s.sdkConfig()
			cfg.Region = c.region
			lc := lambda.NewFromConfig(cfg)
			ctx := context.Background()
			created, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
				FunctionName: aws.String("cfg"), Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
				Role: aws.String("arn:aws:iam::" + c.account + ":role/lambda-role"), Code: &types.FunctionCode{ZipFile: zipData},
			})
			if err != nil {
				t.Fatalf("CreateFunction: %v\n%s", err, s.logs.String())
			}
			wantArn := "arn:aws:lambda:" + c.region + ":" + c.account + ":function:cfg"
			if got := aws.ToString(created.FunctionArn); got != wantArn {
				t.Fatalf("FunctionArn = %s, want %s", got, wantArn)
			}
			out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("cfg"), Payload: []byte(`{"mode":"env"}`)})
			if err != nil || out.FunctionError != nil {
				t.Fatalf("Invoke: %v %v %s", err, out, payloadOf(out))
			}
			var fnEnv map[string]string
			if err := json.Unmarshal(out.Payload, &fnEnv); err != nil {
				t.Fatalf("env payload %s: %v", out.Payload, err)
			}
			if fnEnv["AWS_REGION"] != c.region || fnEnv["AWS_DEFAULT_REGION"] != c.region {
				t.Fatalf("function sees AWS_REGION=%q AWS_DEFAULT_REGION=%q, want %s", fnEnv["AWS_REGION"], fnEnv["AWS_DEFAULT_REGION"], c.region)
			}
			if _, err := os.Stat(filepath.Join(dir, c.dataDir, "blobs")); err != nil {
				t.Fatalf("data dir %s not used: %v", c.dataDir, err)
			}
		})
	}
}

func payloadOf(out *lambda.InvokeOutput) string {
	if out == nil {
		return ""
	}
	return string(out.Payload)
}

// A configuration sluice cannot use stops it before it serves anything, with a
// message naming the problem.
func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.yaml")
	malformed := writeFile(t, filepath.Join(dir, "bad.yaml"), "region: [unclosed\n")
	badAccount := writeFile(t, filepath.Join(dir, "account.yaml"), "account-id: \"12ab\"\n")
	typo := writeFile(t, filepath.Join(dir, "typo.yaml"), "regoin: eu-west-1\n")
	cases := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"missing config file", []string{"--config", missing},
			nil, "sluice: read config " + missing + ": open " + missing + ": no such file or directory"},
		{"missing SLUICE_CONFIG", nil, []string{"SLUICE_CONFIG=" + missing}, "sluice: read config " + missing + ":"},
		{"malformed yaml", []string{"--config", malformed}, nil, "sluice: read config " + malformed + ":"},
		{"unknown key in file", []string{"--config", typo}, nil, `sluice: config ` + typo + `: unknown key "regoin"`},
		{"bad account in file", []string{"--config", badAccount}, nil, `sluice: --account-id "12ab": must be 12 digits`},
		{"bad store in env", nil, []string{"SLUICE_STORE=nope"}, `sluice: --store "nope": want bolt or etcd`},
		{"bad auth mode flag", []string{"--auth-mode", "sometimes"}, nil, `sluice: --auth-mode "sometimes": want open, verify or auto`},
		{"open off loopback without the opt-in", []string{"--auth-mode", "open", "--listen", "0.0.0.0:0"}, nil,
			`sluice: --auth-mode open on 0.0.0.0:0 would let anyone who can reach it run code`},
		{"etcd without endpoints", []string{"--store", "etcd"}, nil, "sluice: --store etcd needs --etcd-endpoints"},
		{"bad listen", []string{"--listen", "nonsense"}, nil, `sluice: --listen "nonsense":`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			args := append([]string{"serve", "--data-dir", t.TempDir()}, c.args...)
			if !contains(args, "--listen") {
				args = append(args, "--listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
			}
			cmd := exec.CommandContext(ctx, sluiceBin, args...)
			cmd.Env = append(envWithout(sluiceConfigEnv...), c.env...)
			out, err := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("sluice serve %v kept running with a bad configuration:\n%s", c.args, out)
			}
			if err == nil || !strings.HasPrefix(strings.TrimSpace(string(out)), c.want) {
				t.Fatalf("sluice serve %v: err %v, output %q, want it to start with %q", c.args, err, out, c.want)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

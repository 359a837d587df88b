// Command gofn is the pool's test function: a provided.al2023 bootstrap built with
// aws-lambda-go. The event's "op" picks a behavior.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Op    string   `json:"op"`
	Data  string   `json:"data,omitempty"`
	MS    int      `json:"ms,omitempty"`
	Code  int      `json:"code,omitempty"`
	Bytes int      `json:"bytes,omitempty"`
	MB    int      `json:"mb,omitempty"`
	Lines []string `json:"lines,omitempty"`
	Key   string   `json:"key,omitempty"`
}

type reply struct {
	Op        string            `json:"op"`
	Data      string            `json:"data,omitempty"`
	PID       int               `json:"pid"`
	RequestID string            `json:"requestId,omitempty"`
	ARN       string            `json:"arn,omitempty"`
	Deadline  int64             `json:"deadlineMs,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	Value     string            `json:"value,omitempty"`
	Custom    map[string]string `json:"custom,omitempty"`
	Cognito   string            `json:"cognito,omitempty"`
	Trace     string            `json:"trace,omitempty"`
}

var hoard [][]byte

func handle(ctx context.Context, ev event) (any, error) {
	r := reply{Op: ev.Op, PID: os.Getpid()}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		r.RequestID = lc.AwsRequestID
		r.ARN = lc.InvokedFunctionArn
		if ev.Op == "ctx" {
			r.Custom = lc.ClientContext.Custom
			r.Cognito = lc.Identity.CognitoIdentityID
		}
	}
	if ev.Op == "ctx" {
		r.Trace, _ = ctx.Value("x-amzn-trace-id").(string)
	}
	if d, ok := ctx.Deadline(); ok {
		r.Deadline = d.UnixMilli()
	}
	switch ev.Op {
	case "echo", "ctx":
		r.Data = ev.Data
	case "sleep":
		time.Sleep(time.Duration(ev.MS) * time.Millisecond)
	case "error":
		return nil, errors.New(ev.Data)
	case "panic":
		panic(ev.Data)
	case "exit":
		os.Exit(ev.Code)
	case "log":
		for i, l := range ev.Lines {
			if i%2 == 0 {
				fmt.Println(l)
			} else {
				fmt.Fprintln(os.Stderr, l)
			}
		}
	case "big":
		r.Data = strings.Repeat("x", ev.Bytes)
	case "env":
		r.Env = map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			r.Env[k] = v
		}
	case "getenv":
		r.Value = os.Getenv(ev.Key)
	case "alloc":
		for i := 0; i < ev.MB; i++ {
			b := make([]byte, 1<<20)
			for j := range b {
				b[j] = byte(j)
			}
			hoard = append(hoard, b)
		}
	case "probe":
		// What the sandbox lets an instance see and do.
		r.Env = map[string]string{"uid": strconv.Itoa(os.Getuid()), "gid": strconv.Itoa(os.Getgid())}
		if _, err := os.ReadFile(ev.Key); err != nil {
			r.Env["read"] = err.Error()
		} else {
			r.Env["read"] = "ok"
		}
		if err := os.WriteFile("/tmp/probe-"+ev.Data, []byte("x"), 0o600); err != nil {
			r.Env["tmp"] = err.Error()
		} else {
			r.Env["tmp"] = "ok"
		}
		entries, _ := os.ReadDir("/tmp")
		for _, e := range entries {
			r.Env["tmpls"] += e.Name() + " "
		}
		if err := os.WriteFile("planted", []byte("x"), 0o644); err != nil {
			r.Env["code"] = err.Error()
		} else {
			r.Env["code"] = "ok"
		}
	case "detach":
		// A child in a session of its own, left running: it must not outlive the
		// instance.
		cmd := exec.Command("/bin/sleep", ev.Data)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown op %q", ev.Op)
	}
	return r, nil
}

func main() {
	if os.Getenv("GOFN_INIT") == "exit" {
		fmt.Println("init failing")
		os.Exit(3)
	}
	lambda.Start(handle)
}

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// gate is a URL the streaming function polls before its second write: it answers
// 404 until open is called (an HTTP gate, since sandboxed functions cannot see
// the host's files).
func gate(t *testing.T) (url string, open func()) {
	var opened atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !opened.Load() {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/gate", func() { opened.Store(true) }
}

// InvokeWithResponseStream through aws-sdk-go-v2: the first PayloadChunk arrives
// while the function is still running (it waits for the test to open the gate),
// then the rest and InvokeComplete.
func TestInvokeWithResponseStreamSDK(t *testing.T) {
	s := startSluice(t, startOpts{})
	s.createFunction("streamer", "nodejs22.x", "index.handler", dirZip(t, "node-stream"), "--timeout", "60")
	client := lambda.NewFromConfig(s.sdkConfig())
	g, openGate := gate(t)
	payload, _ := json.Marshal(map[string]string{"gate": g})
	out, err := client.InvokeWithResponseStream(context.Background(), &lambda.InvokeWithResponseStreamInput{
		FunctionName: aws.String("streamer"), Payload: payload, LogType: types.LogTypeTail})
	if err != nil {
		t.Fatal(err)
	}
	if out.StatusCode != 200 || aws.ToString(out.ExecutedVersion) != "$LATEST" || aws.ToString(out.ResponseStreamContentType) != "application/octet-stream" {
		t.Fatalf("response: %d %s %s", out.StatusCode, aws.ToString(out.ExecutedVersion), aws.ToString(out.ResponseStreamContentType))
	}
	stream := out.GetStream()
	defer stream.Close()
	var got []string
	var complete *types.InvokeWithResponseStreamCompleteEvent
	for ev := range stream.Events() {
		switch v := ev.(type) {
		case *types.InvokeWithResponseStreamResponseEventMemberPayloadChunk:
			got = append(got, string(v.Value.Payload))
			if len(got) == 1 {
				if got[0] != "first\n" {
					t.Fatalf("first chunk = %q", got[0])
				}
				// Only now may the function go on.
				openGate()
			}
		case *types.InvokeWithResponseStreamResponseEventMemberInvokeComplete:
			complete = &v.Value
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "") != "first\nsecond\n" || complete == nil || aws.ToString(complete.ErrorCode) != "" ||
		aws.ToString(complete.LogResult) == "" {
		t.Fatalf("chunks %q, complete %+v", got, complete)
	}
}

// A RESPONSE_STREAM function URL relays the body as the function writes it, with
// the status and headers of its HttpResponseStream prelude.
func TestFunctionURLResponseStream(t *testing.T) {
	s := startSluice(t, startOpts{})
	s.createFunction("url-streamer", "nodejs22.x", "index.handler", dirZip(t, "node-stream"), "--timeout", "60")
	cfg := s.awsJSON("lambda", "create-function-url-config", "--function-name", "url-streamer", "--auth-type", "NONE",
		"--invoke-mode", "RESPONSE_STREAM")
	if cfg["InvokeMode"] != "RESPONSE_STREAM" {
		t.Fatalf("config = %v", cfg)
	}
	s.aws("lambda", "add-permission", "--function-name", "url-streamer", "--statement-id", "url", "--action",
		"lambda:InvokeFunctionUrl", "--principal", "*", "--function-url-auth-type", "NONE")
	s.aws("lambda", "add-permission", "--function-name", "url-streamer", "--statement-id", "invoke", "--action",
		"lambda:InvokeFunction", "--principal", "*", "--invoked-via-function-url")
	host := strings.TrimSuffix(strings.TrimPrefix(cfg["FunctionUrl"].(string), "http://"), "/")
	g, openGate := gate(t)
	req, _ := http.NewRequest("GET", s.URL+"/?gate="+url.QueryEscape(g), nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Streamed") != "yes" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("status %d headers %v", resp.StatusCode, resp.Header)
	}
	br := bufio.NewReader(resp.Body)
	first, err := br.ReadString('\n')
	if err != nil || first != "first\n" {
		t.Fatalf("first line %q %v", first, err)
	}
	openGate()
	second, err := br.ReadString('\n')
	if err != nil || second != "second\n" {
		t.Fatalf("second line %q %v", second, err)
	}
}

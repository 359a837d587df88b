package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sluice-dev/sluice/internal/sigv4"
)

// The review found a node built from a Config that skipped Validate running in
// open mode. The zero value must mean verify.
func TestZeroConfigIsVerifyMode(t *testing.T) {
	if got := (Config{}).ControlPlaneAuth(); got != sigv4.ModeVerify {
		t.Fatalf("Config{}.ControlPlaneAuth() = %v, want verify", got)
	}
	cfg := Config{DataDir: t.TempDir()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, err := build(ctx, cfg, "127.0.0.1:4566", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	// An unknown key with a well-formed signature: open mode would accept it.
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:4566/2015-03-31/functions/", nil)
	req.Header.Set("X-Amz-Date", "20260101T000000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/lambda/aws4_request, "+
		"SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000")
	rec := httptest.NewRecorder()
	(&dispatcher{s: n.services}).ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("unknown key on a zero-Config node: %d %s, want 403", rec.Code, rec.Body)
	}
	if n.services.authenticateLogs == nil {
		t.Error("function logs are unauthenticated on a zero-Config node")
	}
}

func TestValidateIsPure(t *testing.T) {
	cfg := Defaults()
	before := cfg
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.AuthMode != before.AuthMode {
		t.Fatalf("Validate changed AuthMode %q -> %q", before.AuthMode, cfg.AuthMode)
	}
}

func TestControlPlaneAuth(t *testing.T) {
	tests := []struct {
		mode, listen string
		insecure     bool
		want         sigv4.Mode
		wantErr      bool
	}{
		{"", "127.0.0.1:4566", false, sigv4.ModeVerify, true}, // verify without keys
		{"auto", "127.0.0.1:4566", false, sigv4.ModeOpen, false},
		{"auto", "[::1]:4566", false, sigv4.ModeOpen, false},
		{"auto", "0.0.0.0:4566", false, sigv4.ModeVerify, true},
		{"open", "127.0.0.1:4566", false, sigv4.ModeOpen, false},
		{"open", "0.0.0.0:4566", false, sigv4.ModeOpen, true}, // needs the opt-in
		{"open", "0.0.0.0:4566", true, sigv4.ModeOpen, false},
		{"verify", "127.0.0.1:4566", false, sigv4.ModeVerify, true},
		{"sometimes", "127.0.0.1:4566", false, sigv4.ModeVerify, true},
	}
	for _, tt := range tests {
		cfg := Defaults()
		cfg.AuthMode, cfg.Listen, cfg.InsecureOpen = tt.mode, tt.listen, tt.insecure
		if got := cfg.ControlPlaneAuth(); got != tt.want {
			t.Errorf("%q on %s: mode %v, want %v", tt.mode, tt.listen, got, tt.want)
		}
		if err := cfg.Validate(); (err != nil) != tt.wantErr {
			t.Errorf("%q on %s insecure=%v: Validate = %v, wantErr %v", tt.mode, tt.listen, tt.insecure, err, tt.wantErr)
		}
	}
}

func TestAllowedHosts(t *testing.T) {
	cfg := Defaults()
	allowed := allowedHosts(cfg, "http://sluice.internal:4566")
	for host, want := range map[string]bool{
		"127.0.0.1:4566":                 true,
		"localhost:4566":                 true,
		"[::1]:4566":                     true,
		"abc.execute-api.localhost:4566": true,
		"bucket.s3.localhost":            true,
		"sluice.internal:4566":           true,
		"LOCALHOST.":                     true,
		"evil.example.com:4566":          false,
		"127.0.0.1.evil.example.com":     false,
		"localhost.evil.com":             false,
		"":                               false,
	} {
		if got := allowed(host); got != want {
			t.Errorf("allowed(%q) = %v, want %v", host, got, want)
		}
	}
}

// --execute-api-domain names the Host form's domain; one the data plane cannot
// route ({apiId}.<domain> without the execute-api label) is refused at start.
func TestExecuteAPIDomain(t *testing.T) {
	for _, tc := range []struct {
		domain string
		ok     bool
	}{
		{"execute-api.localhost", true},
		{"Execute-API.dev.example.com", true},
		{"", true}, // unset: Defaults' execute-api.localhost applies in ApiEndpoint
		{"api.example.com", false},
		{"execute-api.", false},
		{"execute-api.example.com:8080", false},
		{"execute-api.example.com.", false},
	} {
		cfg := Defaults()
		cfg.ExecuteAPIDomain = tc.domain
		if err := cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("--execute-api-domain %q: Validate() = %v, want ok=%v", tc.domain, err, tc.ok)
		}
	}
}

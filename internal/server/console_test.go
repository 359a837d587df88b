package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/internal/listen"
)

// The console is guarded as the control plane is, by the node's auth mode, and
// only the control-plane listener serves it.
func TestConsoleRouting(t *testing.T) {
	const key, secret = "AKIDCONSOLE", "console-secret"
	tests := []struct {
		name       string
		cfg        Config
		host       string
		basic      bool
		user, pass string
		data       bool // as a --data-listen listener receives it
		want       int
	}{
		// A Config built in code without a mode or key is verify: nothing opens it.
		{name: "zero config fails closed", cfg: Config{}, host: "127.0.0.1:4566", basic: true, want: http.StatusUnauthorized},
		{name: "open mode", cfg: Config{AuthMode: "open"}, host: "127.0.0.1:4566", want: http.StatusOK},
		// Open mode's DNS-rebinding check covers the console too.
		{name: "open mode, foreign Host", cfg: Config{AuthMode: "open"}, host: "attacker.example:4566", want: http.StatusForbidden},
		{name: "verify without credentials", cfg: Config{AuthMode: "verify", RootAccessKeyID: key, RootSecretAccessKey: secret},
			host: "sluice.example:4566", want: http.StatusUnauthorized},
		{name: "verify with the root key", cfg: Config{AuthMode: "verify", RootAccessKeyID: key, RootSecretAccessKey: secret},
			host: "sluice.example:4566", basic: true, user: key, pass: secret, want: http.StatusOK},
		{name: "auto on a public address is verify", cfg: Config{AuthMode: "auto", Listen: "0.0.0.0:4566", RootAccessKeyID: key, RootSecretAccessKey: secret},
			host: "sluice.example:4566", want: http.StatusUnauthorized},
		// API Gateway's answer to a request for no API.
		{name: "data listener never serves it", cfg: Config{AuthMode: "open"}, host: "127.0.0.1:4566", data: true, want: http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.DataDir = t.TempDir()
			if cfg.Listen == "" {
				cfg.Listen = "127.0.0.1:4566"
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			n, err := build(ctx, cfg, "127.0.0.1:4566", slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer n.close()
			h := &root{control: &dispatcher{s: n.services}, data: n.router}
			req := httptest.NewRequest(http.MethodGet, "http://"+tt.host+"/_sluice/console", nil)
			req = req.WithContext(listen.WithInfo(req.Context(), &listen.Info{Spec: listen.Spec{Address: "127.0.0.1:4566", Control: !tt.data}}))
			if tt.basic {
				req.SetBasicAuth(tt.user, tt.pass)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("GET /_sluice/console: %d, want %d\n%s", rec.Code, tt.want, rec.Body)
			}
			if tt.want == http.StatusUnauthorized && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), `Basic realm="sluice"`) {
				t.Errorf("WWW-Authenticate = %q", rec.Header().Get("WWW-Authenticate"))
			}
			if tt.want != http.StatusOK && strings.Contains(rec.Body.String(), "Sluice console") {
				t.Errorf("a refused request got a console page:\n%s", rec.Body)
			}
		})
	}
}

// Package console owns Sluice's read-only web console at /_sluice/console: the
// functions (configuration, recent invocations from their REPORT lines, a live
// log tail over server-sent events), the REST and HTTP APIs with their stages,
// routes and invoke URLs, and a summary of the Prometheus metrics. Pages are
// html/template files embedded in the binary, with one small stylesheet and
// script: no CDN, so it works offline.
//
// It is served on the control-plane listener only and guarded like the control
// plane: open in open auth mode, else HTTP Basic auth with the root access key id
// as user name and the root secret access key as password (browsers cannot sign
// SigV4).
package console

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-dev/sluice/internal/fnlogs"
	"github.com/sluice-dev/sluice/internal/lambda"
	"github.com/sluice-dev/sluice/internal/store"
)

// Path is where the console is served; every page is under Path + "/".
const Path = "/_sluice/console"

// Functions is the console's view of the Lambda service: $LATEST configurations
// as the invoke path sees them.
type Functions interface {
	Functions() []lambda.Configuration
	Function(name string) (lambda.Configuration, bool)
}

// LogReader reads a function log (fnlogs.Store.Read): every entry since a time,
// then, with follow, new ones until ctx is done.
type LogReader interface {
	Read(ctx context.Context, key string, since time.Time, follow bool, fn func(fnlogs.Entry) error) error
}

// Definitions reads API Gateway's stored records (store.Store's read half).
type Definitions interface {
	Get(ctx context.Context, key string) ([]byte, error)
	List(ctx context.Context, prefix string) ([]store.KV, error)
}

// Options configure a Console.
type Options struct {
	Functions Functions
	Logs      LogReader
	APIs      Definitions
	// Metrics is the Prometheus registry; nil when metrics are off (no
	// --metrics-listen), which the metrics page says.
	Metrics prometheus.Gatherer
	// Recent, when set, is fed by the gateway and gives each API's last requests
	// (status and latency) on the APIs page.
	Recent *Recent

	// Open is true only when the control plane runs in open auth mode; any other
	// value asks for the root key, so an unknown mode fails closed.
	Open bool
	// RootAccessKeyID and RootSecretAccessKey are the Basic auth user name and
	// password. Empty with Open false: every request is refused.
	RootAccessKeyID, RootSecretAccessKey string

	// Endpoint is the control plane's base URL ("http://127.0.0.1:4566"): the
	// path-form invoke URLs start with it.
	Endpoint string
	// ExecuteAPIDomain is the Host-form domain ("execute-api.localhost").
	ExecuteAPIDomain string
	// Draining, when set, reports that the node is shutting down: live tails
	// then end (the browser reconnects elsewhere, or later), so a drain does not
	// wait its whole grace for an open console tab.
	Draining func() bool
	Logger   *slog.Logger
}

// Console serves the pages. It holds no state of its own beyond its options.
type Console struct {
	opts  Options
	mux   *http.ServeMux
	pages map[string]*template.Template
	log   *slog.Logger
}

//go:embed ui
var ui embed.FS

// pageNames are the templates under ui/, each rendered inside layout.html.
var pageNames = []string{"functions", "function", "apis", "metrics", "error"}

// New builds the console. It panics if the embedded templates do not parse (a
// build defect, caught by the package's tests).
func New(opts Options) *Console {
	c := &Console{opts: opts, mux: http.NewServeMux(), pages: map[string]*template.Template{}, log: opts.Logger}
	if c.log == nil {
		c.log = slog.Default()
	}
	funcs := template.FuncMap{
		"path":     url.PathEscape,
		"ago":      ago,
		"ms":       formatMillis,
		"bytes":    formatBytes,
		"barWidth": barWidth,
		"dur":      func(d time.Duration) string { return formatMillis(float64(d.Microseconds()) / 1000) },
	}
	for _, name := range pageNames {
		c.pages[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(ui, "ui/layout.html", "ui/"+name+".html"))
	}
	static, err := fs.Sub(ui, "ui/static")
	if err != nil {
		panic(err)
	}
	c.mux.HandleFunc("GET "+Path, c.serveFunctions)
	c.mux.HandleFunc("GET "+Path+"/{$}", c.serveFunctions)
	c.mux.HandleFunc("GET "+Path+"/functions/{name}", c.serveFunction)
	c.mux.HandleFunc("GET "+Path+"/functions/{name}/tail", c.serveTail)
	c.mux.HandleFunc("GET "+Path+"/apis", c.serveAPIs)
	c.mux.HandleFunc("GET "+Path+"/metrics", c.serveMetrics)
	c.mux.Handle("GET "+Path+"/static/", http.StripPrefix(Path+"/static/", http.FileServerFS(static)))
	c.mux.HandleFunc(Path+"/", func(w http.ResponseWriter, r *http.Request) {
		c.renderError(w, http.StatusNotFound, "No console page at "+r.URL.Path+".")
	})
	return c
}

func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Pages load their script and stylesheet from here and nothing else; no
	// inline script or style can run even if a value escaped its context.
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	if !c.authorized(r) {
		h.Set("WWW-Authenticate", `Basic realm="sluice", charset="UTF-8"`)
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte("401 Unauthorized: sign in with the root access key id as user name " +
			"and the root secret access key as password.\n"))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// The console is read-only: it changes nothing, so it needs no CSRF defence.
		h.Set("Allow", "GET, HEAD")
		c.renderError(w, http.StatusMethodNotAllowed, "The console is read-only: use GET.")
		return
	}
	c.mux.ServeHTTP(w, r)
}

// page is what every template gets: the section for the navigation, the
// page's title and its data.
type page struct {
	Section string
	Title   string
	Data    any
}

func (c *Console) render(w http.ResponseWriter, status int, name string, p page) {
	var buf strings.Builder
	if err := c.pages[name].ExecuteTemplate(&buf, "layout.html", p); err != nil {
		c.log.Error("console: render", "page", name, "err", err)
		status, buf = http.StatusInternalServerError, strings.Builder{}
		buf.WriteString("500 Internal Server Error: the page could not be rendered.\n")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

func (c *Console) renderError(w http.ResponseWriter, status int, message string) {
	c.render(w, status, "error", page{Title: http.StatusText(status), Data: errorPage{Status: status, Message: message}})
}

type errorPage struct {
	Status  int
	Message string
}

// internalError logs err and answers a page that does not leak it.
func (c *Console) internalError(w http.ResponseWriter, what string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	c.log.Error("console: "+what, "err", err)
	c.renderError(w, http.StatusInternalServerError, "Could not read "+what+"; the server log says why.")
}

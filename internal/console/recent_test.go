package console

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/model"
)

// The ring keeps the last N requests of each API, newest first, and ignores
// requests that reached no API.
func TestRecentRing(t *testing.T) {
	r := NewRecent(3)
	for i := range 5 {
		r.ObserveRequest("a", "prod", fmt.Sprint("GET /", i), 200+i, time.Duration(i)*time.Millisecond, 0)
	}
	r.ObserveRequest("b", "$default", "", 404, time.Millisecond, 0)
	r.ObserveRequest("", "", "", 403, time.Millisecond, 0)
	got := r.For("a")
	if len(got) != 3 || got[0].Route != "GET /4" || got[2].Route != "GET /2" || got[0].Status != 204 {
		t.Fatalf("a: %+v", got)
	}
	if b := r.For("b"); len(b) != 1 || b[0].Status != 404 {
		t.Fatalf("b: %+v", b)
	}
	if n := len(r.apis); n != 2 {
		t.Fatalf("%d APIs kept, want 2 (a request that reached no API is not one)", n)
	}
	var none *Recent
	if none.For("a") != nil {
		t.Fatal("a nil Recent has requests")
	}
}

// The APIs page lists an API's recent requests with status and latency.
func TestAPIsPageRecentRequests(t *testing.T) {
	f := newFixture(t)
	putJSON(t, f.store, model.Key(model.HTTPAPIPrefix, "http1"), model.HTTPAPI{APIID: "http1", Name: "hello", ProtocolType: "HTTP"})
	putJSON(t, f.store, model.Key(model.HTTPStagePrefix, "http1", "$default"), model.Stage2{StageName: "$default", DeploymentID: "d1"})
	recent := NewRecent(5)
	recent.ObserveRequest("http1", "$default", "GET /items/{id}", 502, 1500*time.Microsecond, 1200*time.Microsecond)
	body := get(t, f.console(func(o *Options) { o.Recent = recent }), Path+"/apis").Body.String()
	for _, want := range []string{"Recent requests", "<code>GET /items/{id}</code>", `<td class="status">502</td>`, "1.50 ms", "1.20 ms"} {
		if !strings.Contains(body, want) {
			t.Errorf("APIs page lacks %s", want)
		}
	}
}

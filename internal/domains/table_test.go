package domains

import (
	"crypto/tls"
	"testing"

	"github.com/sluice-dev/sluice/internal/apigw/model"
)

func TestTableLookupAndMatch(t *testing.T) {
	tbl := Build([]*model.DomainName{
		{Name: "api.example.com", CertificateArn: "arn:1", SecurityPolicy: "TLS_1_0"},
		{Name: "*.apps.example.com", CertificateArn: "arn:2"},
	}, []*model.DomainMapping{
		{Domain: "api.example.com", Key: "", APIID: "root", Stage: "v1"},
		{Domain: "api.example.com", Key: "email", APIID: "email", Stage: "prod"},
		{Domain: "api.example.com", Key: "v1/email", APIID: "email1", Stage: "prod"},
		{Domain: "api.example.com", Key: "nostage", APIID: "ns"},
		{Domain: "gone.example.com", Key: "", APIID: "x", Stage: "y"},
	}, 7)
	for host, want := range map[string]string{
		"api.example.com": "api.example.com", "API.Example.com.": "api.example.com",
		"a.apps.example.com": "*.apps.example.com", "a.b.apps.example.com": "", "apps.example.com": "", "other.com": "",
	} {
		d := tbl.Lookup(host)
		got := ""
		if d != nil {
			got = d.Name
		}
		if got != want {
			t.Errorf("Lookup(%q) = %q, want %q", host, got, want)
		}
	}
	d := tbl.Lookup("api.example.com")
	if d.MinVersion != tls.VersionTLS10 || tbl.Lookup("x.apps.example.com").MinVersion != tls.VersionTLS12 {
		t.Fatal("security policies")
	}
	for path, want := range map[string][2]string{
		"/email/send":       {"email", "/send"},
		"/email":            {"email", "/"},
		"/emails/x":         {"root", "/emails/x"},
		"/v1/email/send":    {"email1", "/send"},
		"/v1/other":         {"root", "/v1/other"},
		"/":                 {"root", "/"},
		"/nostage/dev/path": {"ns", "/dev/path"},
	} {
		m, rest, ok := d.Match(path)
		if !ok || m.APIID != want[0] || rest != want[1] {
			t.Errorf("Match(%q) = %v %q %v, want %v", path, m, rest, ok, want)
		}
	}
	if _, _, ok := tbl.Lookup("a.apps.example.com").Match("/x"); ok {
		t.Fatal("a domain without mappings matched")
	}
}

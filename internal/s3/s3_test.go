package s3

import (
	"encoding/xml"
	"net/http/httptest"
	"net/url"
	"testing"
)

func TestValidBucketName(t *testing.T) {
	for name, want := range map[string]bool{
		"my-bucket": true, "a.b.c": true, "abc": true, "123": true,
		"ab": false, "Ab-c": false, "a_b": false, "-abc": false, "abc-": false, "a..b": false,
		"192.168.5.4": false, "xn--abc": false, "sthree-x": false, "abc-s3alias": false, "abc--ol-s3": false,
		string(make([]byte, 64)): false,
	} {
		if got := validBucketName(name); got != want {
			t.Errorf("validBucketName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestParseRange(t *testing.T) {
	cases := []struct {
		h             string
		start, length int64
		ok, err       bool
	}{
		{"bytes=0-4", 0, 5, true, false},
		{"bytes=5-", 5, 5, true, false},
		{"bytes=-3", 7, 3, true, false},
		{"bytes=-30", 0, 10, true, false},
		{"bytes=2-100", 2, 8, true, false},
		{"bytes=10-", 0, 0, false, true},
		{"bytes=-0", 0, 0, false, true},
		{"bytes=5-2", 0, 0, false, false},
		{"items=0-1", 0, 0, false, false},
		{"bytes=0-1,3-4", 0, 0, false, false},
	}
	for _, c := range cases {
		s, l, ok, err := parseRange(c.h, 10)
		if s != c.start || l != c.length || ok != c.ok || (err != nil) != c.err {
			t.Errorf("parseRange(%q) = %d,%d,%v,%v", c.h, s, l, ok, err)
		}
	}
}

func TestBucketFromHost(t *testing.T) {
	for host, want := range map[string]string{
		"photos.s3.localhost:4566":           "photos",
		"photos.s3.us-east-1.localhost:4566": "photos",
		"my.dotted.bucket.s3.localhost":      "my.dotted.bucket",
		"photos.localhost:4566":              "photos",
		"photos.s3.amazonaws.com":            "photos",
		"s3.localhost:4566":                  "",
		"s3.us-east-1.localhost":             "",
		"abc123.execute-api.localhost:4566":  "",
		"127.0.0.1:4566":                     "",
		"localhost:4566":                     "",
	} {
		got, _ := BucketFromHost(host)
		if got != want {
			t.Errorf("BucketFromHost(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestAddressOf(t *testing.T) {
	for target, want := range map[string][3]string{
		"/b/k":             {"b", "k", "true"},
		"/b/":              {"b", "", "false"},
		"/b":               {"b", "", "false"},
		"/b/a%20b%2Bc":     {"b", "a b+c", "true"},
		"/b/a+b":           {"b", "a+b", "true"},
		"/b/dir//x/./y":    {"b", "dir//x/./y", "true"},
		"/b/%E2%82%AC.txt": {"b", "€.txt", "true"},
	} {
		r := httptest.NewRequest("GET", "http://127.0.0.1:4566"+target, nil)
		b, k, has, err := addressOf(r)
		if err != nil || b != want[0] || k != want[1] || (has && want[2] != "true") || (!has && want[2] == "true") {
			t.Errorf("addressOf(%s) = %q %q %v %v", target, b, k, has, err)
		}
	}
}

func TestEventKey(t *testing.T) {
	// S3's event records carry the key form-encoded (space as '+'), '/' kept.
	for k, want := range map[string]string{
		"Happy Face.jpg": "Happy+Face.jpg",
		"dir/a+b.jpg":    "dir/a%2Bb.jpg",
		"€/x y":          "%E2%82%AC/x+y",
	} {
		if got := eventKey(k); got != want {
			t.Errorf("eventKey(%q) = %q, want %q", k, got, want)
		}
		if dec, _ := url.QueryUnescape(eventKey(k)); dec != k {
			t.Errorf("eventKey(%q) does not decode back: %q", k, dec)
		}
	}
}

func TestCheckOverlap(t *testing.T) {
	a := lambdaConfig{Events: []string{"s3:ObjectCreated:*"}, Prefix: "images/"}
	b := lambdaConfig{Events: []string{"s3:ObjectCreated:Put"}, Prefix: "images/raw/"}
	c := lambdaConfig{Events: []string{"s3:ObjectCreated:Put"}, Prefix: "docs/"}
	d := lambdaConfig{Events: []string{"s3:ObjectRemoved:*"}, Prefix: "images/"}
	if checkOverlap([]lambdaConfig{a, b}) == nil {
		t.Error("overlapping prefixes accepted")
	}
	if err := checkOverlap([]lambdaConfig{a, c, d}); err != nil {
		t.Errorf("disjoint configurations refused: %v", err)
	}
}

// The XML request parsers never panic and reject what does not parse.
func FuzzRequestXML(f *testing.F) {
	f.Add(`<Delete><Quiet>true</Quiet><Object><Key>a</Key></Object></Delete>`)
	f.Add(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>`)
	f.Add(`<NotificationConfiguration><LambdaFunctionConfiguration><CloudFunction>arn</CloudFunction><Event>s3:ObjectCreated:*</Event><Filter><S3Key><FilterRule><Name>prefix</Name><Value>a/</Value></FilterRule></S3Key></Filter></LambdaFunctionConfiguration></NotificationConfiguration>`)
	f.Add(`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`)
	f.Fuzz(func(t *testing.T, doc string) {
		var d deleteRequest
		_ = xml.Unmarshal([]byte(doc), &d)
		var c completeMultipartUpload
		_ = xml.Unmarshal([]byte(doc), &c)
		var n notificationXML
		if xml.Unmarshal([]byte(doc), &n) == nil {
			for _, l := range n.Lambda {
				if lc, err := parseLambdaConfig(l); err == nil {
					_ = checkOverlap([]lambdaConfig{lc, lc})
					_ = lc.matches("ObjectCreated:Put", doc)
				}
			}
		}
		var cors corsConfiguration
		if xml.Unmarshal([]byte(doc), &cors) == nil {
			_ = matchCORS(cors.Rules, doc, "GET", []string{doc})
		}
		var tg tagging
		if xml.Unmarshal([]byte(doc), &tg) == nil {
			_ = validateTags(tg.TagSet, 10)
		}
	})
}

// Keys and query values round-trip through the encoders S3 clients rely on.
func FuzzKeyEncoding(f *testing.F) {
	f.Add("dir/a b+c%.txt")
	f.Add("€/ü?#&=")
	f.Fuzz(func(t *testing.T, key string) {
		if dec, err := url.QueryUnescape(eventKey(key)); err != nil || dec != key {
			t.Fatalf("eventKey(%q) = %q does not decode back (%q, %v)", key, eventKey(key), dec, err)
		}
		if dec, err := url.QueryUnescape(urlEncodeKey(key)); err != nil || dec != key {
			t.Fatalf("urlEncodeKey(%q) does not decode back", key)
		}
		r := httptest.NewRequest("GET", "http://127.0.0.1/", nil)
		r.URL.RawPath = ""
		r.URL.Path = "/b/" + key
		r.RequestURI = ""
		if b, k, _, err := addressOf(r); err == nil && (b != "b" || (k != key && key != "")) {
			if len(key) > 0 && key[0] != '/' {
				t.Fatalf("addressOf(/b/%q) = %q %q", key, b, k)
			}
		}
	})
}

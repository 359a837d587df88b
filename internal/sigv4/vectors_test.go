package sigv4

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/awsproto"
)

// vectorsDir holds the aws-c-auth SigV4 test suite, copied unchanged from
// ../shared/testdata/sigv4 (Apache 2.0; LICENSE and NOTICE beside it).
const vectorsDir = "testdata/aws-c-auth/v4"

type vectorContext struct {
	Credentials struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
	} `json:"credentials"`
	ExpirationInSeconds int       `json:"expiration_in_seconds"`
	Normalize           bool      `json:"normalize"`
	Region              string    `json:"region"`
	Service             string    `json:"service"`
	SignBody            bool      `json:"sign_body"`
	Timestamp           time.Time `json:"timestamp"`
}

type vectorCase struct {
	name string
	ctx  vectorContext
	dir  string
}

func loadVectors(t testing.TB) []vectorCase {
	t.Helper()
	entries, err := os.ReadDir(vectorsDir)
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	var cases []vectorCase
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(vectorsDir, e.Name())
		raw, err := os.ReadFile(filepath.Join(dir, "context.json"))
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		var c vectorContext
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatalf("%s: context.json: %v", e.Name(), err)
		}
		cases = append(cases, vectorCase{name: e.Name(), ctx: c, dir: dir})
	}
	if len(cases) < 30 {
		t.Fatalf("found only %d vector cases in %s", len(cases), vectorsDir)
	}
	return cases
}

func (c vectorCase) file(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.dir, name))
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	return string(b)
}

// parseRawRequest reads a request as the vectors write it, tolerating what
// http.ReadRequest refuses: "Name:value" without a space, a request target with raw
// spaces or UTF-8, and obsolete line folding (continuation lines are joined with one
// space, as net/textproto does).
func parseRawRequest(raw string) (*http.Request, error) {
	head, body, found := strings.Cut(raw, "\n\n")
	if !found {
		head = strings.TrimRight(raw, "\n")
	}
	lines := strings.Split(head, "\n")
	first := lines[0]
	sp1 := strings.IndexByte(first, ' ')
	sp2 := strings.LastIndexByte(first, ' ')
	if sp1 < 0 || sp2 <= sp1 {
		return nil, fmt.Errorf("bad request line %q", first)
	}
	method, target := first[:sp1], first[sp1+1:sp2]

	type field struct{ name, value string }
	var fields []field
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		if l[0] == ' ' || l[0] == '\t' {
			if len(fields) == 0 {
				return nil, fmt.Errorf("continuation line first: %q", l)
			}
			fields[len(fields)-1].value = strings.TrimSpace(fields[len(fields)-1].value) + " " + strings.TrimSpace(l)
			continue
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			return nil, fmt.Errorf("bad header line %q", l)
		}
		fields = append(fields, field{name, value})
	}

	r := &http.Request{
		Method:     method,
		RequestURI: target,
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
	}
	for _, f := range fields {
		if strings.EqualFold(f.name, "Host") {
			r.Host = strings.TrimSpace(f.value)
			continue
		}
		r.Header.Add(textproto.CanonicalMIMEHeaderKey(f.name), f.value)
	}
	path, query, _ := strings.Cut(target, "?")
	r.URL = &url.URL{Path: path, RawQuery: query}
	if body == "" {
		r.Body, r.ContentLength = http.NoBody, 0
	}
	return r, nil
}

func vectorVerifier(c vectorCase, now time.Time, mode Mode) *Verifier {
	return NewVerifier(Options{
		Mode:        mode,
		Credentials: StaticCredentials{c.ctx.Credentials.AccessKeyID: c.ctx.Credentials.SecretAccessKey},
		Now:         func() time.Time { return now },
	})
}

func verifyRaw(t *testing.T, v *Verifier, raw string) (*Identity, error) {
	t.Helper()
	r, err := parseRawRequest(raw)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return v.Verify(r)
}

var forms = []string{"header", "query"}

// TestVectorsVerify: every signed request of the suite verifies at its timestamp.
func TestVectorsVerify(t *testing.T) {
	for _, c := range loadVectors(t) {
		for _, form := range forms {
			t.Run(c.name+"/"+form, func(t *testing.T) {
				v := vectorVerifier(c, c.ctx.Timestamp, ModeVerify)
				id, err := verifyRaw(t, v, c.file(t, form+"-signed-request.txt"))
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				want := Identity{AccessKeyID: "AKIDEXAMPLE", Region: c.ctx.Region, Service: c.ctx.Service,
					SignedAt: c.ctx.Timestamp, Presigned: form == "query", Verified: true}
				got := *id
				got.SessionToken = ""
				if got != want {
					t.Fatalf("identity = %+v, want %+v", got, want)
				}
			})
		}
	}
}

// TestVectorsCanonicalAndSDK checks both signature engines against the suite's own
// intermediate files: the in-package canonical request equals *-canonical-request.txt
// for one of the candidate forms, its signature equals *-signature.txt, and the SDK
// signer, which claims every vector request, produces that same signature.
func TestVectorsCanonicalAndSDK(t *testing.T) {
	sdkUsed := 0
	for _, c := range loadVectors(t) {
		for _, form := range forms {
			t.Run(c.name+"/"+form, func(t *testing.T) {
				v := vectorVerifier(c, c.ctx.Timestamp, ModeVerify)
				r, err := parseRawRequest(c.file(t, form+"-signed-request.txt"))
				if err != nil {
					t.Fatal(err)
				}
				wantCanonical := strings.TrimRight(c.file(t, form+"-canonical-request.txt"), "\n")
				wantSig := strings.TrimSpace(c.file(t, form+"-signature.txt"))

				in, aerr := parseFor(v, r)
				if aerr != nil {
					t.Fatalf("parse auth: %v", aerr)
				}
				payload, aerr := v.payloadHash(r, in)
				if aerr != nil {
					t.Fatalf("payload: %v", aerr)
				}
				base := v.canonicalBase(r, in, payload)
				queries := [][]queryPair{base.query, withoutParam(base.query, paramSecurityToken)}
				var matched *canonicalInput
				for _, p := range pathCandidates(in.target.path, in.dialect) {
					for _, q := range queries {
						cand := base
						cand.path, cand.query = p, q
						if cand.canonicalRequest() == wantCanonical {
							matched = &cand
						}
					}
				}
				if matched == nil {
					first := base
					first.path = pathCandidates(in.target.path, in.dialect)[0]
					t.Fatalf("no candidate canonical request matches the vector\n got:\n%s\nwant:\n%s", first.canonicalRequest(), wantCanonical)
				}
				if got := v.ownSignature(matched, c.ctx.Credentials.SecretAccessKey); got != wantSig {
					t.Fatalf("own signature = %s, want %s", got, wantSig)
				}
				if sdkCanSign(in, matched) {
					sdkUsed++
					got, ok := v.sdkSignature(t.Context(), in, matched, c.ctx.Credentials.SecretAccessKey)
					if !ok || got != wantSig {
						t.Fatalf("sdk signature = %q (%v), want %s", got, ok, wantSig)
					}
				}
			})
		}
	}
	if want := 2 * len(loadVectors(t)); sdkUsed != want {
		t.Fatalf("the SDK signer reproduced %d of %d vector requests; it reproduces all of them", sdkUsed, want)
	}
}

// parseFor runs the parsing half of Verify.
func parseFor(v *Verifier, r *http.Request) (*authInput, *awsproto.Error) {
	target := targetOf(r)
	pairs := parseQuery(target.rawQuery)
	var in *authInput
	var aerr *awsproto.Error
	if h := r.Header.Get(headerAuthorization); h != "" {
		in, aerr = v.parseHeaderAuth(r, h)
	} else {
		in, aerr = v.parsePresigned(pairs)
	}
	if aerr != nil {
		return nil, aerr
	}
	in.target, in.query = target, pairs
	scope, term, _ := parseCredential(in.credential)
	in.scope, in.terminator = scope, term
	return in, nil
}

// rawParts splits a raw vector request for mutation.
type rawParts struct {
	method, target, proto string
	headers               []string
	body                  string
}

func splitRaw(raw string) rawParts {
	head, body, _ := strings.Cut(raw, "\n\n")
	lines := strings.Split(head, "\n")
	first := lines[0]
	sp1, sp2 := strings.IndexByte(first, ' '), strings.LastIndexByte(first, ' ')
	return rawParts{method: first[:sp1], target: first[sp1+1 : sp2], proto: first[sp2+1:], headers: lines[1:], body: body}
}

func (p rawParts) String() string {
	return p.method + " " + p.target + " " + p.proto + "\n" + strings.Join(p.headers, "\n") + "\n\n" + p.body
}

func (p rawParts) clone() rawParts {
	p.headers = append([]string(nil), p.headers...)
	return p
}

// signedHeaderNames returns the signed header names of a raw request.
func signedHeaderNames(t *testing.T, raw string) []string {
	r, err := parseRawRequest(raw)
	if err != nil {
		t.Fatal(err)
	}
	if h := r.Header.Get("Authorization"); h != "" {
		i := strings.Index(h, "SignedHeaders=")
		rest := h[i+len("SignedHeaders="):]
		rest, _, _ = strings.Cut(rest, ",")
		return strings.Split(rest, ";")
	}
	q, _ := url.ParseQuery(r.URL.RawQuery)
	return strings.Split(q.Get(paramSignedHeaders), ";")
}

// TestVectorsRejectAlterations: changing any signed part of any vector, or presenting
// it outside its validity window, is rejected.
func TestVectorsRejectAlterations(t *testing.T) {
	for _, c := range loadVectors(t) {
		for _, form := range forms {
			raw := c.file(t, form+"-signed-request.txt")
			orig := splitRaw(raw)
			type mutation struct {
				name     string
				raw      string
				now      time.Time
				wantCode string // "" = any rejection
			}
			ts := c.ctx.Timestamp
			var muts []mutation
			add := func(name string, p rawParts, code string) {
				muts = append(muts, mutation{name: name, raw: p.String(), now: ts, wantCode: code})
			}

			p := orig.clone()
			if p.method == "GET" {
				p.method = "POST"
			} else {
				p.method = "GET"
			}
			add("method", p, CodeInvalidSignature)

			p = orig.clone()
			path, query, hasQuery := strings.Cut(p.target, "?")
			p.target = path + "x"
			if hasQuery {
				p.target += "?" + query
			}
			add("path", p, CodeInvalidSignature)

			p = orig.clone()
			p.target = addOrAlterQuery(p.target)
			add("query", p, CodeInvalidSignature)

			if form == "query" {
				p = orig.clone()
				p.target = strings.Replace(p.target, "X-Amz-Expires=3600", "X-Amz-Expires=3599", 1)
				add("expires-param", p, CodeInvalidSignature)
			}

			for _, name := range signedHeaderNames(t, raw) {
				p = orig.clone()
				altered := false
				for i, l := range p.headers {
					k, _, ok := strings.Cut(l, ":")
					if ok && strings.EqualFold(k, name) {
						p.headers[i] = l + "x"
						altered = true
						break
					}
				}
				if !altered {
					t.Fatalf("%s/%s: signed header %q not found", c.name, form, name)
				}
				code := CodeInvalidSignature
				if name == "x-amz-date" {
					code = "" // now a malformed date
				}
				add("header-"+name, p, code)
			}

			if c.ctx.SignBody {
				p = orig.clone()
				p.body += "x"
				add("body", p, CodeInvalidSignature)
			}

			p = orig.clone()
			sigAt := strings.LastIndex(p.String(), "Signature=")
			flipped := []byte(p.String())
			i := sigAt + len("Signature=")
			if flipped[i] == '0' {
				flipped[i] = '1'
			} else {
				flipped[i] = '0'
			}
			muts = append(muts, mutation{name: "signature", raw: string(flipped), now: ts, wantCode: CodeInvalidSignature})

			muts = append(muts,
				mutation{name: "late-beyond-skew", raw: raw, now: ts.Add(15*time.Minute + time.Second), wantCode: CodeInvalidSignature},
				mutation{name: "early-beyond-skew", raw: raw, now: ts.Add(-15*time.Minute - time.Second), wantCode: CodeInvalidSignature},
			)
			if form == "query" {
				muts = append(muts, mutation{name: "after-expires", raw: raw,
					now: ts.Add(time.Duration(c.ctx.ExpirationInSeconds)*time.Second + time.Second), wantCode: CodeInvalidSignature})
			}

			for _, m := range muts {
				t.Run(c.name+"/"+form+"/"+m.name, func(t *testing.T) {
					v := vectorVerifier(c, m.now, ModeVerify)
					id, err := verifyRaw(t, v, m.raw)
					if err == nil {
						t.Fatalf("altered request accepted: %+v\n%s", id, m.raw)
					}
					ae, ok := err.(*awsproto.Error)
					if !ok {
						t.Fatalf("error %T %v is not *awsproto.Error", err, err)
					}
					if m.wantCode != "" && ae.Code != m.wantCode {
						t.Fatalf("code = %s (%s), want %s", ae.Code, ae.Message, m.wantCode)
					}
				})
			}
			// Inside the window it still verifies.
			t.Run(c.name+"/"+form+"/within-skew", func(t *testing.T) {
				for _, now := range []time.Time{ts.Add(14 * time.Minute), ts.Add(-14 * time.Minute)} {
					if _, err := verifyRaw(t, vectorVerifier(c, now, ModeVerify), raw); err != nil {
						t.Fatalf("at %s: %v", now, err)
					}
				}
			})
		}
	}
}

// addOrAlterQuery changes the value of the first parameter that is not part of the
// presigned authentication, or adds one.
func addOrAlterQuery(target string) string {
	path, query, _ := strings.Cut(target, "?")
	parts := strings.Split(query, "&")
	for i, p := range parts {
		if p != "" && !strings.HasPrefix(p, "X-Amz-") {
			parts[i] = p + "x"
			return path + "?" + strings.Join(parts, "&")
		}
	}
	if query == "" {
		return path + "?extra=1"
	}
	return path + "?" + query + "&extra=1"
}

func TestVectorSkewMessages(t *testing.T) {
	c := vectorCase{name: "get-vanilla", dir: filepath.Join(vectorsDir, "get-vanilla")}
	raw, err := os.ReadFile(filepath.Join(c.dir, "context.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &c.ctx); err != nil {
		t.Fatal(err)
	}
	header := c.file(t, "header-signed-request.txt")
	query := c.file(t, "query-signed-request.txt")
	ts := c.ctx.Timestamp
	tests := []struct {
		name, raw string
		now       time.Time
		want      string
	}{
		{"expired", header, ts.Add(16 * time.Minute),
			"Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z (20150830T125200Z - 15 min.)"},
		{"not-yet-current", header, ts.Add(-16 * time.Minute),
			"Signature not yet current: 20150830T123600Z is still later than 20150830T123500Z (20150830T122000Z + 15 min.)"},
		{"presigned-expired", query, ts.Add(16 * time.Minute),
			"Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z (20150830T125200Z - 15 min.)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := verifyRaw(t, vectorVerifier(c, tt.now, ModeVerify), tt.raw)
			ae, ok := err.(*awsproto.Error)
			if !ok || ae.Status != http.StatusForbidden || ae.Code != CodeInvalidSignature || ae.Message != tt.want {
				t.Fatalf("err = %#v, want 403 %s %q", err, CodeInvalidSignature, tt.want)
			}
		})
	}
}

func TestVerifyRestoresBody(t *testing.T) {
	c := vectorCase{name: "post-x-www-form-urlencoded", dir: filepath.Join(vectorsDir, "post-x-www-form-urlencoded")}
	raw, _ := os.ReadFile(filepath.Join(c.dir, "context.json"))
	if err := json.Unmarshal(raw, &c.ctx); err != nil {
		t.Fatal(err)
	}
	r, err := parseRawRequest(c.file(t, "header-signed-request.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vectorVerifier(c, c.ctx.Timestamp, ModeVerify).Verify(r); err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil || !bytes.Equal(body, []byte("Param1=value1")) {
		t.Fatalf("body after Verify = %q, %v", body, err)
	}
}

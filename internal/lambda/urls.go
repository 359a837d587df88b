package lambda

import (
	"crypto/rand"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/store"
)

// FunctionURLConfig is Lambda's FunctionUrlConfig, with AWS's JSON names.
type FunctionURLConfig struct {
	FunctionUrl      string `json:"FunctionUrl"`
	FunctionArn      string `json:"FunctionArn"`
	AuthType         string `json:"AuthType"`
	Cors             *Cors  `json:"Cors,omitempty"`
	CreationTime     string `json:"CreationTime"`
	LastModifiedTime string `json:"LastModifiedTime,omitempty"`
	InvokeMode       string `json:"InvokeMode"`
}

// Cors is a function URL's CORS configuration.
type Cors struct {
	AllowCredentials bool     `json:"AllowCredentials,omitempty"`
	AllowHeaders     []string `json:"AllowHeaders,omitempty"`
	AllowMethods     []string `json:"AllowMethods,omitempty"`
	AllowOrigins     []string `json:"AllowOrigins,omitempty"`
	ExposeHeaders    []string `json:"ExposeHeaders,omitempty"`
	MaxAge           *int     `json:"MaxAge,omitempty"`
}

// urlRecord is one function URL, kept in its function's record keyed by qualifier
// ("" for the unqualified function), so deleting the function deletes its URLs.
type urlRecord struct {
	ID     string            `json:"id"` // the url-id: the first label of the URL's host
	Config FunctionURLConfig `json:"config"`
}

// urlQualifierRE is the model's FunctionUrlQualifier: an alias name or $LATEST,
// never a version number.
var (
	urlQualifierRE = regexp.MustCompile(`^[0-9a-zA-Z_-]+$`)
	digitsRE       = regexp.MustCompile(`^\d+$`)
)

const urlIDAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newURLID makes a url-id as AWS does: 32 lower-case letters and digits.
func newURLID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = urlIDAlphabet[int(b[i])%len(urlIDAlphabet)]
	}
	return string(b)
}

// functionURL is the address of url-id id. AWS's is https://{id}.lambda-url.{region}.on.aws/;
// Sluice's equivalent is served on its own listener (Options.FunctionURLBase).
func (s *Service) functionURL(id string) string {
	if s.urlBase != nil {
		return s.urlBase(id)
	}
	scheme, port := "http", ""
	if ep := s.endpoint; ep != "" {
		if rest, ok := strings.CutPrefix(ep, "https://"); ok {
			scheme, ep = "https", rest
		} else {
			ep = strings.TrimPrefix(ep, "http://")
		}
		ep = strings.TrimRight(ep, "/")
		if i := strings.LastIndex(ep, ":"); i >= 0 {
			port = ep[i:]
		}
	}
	return scheme + "://" + id + ".lambda-url." + s.region + ".localhost" + port + "/"
}

func urlTimestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

type urlConfigInput struct {
	AuthType   *string `json:"AuthType"`
	Cors       *Cors   `json:"Cors"`
	InvokeMode *string `json:"InvokeMode"`
}

func (in *urlConfigInput) validate(create bool) error {
	if in.AuthType == nil {
		if create {
			return validation("Value null at 'authType' failed to satisfy constraint: Member must not be null")
		}
	} else if *in.AuthType != "NONE" && *in.AuthType != "AWS_IAM" {
		return validation("Value '%s' at 'authType' failed to satisfy constraint: Member must satisfy enum value set: [NONE, AWS_IAM]", *in.AuthType)
	}
	if in.InvokeMode != nil && *in.InvokeMode != "BUFFERED" && *in.InvokeMode != "RESPONSE_STREAM" {
		return validation("Value '%s' at 'invokeMode' failed to satisfy constraint: Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]", *in.InvokeMode)
	}
	if c := in.Cors; c != nil {
		switch {
		case len(c.AllowMethods) > 6:
			return validation("Value '[%s]' at 'cors.allowMethods' failed to satisfy constraint: Member must have length less than or equal to 6", strings.Join(c.AllowMethods, ", "))
		case len(c.AllowOrigins) > 100, len(c.AllowHeaders) > 100, len(c.ExposeHeaders) > 100:
			return validation("Value at 'cors' failed to satisfy constraint: Member must have length less than or equal to 100")
		case c.MaxAge != nil && (*c.MaxAge < 0 || *c.MaxAge > 86400):
			return validation("Value '%d' at 'cors.maxAge' failed to satisfy constraint: Member must have value between 0 and 86400", *c.MaxAge)
		}
		for _, m := range c.AllowMethods {
			if len(m) > 6 || strings.TrimSpace(m) == "" {
				return validation("Value '[%s]' at 'cors.allowMethods' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 6, Member must satisfy regular expression pattern: .*]", strings.Join(c.AllowMethods, ", "))
			}
		}
	}
	return nil
}

// urlRef parses a Function URL operation's function and Qualifier: the qualifier may
// come in the name (fn:alias) or the query, and must be an alias or $LATEST.
func (s *Service) urlRef(c *call) (functionRef, error) {
	q := c.query("Qualifier")
	if q != "" && (!urlQualifierRE.MatchString(q) || digitsRE.MatchString(q)) {
		return functionRef{}, validation("Value '%s' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)", q)
	}
	ref, err := s.parseFunctionRef(c.function, q)
	if err != nil {
		return functionRef{}, err
	}
	if isVersionNumber(ref.Qualifier) {
		return functionRef{}, validation("Value '%s' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)", ref.Qualifier)
	}
	if ref.Qualifier == "$LATEST" {
		ref.Qualifier = ""
	}
	return ref, nil
}

// loadURLTarget loads ref's function and checks its alias exists.
func (s *Service) loadURLTarget(r store.Reader, ref functionRef) (*functionRecord, error) {
	rec, err := s.loadFunction(r, functionRef{Name: ref.Name, Foreign: ref.Foreign})
	if err != nil {
		return nil, err
	}
	if ref.Qualifier != "" {
		if _, err := loadRecord[aliasRecord](r, aliasKey(ref.Name, ref.Qualifier), fmtNotFound(s.refARN(ref))); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// urlInput reads a Create/UpdateFunctionUrlConfig call's target and validated body.
func (s *Service) urlInput(c *call, op string, create bool) (functionRef, urlConfigInput, error) {
	var in urlConfigInput
	ref, err := s.urlRef(c)
	if err == nil {
		err = c.decode(op, &in)
	}
	if err == nil {
		err = in.validate(create)
	}
	return ref, in, err
}

func errNoURL() error { return notFound("The resource you requested does not exist.") }

func (s *Service) createFunctionURLConfig(c *call) error {
	ref, in, err := s.urlInput(c, "CreateFunctionUrlConfig", true)
	if err != nil {
		return err
	}
	var out FunctionURLConfig
	err = s.updateFunction(c.r.Context(), ref.Name, func(tx store.Tx) error {
		rec, err := s.loadURLTarget(tx, ref)
		if err != nil {
			return err
		}
		arn := s.qualifiedARN(ref.Name, ref.Qualifier)
		if _, ok := rec.URLs[ref.Qualifier]; ok {
			return conflict("Failed to create function url config for [functionArn = %s]. Error message:  FunctionUrlConfig exists for this Lambda function", arn)
		}
		id := newURLID()
		now := urlTimestamp(time.Now())
		out = FunctionURLConfig{FunctionUrl: s.functionURL(id), FunctionArn: arn, AuthType: *in.AuthType,
			Cors: in.Cors, CreationTime: now, LastModifiedTime: now, InvokeMode: "BUFFERED"}
		if in.InvokeMode != nil {
			out.InvokeMode = *in.InvokeMode
		}
		if rec.URLs == nil {
			rec.URLs = map[string]*urlRecord{}
		}
		rec.URLs[ref.Qualifier] = &urlRecord{ID: id, Config: out}
		return store.PutRecord(tx, functionKey(ref.Name), rec)
	})
	if err != nil {
		return err
	}
	// CreateFunctionUrlConfig's output has no LastModifiedTime.
	resp := out
	resp.LastModifiedTime = ""
	c.json(http.StatusCreated, resp)
	return nil
}

func (s *Service) getFunctionURLConfig(c *call) error {
	ref, err := s.urlRef(c)
	if err != nil {
		return err
	}
	rec, err := s.loadURLTarget(s.reader(c.r.Context()), ref)
	if err != nil {
		return err
	}
	u, ok := rec.URLs[ref.Qualifier]
	if !ok {
		return errNoURL()
	}
	c.json(http.StatusOK, u.Config)
	return nil
}

func (s *Service) updateFunctionURLConfig(c *call) error {
	ref, in, err := s.urlInput(c, "UpdateFunctionUrlConfig", false)
	if err != nil {
		return err
	}
	var out FunctionURLConfig
	err = s.updateFunction(c.r.Context(), ref.Name, func(tx store.Tx) error {
		rec, err := s.loadURLTarget(tx, ref)
		if err != nil {
			return err
		}
		u, ok := rec.URLs[ref.Qualifier]
		if !ok {
			return errNoURL()
		}
		if in.AuthType != nil {
			u.Config.AuthType = *in.AuthType
		}
		if in.Cors != nil {
			u.Config.Cors = in.Cors
		}
		if in.InvokeMode != nil {
			u.Config.InvokeMode = *in.InvokeMode
		}
		u.Config.LastModifiedTime = urlTimestamp(time.Now())
		out = u.Config
		return store.PutRecord(tx, functionKey(ref.Name), rec)
	})
	if err != nil {
		return err
	}
	c.json(http.StatusOK, out)
	return nil
}

func (s *Service) deleteFunctionURLConfig(c *call) error {
	ref, err := s.urlRef(c)
	if err != nil {
		return err
	}
	err = s.updateFunction(c.r.Context(), ref.Name, func(tx store.Tx) error {
		rec, err := s.loadURLTarget(tx, ref)
		if err != nil {
			return err
		}
		if _, ok := rec.URLs[ref.Qualifier]; !ok {
			return errNoURL()
		}
		delete(rec.URLs, ref.Qualifier)
		return store.PutRecord(tx, functionKey(ref.Name), rec)
	})
	return c.noContent(err)
}

func (s *Service) listFunctionURLConfigs(c *call) error {
	ref, marker, max, err := s.listRequest(c)
	if err != nil {
		return err
	}
	rec, err := s.readFunction(c.r.Context(), functionRef{Name: ref.Name, Foreign: ref.Foreign})
	if err != nil {
		return err
	}
	quals := make([]string, 0, len(rec.URLs))
	for q := range rec.URLs {
		quals = append(quals, q)
	}
	sort.Strings(quals)
	got, next := page(quals, func(q string) string { return q + "\x00" }, marker, max)
	out := struct {
		FunctionUrlConfigs []FunctionURLConfig `json:"FunctionUrlConfigs"`
		NextMarker         *string             `json:"NextMarker,omitempty"`
	}{FunctionUrlConfigs: make([]FunctionURLConfig, 0, len(got)), NextMarker: next}
	for _, q := range got {
		out.FunctionUrlConfigs = append(out.FunctionUrlConfigs, rec.URLs[q].Config)
	}
	c.json(http.StatusOK, out)
	return nil
}

// dropAliasURL removes the URL of an alias that is being deleted: AWS deletes a
// function URL together with the alias it belongs to.
func dropAliasURL(tx store.Tx, name, alias string) error {
	var rec functionRecord
	found, err := getJSON(tx, functionKey(name), &rec)
	if err != nil || !found {
		return err
	}
	if _, ok := rec.URLs[alias]; !ok {
		return nil
	}
	delete(rec.URLs, alias)
	return store.PutRecord(tx, functionKey(name), &rec)
}

package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sluice-dev/sluice/internal/store"
)

// Layers. A layer version is immutable: its zip is a blob, its record lives under
// /lambda/layers/<name>/<version> and the highest version number ever published
// under /lambda/layer-names/<name> (AWS never reuses a version number). A function
// names layer versions by ARN; the function's record keeps their blobs' hashes, so
// deleting a layer version does not break functions that use it, as on AWS.
const (
	keyLayers     = "/lambda/layers/"
	keyLayerNames = "/lambda/layer-names/"
	maxLayers     = 5
)

func layerVersionsPrefix(name string) string { return keyLayers + name + "/" }
func layerVersionKey(name string, v int64) string {
	return fmt.Sprintf("%s%012d", layerVersionsPrefix(name), v)
}

var (
	layerNameRE       = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,140}$`)
	layerVersionARNRE = regexp.MustCompile(`^arn:[a-zA-Z0-9-]+:lambda:([a-zA-Z0-9-]+):(\d{12}):layer:([a-zA-Z0-9-_]+):([0-9]+)$`)
	layerARNRE        = regexp.MustCompile(`^arn:[a-zA-Z0-9-]+:lambda:([a-zA-Z0-9-]+):(\d{12}):layer:([a-zA-Z0-9-_]+)$`)
)

// LayerVersion is Lambda's GetLayerVersion output, with AWS's JSON names.
type LayerVersion struct {
	Content                 LayerContent `json:"Content"`
	LayerArn                string       `json:"LayerArn"`
	LayerVersionArn         string       `json:"LayerVersionArn"`
	Description             string       `json:"Description"`
	CreatedDate             string       `json:"CreatedDate"`
	Version                 int64        `json:"Version"`
	CompatibleRuntimes      []string     `json:"CompatibleRuntimes,omitempty"`
	LicenseInfo             string       `json:"LicenseInfo,omitempty"`
	CompatibleArchitectures []string     `json:"CompatibleArchitectures,omitempty"`
}

// LayerContent is where a layer version's zip is and what it holds.
type LayerContent struct {
	Location   string `json:"Location,omitempty"`
	CodeSha256 string `json:"CodeSha256"`
	CodeSize   int64  `json:"CodeSize"`
}

// LayerRef is a layer in a function's configuration.
type LayerRef struct {
	Arn      string `json:"Arn"`
	CodeSize int64  `json:"CodeSize"`
}

type layerVersionRecord struct {
	Layer    LayerVersion    `json:"layer"` // Content.Location is filled per request
	CodeHex  string          `json:"codeHex"`
	Unzipped int64           `json:"unzipped"`
	Policy   *policyDocument `json:"policy,omitempty"`
	// PolicyRevision is the layer version policy's RevisionId.
	PolicyRevision string `json:"policyRevision,omitempty"`
}

type layerNameRecord struct {
	LastVersion int64 `json:"lastVersion"`
}

func (s *Service) layerARN(name string) string {
	return "arn:aws:lambda:" + s.region + ":" + s.account + ":layer:" + name
}

// layerName accepts a layer name or its ARN (of this account and region).
func (s *Service) layerName(raw string) (string, error) {
	if m := layerARNRE.FindStringSubmatch(raw); m != nil {
		if m[1] != s.region || m[2] != s.account {
			return "", notFound("Layer version %s:1 does not exist.", raw)
		}
		return m[3], nil
	}
	if !layerNameRE.MatchString(raw) {
		return "", validation("Value '%s' at 'layerName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+", raw)
	}
	return raw, nil
}

type publishLayerInput struct {
	Description             string        `json:"Description"`
	Content                 *functionCode `json:"Content"`
	CompatibleRuntimes      []string      `json:"CompatibleRuntimes"`
	LicenseInfo             string        `json:"LicenseInfo"`
	CompatibleArchitectures []string      `json:"CompatibleArchitectures"`
}

func (in *publishLayerInput) validate(now time.Time) error {
	if in.Content == nil {
		return validation("Value null at 'content' failed to satisfy constraint: Member must not be null")
	}
	if len(in.Description) > 256 {
		return validation("Value '%s' at 'description' failed to satisfy constraint: Member must have length less than or equal to 256", in.Description)
	}
	if len(in.LicenseInfo) > 512 {
		return validation("Value '%s' at 'licenseInfo' failed to satisfy constraint: Member must have length less than or equal to 512", in.LicenseInfo)
	}
	if len(in.CompatibleRuntimes) > 15 {
		return validation("Value '[%s]' at 'compatibleRuntimes' failed to satisfy constraint: Member must have length less than or equal to 15", strings.Join(in.CompatibleRuntimes, ", "))
	}
	for _, rt := range in.CompatibleRuntimes {
		if _, ok := findRuntime(rt); !ok {
			return validation("Value '[%s]' at 'compatibleRuntimes' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [%s]]",
				strings.Join(in.CompatibleRuntimes, ", "), strings.Join(creatableRuntimes(now), ", "))
		}
	}
	if len(in.CompatibleArchitectures) > 2 {
		return validation("Value '[%s]' at 'compatibleArchitectures' failed to satisfy constraint: Member must have length less than or equal to 2", strings.Join(in.CompatibleArchitectures, ", "))
	}
	for _, a := range in.CompatibleArchitectures {
		if a != "x86_64" && a != "arm64" {
			return validation("Value '[%s]' at 'compatibleArchitectures' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]", strings.Join(in.CompatibleArchitectures, ", "))
		}
	}
	return nil
}

func (s *Service) publishLayerVersion(c *call) error {
	name, err := s.layerName(c.param("LayerName"))
	if err != nil {
		return err
	}
	var in publishLayerInput
	if err := c.decode("PublishLayerVersion", &in); err != nil {
		return err
	}
	if err := in.validate(s.now()); err != nil {
		return err
	}
	zipFile, err := s.codeBytes(c.r.Context(), in.Content)
	if err != nil {
		return err
	}
	unzipped, err := unzippedSize(zipFile)
	if err != nil {
		return err
	}
	code, err := s.putCode(zipFile)
	if err != nil {
		return err
	}
	var out LayerVersion
	err = s.store.Update(c.r.Context(), func(tx store.Tx) error {
		var counter layerNameRecord
		if _, err := getJSON(tx, keyLayerNames+name, &counter); err != nil {
			return err
		}
		counter.LastVersion++
		v := counter.LastVersion
		rec := layerVersionRecord{CodeHex: code.hex, Unzipped: unzipped, Layer: LayerVersion{
			Content:                 LayerContent{CodeSha256: codeSHA256Base64(code.hex), CodeSize: code.size},
			LayerArn:                s.layerARN(name),
			LayerVersionArn:         s.layerARN(name) + ":" + strconv.FormatInt(v, 10),
			Description:             in.Description,
			CreatedDate:             lastModified(time.Now()),
			Version:                 v,
			CompatibleRuntimes:      in.CompatibleRuntimes,
			LicenseInfo:             in.LicenseInfo,
			CompatibleArchitectures: in.CompatibleArchitectures,
		}}
		out = rec.Layer
		if err := store.PutRecord(tx, keyLayerNames+name, &counter); err != nil {
			return err
		}
		return store.PutRecord(tx, layerVersionKey(name, v), &rec)
	})
	if err != nil {
		return err
	}
	out.Content.Location = s.baseURL(c.r) + "/_sluice/lambda/code/" + code.hex
	s.log.Info("lambda: layer version published", "layer", out.LayerVersionArn)
	c.json(http.StatusCreated, out)
	return nil
}

func (s *Service) layerVersionParams(c *call) (string, int64, error) {
	name, err := s.layerName(c.param("LayerName"))
	if err != nil {
		return "", 0, err
	}
	v, err := strconv.ParseInt(c.param("VersionNumber"), 10, 64)
	if err != nil {
		return "", 0, badContent("VersionNumber must be a number")
	}
	return name, v, nil
}

func (s *Service) layerVersionNotFound(name string, v int64) error {
	return notFound("The resource you requested does not exist.")
}

func (s *Service) loadLayerVersion(r store.Reader, name string, v int64) (*layerVersionRecord, error) {
	return loadRecord[layerVersionRecord](r, layerVersionKey(name, v), s.layerVersionNotFound(name, v))
}

func (s *Service) writeLayerVersion(c *call, rec *layerVersionRecord) {
	out := rec.Layer
	out.Content.Location = s.baseURL(c.r) + "/_sluice/lambda/code/" + rec.CodeHex
	c.json(http.StatusOK, out)
}

func (s *Service) getLayerVersion(c *call) error {
	name, v, err := s.layerVersionParams(c)
	if err != nil {
		return err
	}
	rec, err := s.loadLayerVersion(s.reader(c.r.Context()), name, v)
	if err != nil {
		return err
	}
	s.writeLayerVersion(c, rec)
	return nil
}

// layersRoot is GET /2018-10-31/layers: ListLayers, or GetLayerVersionByArn when
// the query has find=LayerVersion (botocore: "/2018-10-31/layers?find=LayerVersion").
func (s *Service) layersRoot(c *call) error {
	if c.query("find") == "LayerVersion" {
		return s.getLayerVersionByArn(c)
	}
	return s.listLayers(c)
}

func (s *Service) getLayerVersionByArn(c *call) error {
	arn := c.query("Arn")
	m := layerVersionARNRE.FindStringSubmatch(arn)
	if m == nil {
		return validation("Value '%s' at 'arn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+", arn)
	}
	if m[1] != s.region || m[2] != s.account {
		return notFound("The resource you requested does not exist.")
	}
	v, _ := strconv.ParseInt(m[4], 10, 64)
	rec, err := s.loadLayerVersion(s.reader(c.r.Context()), m[3], v)
	if err != nil {
		return err
	}
	s.writeLayerVersion(c, rec)
	return nil
}

// matchesFilters applies ListLayers' CompatibleRuntime/CompatibleArchitecture.
func (rec *layerVersionRecord) matchesFilters(runtime, arch string) bool {
	if runtime != "" && !contains(rec.Layer.CompatibleRuntimes, runtime) {
		return false
	}
	if arch != "" && !contains(rec.Layer.CompatibleArchitectures, arch) {
		return false
	}
	return true
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Service) listFilters(c *call) (runtime, arch string, err error) {
	runtime, arch = c.query("CompatibleRuntime"), c.query("CompatibleArchitecture")
	if runtime != "" {
		if _, ok := findRuntime(runtime); !ok {
			return "", "", validation("Value '%s' at 'compatibleRuntime' failed to satisfy constraint: Member must satisfy enum value set: [%s]", runtime, strings.Join(creatableRuntimes(s.now()), ", "))
		}
	}
	if arch != "" && arch != "x86_64" && arch != "arm64" {
		return "", "", validation("Value '%s' at 'compatibleArchitecture' failed to satisfy constraint: Member must satisfy enum value set: [x86_64, arm64]", arch)
	}
	return runtime, arch, nil
}

type layerVersionsListItem struct {
	LayerVersionArn         string   `json:"LayerVersionArn"`
	Version                 int64    `json:"Version"`
	Description             string   `json:"Description"`
	CreatedDate             string   `json:"CreatedDate"`
	CompatibleRuntimes      []string `json:"CompatibleRuntimes,omitempty"`
	LicenseInfo             string   `json:"LicenseInfo,omitempty"`
	CompatibleArchitectures []string `json:"CompatibleArchitectures,omitempty"`
}

func listItem(l *LayerVersion) layerVersionsListItem {
	return layerVersionsListItem{LayerVersionArn: l.LayerVersionArn, Version: l.Version, Description: l.Description,
		CreatedDate: l.CreatedDate, CompatibleRuntimes: l.CompatibleRuntimes, LicenseInfo: l.LicenseInfo,
		CompatibleArchitectures: l.CompatibleArchitectures}
}

func (s *Service) listLayers(c *call) error {
	runtime, arch, err := s.listFilters(c)
	if err != nil {
		return err
	}
	marker, max, err := pagination(c)
	if err != nil {
		return err
	}
	kvs, err := s.store.List(c.r.Context(), keyLayers)
	if err != nil {
		return err
	}
	// The newest matching version of each layer, by layer name.
	latest := map[string]*layerVersionRecord{}
	for _, kv := range kvs {
		var rec layerVersionRecord
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			return internalError("decode %s: %w", kv.Key, err)
		}
		if !rec.matchesFilters(runtime, arch) {
			continue
		}
		name := strings.TrimPrefix(rec.Layer.LayerArn, s.layerARN(""))
		if cur := latest[name]; cur == nil || rec.Layer.Version > cur.Layer.Version {
			latest[name] = &rec
		}
	}
	names := make([]string, 0, len(latest))
	for n := range latest {
		names = append(names, n)
	}
	sort.Strings(names)
	got, next := page(names, func(n string) string { return n }, marker, max)
	type layersListItem struct {
		LayerName             string                `json:"LayerName"`
		LayerArn              string                `json:"LayerArn"`
		LatestMatchingVersion layerVersionsListItem `json:"LatestMatchingVersion"`
	}
	out := struct {
		Layers     []layersListItem `json:"Layers"`
		NextMarker *string          `json:"NextMarker,omitempty"`
	}{Layers: make([]layersListItem, 0, len(got)), NextMarker: next}
	for _, n := range got {
		rec := latest[n]
		out.Layers = append(out.Layers, layersListItem{LayerName: n, LayerArn: rec.Layer.LayerArn, LatestMatchingVersion: listItem(&rec.Layer)})
	}
	c.json(http.StatusOK, out)
	return nil
}

func (s *Service) listLayerVersions(c *call) error {
	name, err := s.layerName(c.param("LayerName"))
	if err != nil {
		return err
	}
	runtime, arch, err := s.listFilters(c)
	if err != nil {
		return err
	}
	marker, max, err := pagination(c)
	if err != nil {
		return err
	}
	kvs, err := s.store.List(c.r.Context(), layerVersionsPrefix(name))
	if err != nil {
		return err
	}
	var recs []layerVersionRecord
	for _, kv := range kvs {
		var rec layerVersionRecord
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			return internalError("decode %s: %w", kv.Key, err)
		}
		if rec.matchesFilters(runtime, arch) {
			recs = append(recs, rec)
		}
	}
	// AWS lists the newest version first.
	sort.Slice(recs, func(i, j int) bool { return recs[i].Layer.Version > recs[j].Layer.Version })
	key := func(r layerVersionRecord) string { return fmt.Sprintf("%012d", 1<<40-r.Layer.Version) }
	got, next := page(recs, key, marker, max)
	out := struct {
		LayerVersions []layerVersionsListItem `json:"LayerVersions"`
		NextMarker    *string                 `json:"NextMarker,omitempty"`
	}{LayerVersions: make([]layerVersionsListItem, 0, len(got)), NextMarker: next}
	for i := range got {
		out.LayerVersions = append(out.LayerVersions, listItem(&got[i].Layer))
	}
	c.json(http.StatusOK, out)
	return nil
}

// deleteLayerVersion answers 204 whether or not the version exists, as AWS does.
func (s *Service) deleteLayerVersion(c *call) error {
	name, v, err := s.layerVersionParams(c)
	if err != nil {
		return err
	}
	err = s.store.Update(c.r.Context(), func(tx store.Tx) error {
		err := tx.Delete(layerVersionKey(name, v))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
	return c.noContent(err)
}

type addLayerPermissionInput struct {
	StatementId    string `json:"StatementId"`
	Action         string `json:"Action"`
	Principal      string `json:"Principal"`
	OrganizationId string `json:"OrganizationId"`
}

var layerPrincipalRE = regexp.MustCompile(`^(\d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root)$`)

func (s *Service) addLayerVersionPermission(c *call) error {
	name, v, err := s.layerVersionParams(c)
	if err != nil {
		return err
	}
	var in addLayerPermissionInput
	if err := c.decode("AddLayerVersionPermission", &in); err != nil {
		return err
	}
	switch {
	case in.StatementId == "":
		return validation("Value null at 'statementId' failed to satisfy constraint: Member must not be null")
	case !statementIDRE.MatchString(in.StatementId):
		return validation("Value '%s' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)", in.StatementId)
	case in.Action != "lambda:GetLayerVersion":
		return validation("Value '%s' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: lambda:GetLayerVersion", in.Action)
	case !layerPrincipalRE.MatchString(in.Principal):
		return validation("Value '%s' at 'principal' failed to satisfy constraint: Member must satisfy regular expression pattern: \\d{12}|\\*|arn:(aws[a-zA-Z-]*):iam::\\d{12}:root", in.Principal)
	}
	revision := c.query("RevisionId")
	var st statement
	var rev string
	err = s.store.Update(c.r.Context(), func(tx store.Tx) error {
		rec, err := s.loadLayerVersion(tx, name, v)
		if err != nil {
			return err
		}
		if revision != "" && revision != rec.PolicyRevision {
			return preconditionFailed("GetLayerVersionPolicy")
		}
		if rec.Policy == nil {
			rec.Policy = &policyDocument{Version: "2012-10-17", Id: "default"}
		}
		for _, old := range rec.Policy.Statement {
			if old.Sid == in.StatementId {
				return conflict("The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", in.StatementId)
			}
		}
		st = statement{Sid: in.StatementId, Effect: "Allow", Principal: principalFor(s.account, in.Principal),
			Action: stringList{in.Action}, Resource: stringList{rec.Layer.LayerVersionArn}}
		if in.Principal == "*" {
			// AWS writes a public grant as {"AWS":"*"}.
			st.Principal = principal{AWS: stringList{"*"}}
		}
		if in.OrganizationId != "" {
			st.Condition = map[string]map[string]stringList{"StringEquals": {"aws:PrincipalOrgID": {in.OrganizationId}}}
		}
		rec.Policy.Statement = append(rec.Policy.Statement, st)
		rec.PolicyRevision = uuid.NewString()
		rev = rec.PolicyRevision
		return store.PutRecord(tx, layerVersionKey(name, v), rec)
	})
	if err != nil {
		return err
	}
	b, _ := json.Marshal(st)
	c.json(http.StatusCreated, map[string]string{"Statement": string(b), "RevisionId": rev})
	return nil
}

func (s *Service) getLayerVersionPolicy(c *call) error {
	name, v, err := s.layerVersionParams(c)
	if err != nil {
		return err
	}
	rec, err := s.loadLayerVersion(s.reader(c.r.Context()), name, v)
	if err != nil {
		return err
	}
	if rec.Policy == nil || len(rec.Policy.Statement) == 0 {
		return notFound("No policy is associated with the given resource.")
	}
	b, _ := json.Marshal(rec.Policy)
	c.json(http.StatusOK, map[string]string{"Policy": string(b), "RevisionId": rec.PolicyRevision})
	return nil
}

func (s *Service) removeLayerVersionPermission(c *call) error {
	name, v, err := s.layerVersionParams(c)
	if err != nil {
		return err
	}
	sid := c.param("StatementId")
	revision := c.query("RevisionId")
	err = s.store.Update(c.r.Context(), func(tx store.Tx) error {
		rec, err := s.loadLayerVersion(tx, name, v)
		if err != nil {
			return err
		}
		if revision != "" && revision != rec.PolicyRevision {
			return preconditionFailed("GetLayerVersionPolicy")
		}
		if rec.Policy != nil {
			for i, st := range rec.Policy.Statement {
				if st.Sid == sid {
					rec.Policy.Statement = append(rec.Policy.Statement[:i:i], rec.Policy.Statement[i+1:]...)
					rec.PolicyRevision = uuid.NewString()
					return store.PutRecord(tx, layerVersionKey(name, v), rec)
				}
			}
		}
		return notFound("Statement %s is not found in resource policy.", sid)
	})
	return c.noContent(err)
}

// functionLayer is a resolved entry of a function's Layers.
type functionLayer struct {
	ARN      string `json:"arn"`
	CodeHex  string `json:"codeHex"`
	Size     int64  `json:"size"`
	Unzipped int64  `json:"unzipped"`
}

// resolveLayers checks a function's Layers parameter as AWS does (at most five
// layer version ARNs, each existing, no layer twice) and returns them in order.
func (s *Service) resolveLayers(r store.Reader, arns []string) ([]functionLayer, error) {
	if len(arns) > maxLayers {
		return nil, invalidParam("Cannot reference more than %d layers.", maxLayers)
	}
	seen := map[string]bool{}
	out := make([]functionLayer, 0, len(arns))
	for _, arn := range arns {
		m := layerVersionARNRE.FindStringSubmatch(arn)
		if m == nil {
			return nil, validation("Value '[%s]' at 'layers' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 140, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+]", strings.Join(arns, ", "))
		}
		if seen[m[3]] {
			return nil, invalidParam("Two different versions of the same layer are not allowed to be referenced in the same function. %s references more than one version.", s.layerARN(m[3]))
		}
		seen[m[3]] = true
		v, _ := strconv.ParseInt(m[4], 10, 64)
		if m[1] != s.region || m[2] != s.account {
			return nil, invalidParam("Layer version %s does not exist.", arn)
		}
		rec, err := loadRecord[layerVersionRecord](r, layerVersionKey(m[3], v), invalidParam("Layer version %s does not exist.", arn))
		if err != nil {
			return nil, err
		}
		out = append(out, functionLayer{ARN: arn, CodeHex: rec.CodeHex, Size: rec.Layer.Content.CodeSize, Unzipped: rec.Unzipped})
	}
	return out, nil
}

// layerRefs is how Configuration shows a function's layers.
func layerRefs(layers []functionLayer) []LayerRef {
	if len(layers) == 0 {
		return nil
	}
	out := make([]LayerRef, len(layers))
	for i, l := range layers {
		out[i] = LayerRef{Arn: l.ARN, CodeSize: l.Size}
	}
	return out
}

// checkTotalSize applies "250 MB unzipped, including layers".
func checkTotalSize(functionUnzipped int64, layers []functionLayer) error {
	total := functionUnzipped
	for _, l := range layers {
		total += l.Unzipped
	}
	if total > maxUnzippedCode {
		return invalidParam("Function code combined with layers exceeds the maximum allowed size of %d bytes. The actual size is %d bytes.", maxUnzippedCode, total)
	}
	return nil
}

// codeBytes returns a layer's zip from PublishLayerVersion's Content (inline
// ZipFile, or S3Bucket/S3Key in the object store).
func (s *Service) codeBytes(ctx context.Context, content *functionCode) ([]byte, error) {
	return s.codeFromInput(ctx, content)
}

package lambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// functionCode is Lambda's FunctionCode: inline (ZipFile) or an object in Sluice's
// object store (S3Bucket/S3Key); container images are refused with AWS's errors.
type functionCode struct {
	ZipFile         []byte `json:"ZipFile"`
	S3Bucket        string `json:"S3Bucket"`
	S3Key           string `json:"S3Key"`
	S3ObjectVersion string `json:"S3ObjectVersion"`
	ImageUri        string `json:"ImageUri"`
}

type createFunctionInput struct {
	FunctionName     string            `json:"FunctionName"`
	Runtime          string            `json:"Runtime"`
	Role             string            `json:"Role"`
	Handler          string            `json:"Handler"`
	Code             *functionCode     `json:"Code"`
	Description      string            `json:"Description"`
	Timeout          *int              `json:"Timeout"`
	MemorySize       *int              `json:"MemorySize"`
	Publish          bool              `json:"Publish"`
	PackageType      string            `json:"PackageType"`
	Environment      *Environment      `json:"Environment"`
	Architectures    []string          `json:"Architectures"`
	Tags             map[string]string `json:"Tags"`
	TracingConfig    *TracingConfig    `json:"TracingConfig"`
	EphemeralStorage *EphemeralStorage `json:"EphemeralStorage"`
	LoggingConfig    *LoggingConfig    `json:"LoggingConfig"`
	Layers           []string          `json:"Layers"`
	// CapacityProviderConfig puts the function on Lambda Managed Instances
	// (managed.go).
	CapacityProviderConfig *CapacityProviderConfig `json:"CapacityProviderConfig"`
	PublishTo              string                  `json:"PublishTo"`
	unsupportedSettings
}

// storedCode is a validated zip in the blob store.
type storedCode struct {
	hex      string
	size     int64
	unzipped int64
}

// putCode validates a zip and stores it. It runs before the store transaction, so a
// record never names a blob that is not durably on disk.
func (s *Service) putCode(zipFile []byte) (storedCode, error) {
	unzipped, err := unzippedSize(zipFile)
	if err != nil {
		return storedCode{}, err
	}
	sha, size, err := s.blobs.Put(bytes.NewReader(zipFile))
	if err != nil {
		return storedCode{}, internalError("store code: %w", err)
	}
	return storedCode{hex: sha, size: size, unzipped: unzipped}, nil
}

func (s *Service) codeFromInput(ctx context.Context, code *functionCode) ([]byte, error) {
	switch {
	case code == nil:
		return nil, validation("Value null at 'code' failed to satisfy constraint: Member must not be null")
	case code.ImageUri != "":
		return nil, invalidParam("Sluice runs Zip functions only; container image functions (ImageUri) are not supported.")
	case code.S3Bucket != "" || code.S3Key != "":
		if len(code.ZipFile) > 0 {
			return nil, invalidParam("Please do not provide other FunctionCode parameters when providing a ZipFile.")
		}
		return s.codeFromS3(ctx, code)
	case len(code.ZipFile) == 0:
		return nil, invalidParam("Please provide a source for function code.")
	}
	return code.ZipFile, nil
}

func (s *Service) createFunction(c *call) error {
	var in createFunctionInput
	if err := c.decode("CreateFunction", &in); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	if in.FunctionName == "" {
		return validation("Value null at 'functionName' failed to satisfy constraint: Member must not be null")
	}
	// CreateFunction's FunctionName is the model's FunctionName shape (at most 140
	// characters), not the 170 of NamespacedFunctionName the other operations take.
	if v := awsproto.CheckLength("functionName", in.FunctionName, 1, 140); v != nil {
		return awsproto.ValidationError(v)
	}
	ref, err := s.parseFunctionRef(in.FunctionName, "")
	if err != nil {
		return err
	}
	if ref.Qualifier != "" || ref.Foreign {
		return invalidParam("Unsupported function name: %s", in.FunctionName)
	}
	if err := validateRole(in.Role); err != nil {
		return err
	}
	if in.PackageType == "Image" {
		return invalidParam("Sluice runs Zip functions only; PackageType Image is not supported.")
	}
	if in.PackageType != "" && in.PackageType != "Zip" {
		return validation("Value '%s' at 'packageType' failed to satisfy constraint: Member must satisfy enum value set: [Image, Zip]", in.PackageType)
	}
	if in.Runtime == "" || in.Handler == "" {
		return invalidParam("Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	}
	cfg := Configuration{
		FunctionName:     ref.Name,
		FunctionArn:      s.functionARN(ref.Name),
		Runtime:          in.Runtime,
		Role:             in.Role,
		Handler:          in.Handler,
		Description:      in.Description,
		Timeout:          3,
		MemorySize:       128,
		Version:          "$LATEST",
		TracingConfig:    TracingConfig{Mode: "PassThrough"},
		State:            "Active",
		LastUpdateStatus: "Successful",
		PackageType:      "Zip",
		Architectures:    []string{"x86_64"},
		EphemeralStorage: EphemeralStorage{Size: 512},
		SnapStart:        SnapStart{ApplyOn: "None", OptimizationStatus: "Off"},
		LoggingConfig:    LoggingConfig{LogFormat: "Text", LogGroup: "/aws/lambda/" + ref.Name},
	}
	if in.Timeout != nil {
		cfg.Timeout = *in.Timeout
	}
	if in.MemorySize != nil {
		cfg.MemorySize = *in.MemorySize
	}
	if len(in.Architectures) > 0 {
		cfg.Architectures = in.Architectures
	}
	if in.Environment != nil {
		cfg.Environment = &Environment{Variables: in.Environment.Variables}
	}
	if in.EphemeralStorage != nil {
		cfg.EphemeralStorage = *in.EphemeralStorage
	}
	if in.TracingConfig != nil && in.TracingConfig.Mode != "" {
		cfg.TracingConfig = *in.TracingConfig
	}
	if err := applyLogging(&cfg, in.LoggingConfig); err != nil {
		return err
	}
	if err := validateConfig(&cfg, checkRuntime(cfg.Runtime, forCreate, s.now())); err != nil {
		return err
	}
	if in.CapacityProviderConfig != nil {
		if err := checkLMIConfig(in.CapacityProviderConfig); err != nil {
			return err
		}
		cfg.CapacityProviderConfig = in.CapacityProviderConfig
	}
	publishTo, err := checkPublishTo(in.PublishTo, &cfg)
	if err != nil {
		return err
	}
	s.setRuntimeState(&cfg)
	zipFile, err := s.codeFromInput(c.r.Context(), in.Code)
	if err != nil {
		return err
	}
	code, err := s.putCode(zipFile)
	if err != nil {
		return err
	}
	cfg.CodeSize = code.size
	cfg.CodeSha256 = codeSHA256Base64(code.hex)
	cfg.RuntimeVersionConfig = &RuntimeVersionConfig{RuntimeVersionArn: runtimeVersionARN(s.region, cfg.Runtime)}
	now := time.Now()
	cfg.LastModified = lastModified(now)
	cfg.RevisionId = uuid.NewString()
	rec := functionRecord{Config: cfg, CodeHex: code.hex, SpecRevision: uuid.NewString(), Tags: in.Tags, Unzipped: code.unzipped}

	out := cfg
	err = s.updateFunction(c.r.Context(), ref.Name, func(tx store.Tx) error {
		if _, err := tx.Get(functionKey(ref.Name)); err == nil {
			return conflict("Function already exist: %s", ref.Name)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := s.checkLMIFunction(tx, &rec.Config); err != nil {
			return err
		}
		rec := rec // the transaction may run again
		if len(in.Layers) > 0 {
			layers, err := s.resolveLayers(tx, in.Layers)
			if err != nil {
				return err
			}
			if err := checkTotalSize(rec.Unzipped, layers); err != nil {
				return err
			}
			rec.Layers = layers
			rec.Config.Layers = layerRefs(layers)
			out = rec.Config
		}
		if in.Publish {
			v, err := s.publishLocked(tx, &rec, "", publishTo)
			if err != nil {
				return err
			}
			out = v.Config
		}
		return store.PutRecord(tx, functionKey(ref.Name), &rec)
	})
	if err != nil {
		return err
	}
	s.log.Info("lambda: function created", "function", ref.Name, "runtime", cfg.Runtime, "codeSha256", cfg.CodeSha256)
	c.json(http.StatusCreated, out)
	return nil
}

// Lambda's LoggingConfig enums (botocore lambda model: ApplicationLogLevel,
// SystemLogLevel) in the model's order, which is how AWS's validator lists them.
var (
	applicationLogLevels = []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
	systemLogLevels      = []string{"DEBUG", "INFO", "WARN"}
	logGroupPattern      = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]+$`)
)

// applyLogging merges a request's LoggingConfig into cfg as AWS does: the model's
// constraints first (enums, the log group's length and pattern), then the service's
// rule that log levels need the JSON format ("LogLevel is not supported when
// LogFormat is set to "Text"..."). Switching to JSON without levels gets AWS's
// defaults (INFO, INFO); switching to Text drops the stored levels.
func applyLogging(cfg *Configuration, lc *LoggingConfig) error {
	if lc == nil {
		return nil
	}
	if lc.LogFormat != "" && lc.LogFormat != "Text" && lc.LogFormat != "JSON" {
		return validation("Value '%s' at 'loggingConfig.logFormat' failed to satisfy constraint: Member must satisfy enum value set: [JSON, Text]", lc.LogFormat)
	}
	if lc.ApplicationLogLevel != "" && !slices.Contains(applicationLogLevels, lc.ApplicationLogLevel) {
		return validation("Value '%s' at 'loggingConfig.applicationLogLevel' failed to satisfy constraint: Member must satisfy enum value set: [%s]",
			lc.ApplicationLogLevel, strings.Join(applicationLogLevels, ", "))
	}
	if lc.SystemLogLevel != "" && !slices.Contains(systemLogLevels, lc.SystemLogLevel) {
		return validation("Value '%s' at 'loggingConfig.systemLogLevel' failed to satisfy constraint: Member must satisfy enum value set: [%s]",
			lc.SystemLogLevel, strings.Join(systemLogLevels, ", "))
	}
	if lc.LogGroup != "" {
		if len(lc.LogGroup) > 512 {
			return validation("Value '%s' at 'loggingConfig.logGroup' failed to satisfy constraint: Member must have length less than or equal to 512", lc.LogGroup)
		}
		if !logGroupPattern.MatchString(lc.LogGroup) {
			return validation("Value '%s' at 'loggingConfig.logGroup' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+", lc.LogGroup)
		}
	}
	format := cfg.LoggingConfig.LogFormat
	if lc.LogFormat != "" {
		format = lc.LogFormat
	}
	if format != "JSON" && (lc.ApplicationLogLevel != "" || lc.SystemLogLevel != "") {
		return invalidParam(`LogLevel is not supported when LogFormat is set to "Text". Remove LogLevel from your request or change the LogFormat to "Json" and try again.`)
	}
	cfg.LoggingConfig.LogFormat = format
	if lc.LogGroup != "" {
		cfg.LoggingConfig.LogGroup = lc.LogGroup
	}
	if format != "JSON" {
		cfg.LoggingConfig.ApplicationLogLevel, cfg.LoggingConfig.SystemLogLevel = "", ""
		return nil
	}
	if lc.ApplicationLogLevel != "" {
		cfg.LoggingConfig.ApplicationLogLevel = lc.ApplicationLogLevel
	} else if cfg.LoggingConfig.ApplicationLogLevel == "" {
		cfg.LoggingConfig.ApplicationLogLevel = "INFO"
	}
	if lc.SystemLogLevel != "" {
		cfg.LoggingConfig.SystemLogLevel = lc.SystemLogLevel
	} else if cfg.LoggingConfig.SystemLogLevel == "" {
		cfg.LoggingConfig.SystemLogLevel = "INFO"
	}
	return nil
}

// validateConfig checks a whole configuration, in the order AWS's validator reports
// problems (model constraints first, then the service's own checks). runtimeErr is
// the caller's checkRuntime result: which deprecation date applies depends on the
// operation.
func validateConfig(cfg *Configuration, runtimeErr error) error {
	for _, err := range []error{
		validateRole(cfg.Role), validateHandler(cfg.Handler), validateTimeout(cfg.Timeout),
		validateMemory(cfg.MemorySize), validateDescription(cfg.Description),
		validateArchitectures(cfg.Architectures), validateEphemeral(&cfg.EphemeralStorage),
		runtimeErr, validateEnvironment(cfg.Environment),
	} {
		if err != nil {
			return err
		}
	}
	if m := cfg.TracingConfig.Mode; m != "PassThrough" && m != "Active" {
		return validation("Value '%s' at 'tracingConfig.mode' failed to satisfy constraint: Member must satisfy enum value set: [Active, PassThrough]", m)
	}
	return nil
}

// updateFunction runs fn in a store transaction and, once it has committed, reloads
// function name into the invoke cache, so this node's next Invoke sees the write
// without waiting for the watch. fn's error is returned unchanged.
func (s *Service) updateFunction(ctx context.Context, name string, fn func(tx store.Tx) error) error {
	if err := s.store.Update(ctx, fn); err != nil {
		return err
	}
	if err := s.cache.reload(context.WithoutCancel(ctx), name); err != nil {
		s.log.Warn("lambda: cache reload after write failed", "function", name, "err", err)
	}
	return nil
}

// loadRecord reads the JSON record at key, or returns notFound (the operation's
// AWS error for a missing resource) when there is none.
func loadRecord[T any](r store.Reader, key string, notFound error) (*T, error) {
	v := new(T)
	found, err := getJSON(r, key, v)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound
	}
	return v, nil
}

// getJSON reads key into v; found is false when the key does not exist.
func getJSON(r store.Reader, key string, v any) (found bool, err error) {
	b, err := r.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, internalError("decode %s: %w", key, err)
	}
	return true, nil
}

// reader reads the store outside any transaction, with the lookups transactions use.
func (s *Service) reader(ctx context.Context) store.Reader { return store.ReaderOf(ctx, s.store) }

func (s *Service) readFunction(ctx context.Context, ref functionRef) (*functionRecord, error) {
	return s.loadFunction(s.reader(ctx), ref)
}

// loadFunction reads ref's function record, or answers AWS's not-found error.
func (s *Service) loadFunction(r store.Reader, ref functionRef) (*functionRecord, error) {
	if ref.Foreign {
		return nil, fmtNotFound(s.refARN(ref))
	}
	return loadRecord[functionRecord](r, functionKey(ref.Name), fmtNotFound(s.functionARN(ref.Name)))
}

// loadFunctionRevision loads the function for an update that carries the
// RevisionId the caller last saw (empty: any). AWS refuses the update with
// PreconditionFailedException when the function has changed since.
func (s *Service) loadFunctionRevision(r store.Reader, ref functionRef, revisionID string) (*functionRecord, error) {
	rec, err := s.loadFunction(r, ref)
	if err != nil {
		return nil, err
	}
	if revisionID != "" && revisionID != rec.Config.RevisionId {
		return nil, preconditionFailed("GetFunction")
	}
	return rec, nil
}

// qualifiedConfig is the configuration GetFunction and GetFunctionConfiguration show
// for ref: $LATEST, a version, or the version an alias points to.
func (s *Service) qualifiedConfig(r store.Reader, ref functionRef) (*functionRecord, *Configuration, string, error) {
	rec, err := s.loadFunction(r, ref)
	if err != nil {
		return nil, nil, "", err
	}
	if latestVersion(ref.Qualifier) {
		cfg := rec.Config
		if ref.Qualifier != "" {
			cfg.FunctionArn = s.qualifiedARN(ref.Name, ref.Qualifier)
		}
		return rec, &cfg, rec.CodeHex, nil
	}
	version := ref.Qualifier
	if version == latestPublished {
		v, err := loadRecord[versionRecord](r, latestPublishedKey(ref.Name), fmtNotFound(s.refARN(ref)))
		if err != nil {
			return nil, nil, "", err
		}
		return rec, &v.Config, v.CodeHex, nil
	}
	if !isVersionNumber(version) {
		a, err := loadRecord[aliasRecord](r, aliasKey(ref.Name, ref.Qualifier), fmtNotFound(s.refARN(ref)))
		if err != nil {
			return nil, nil, "", err
		}
		version = a.Alias.FunctionVersion
		if version == "$LATEST" {
			cfg := rec.Config
			cfg.FunctionArn = s.refARN(ref)
			return rec, &cfg, rec.CodeHex, nil
		}
	}
	v, err := loadRecord[versionRecord](r, versionKey(ref.Name, versionNumber(version)), fmtNotFound(s.refARN(ref)))
	if err != nil {
		return nil, nil, "", err
	}
	cfg := v.Config
	cfg.FunctionArn = s.refARN(ref)
	return rec, &cfg, v.CodeHex, nil
}

func (s *Service) getFunctionConfiguration(c *call) error {
	ref, err := s.parseFunctionRef(c.function, c.query("Qualifier"))
	if err != nil {
		return err
	}
	_, cfg, _, err := s.qualifiedConfig(s.reader(c.r.Context()), ref)
	if err != nil {
		return err
	}
	c.json(http.StatusOK, cfg)
	return nil
}

type functionCodeLocation struct {
	RepositoryType string `json:"RepositoryType"`
	Location       string `json:"Location"`
}

type concurrency struct {
	ReservedConcurrentExecutions *int `json:"ReservedConcurrentExecutions,omitempty"`
}

func (s *Service) getFunction(c *call) error {
	ref, err := s.parseFunctionRef(c.function, c.query("Qualifier"))
	if err != nil {
		return err
	}
	rec, cfg, codeHex, err := s.qualifiedConfig(s.reader(c.r.Context()), ref)
	if err != nil {
		return err
	}
	location, err := s.codeURLs.sign(c.r.Context(), s.baseURL(c.r)+"/_sluice/lambda/code/"+codeHex)
	if err != nil {
		return internalError("sign code location: %w", err)
	}
	out := struct {
		Configuration *Configuration       `json:"Configuration"`
		Code          functionCodeLocation `json:"Code"`
		Tags          map[string]string    `json:"Tags,omitempty"`
		Concurrency   *concurrency         `json:"Concurrency,omitempty"`
	}{
		Configuration: cfg,
		Code:          functionCodeLocation{RepositoryType: "S3", Location: location},
		Tags:          rec.Tags,
	}
	if rec.ReservedConcurrency != nil {
		out.Concurrency = &concurrency{ReservedConcurrentExecutions: rec.ReservedConcurrency}
	}
	c.json(http.StatusOK, out)
	return nil
}

func (s *Service) baseURL(r *http.Request) string {
	if s.endpoint != "" {
		return strings.TrimRight(s.endpoint, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

var hexSHA256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// serveCode answers the download URL GetFunction hands out, once its presigned
// signature checks out.
func (s *Service) serveCode(c *call, sha string) error {
	if err := s.codeURLs.check(c.r); err != nil {
		return err
	}
	if !hexSHA256RE.MatchString(sha) || !s.blobs.Exists(sha) {
		return notFound("The resource you requested does not exist.")
	}
	if err := s.fetchCode(c.r.Context(), sha); err != nil {
		return notFound("The resource you requested does not exist.")
	}
	f, err := os.Open(s.blobs.Path(sha))
	if err != nil {
		return notFound("The resource you requested does not exist.")
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return internalError("stat code %s: %w", sha, err)
	}
	c.w.Header().Set("Content-Type", "application/zip")
	c.w.Header().Set("ETag", `"`+sha+`"`)
	http.ServeContent(c.w, c.r, sha+".zip", st.ModTime(), f)
	return nil
}

// pagination reads Marker and MaxItems as Lambda's List operations take them.
// listRequest reads a List call's unqualified function and its Marker/MaxItems.
func (s *Service) listRequest(c *call) (ref functionRef, marker string, max int, err error) {
	if ref, err = s.parseFunctionRef(c.function, ""); err != nil {
		return ref, "", 0, err
	}
	marker, max, err = pagination(c)
	return ref, marker, max, err
}

func pagination(c *call) (marker string, max int, err error) {
	max = 50
	if v := c.query("MaxItems"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil {
			return "", 0, badContent("MaxItems must be an integer")
		}
		if n < 1 {
			return "", 0, validation("Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1", n)
		}
		if n > 10000 {
			return "", 0, validation("Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 10000", n)
		}
		max = n
	}
	if m := c.query("Marker"); m != "" {
		b, derr := base64.RawURLEncoding.DecodeString(m)
		if derr != nil {
			return "", 0, invalidParam("Invalid marker: %s", m)
		}
		marker = string(b)
	}
	return marker, max, nil
}

// page cuts one page out of items (sorted by their keys) after the marker key, and
// returns the next marker when more follow.
func page[T any](items []T, key func(T) string, marker string, max int) ([]T, *string) {
	start := 0
	if marker != "" {
		start = sort.Search(len(items), func(i int) bool { return key(items[i]) > marker })
	}
	end := min(start+max, len(items))
	out := items[start:end]
	if end < len(items) {
		next := base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1])))
		return out, &next
	}
	return out, nil
}

func (s *Service) listFunctions(c *call) error {
	marker, max, err := pagination(c)
	if err != nil {
		return err
	}
	all := false
	switch v := c.query("FunctionVersion"); v {
	case "":
	case "ALL":
		all = true
	default:
		return validation("Value '%s' at 'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: [ALL]", v)
	}
	ctx := c.r.Context()
	kvs, err := s.store.List(ctx, keyFunctions)
	if err != nil {
		return err
	}
	type item struct {
		key string
		cfg Configuration
	}
	var items []item
	for _, kv := range kvs {
		var rec functionRecord
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			return internalError("decode %s: %w", kv.Key, err)
		}
		// Keys sort a function's $LATEST first, then its versions in numeric order.
		items = append(items, item{key: rec.Config.FunctionName + "\x00", cfg: rec.Config})
		if !all {
			continue
		}
		versions, err := s.listVersionRecords(ctx, rec.Config.FunctionName)
		if err != nil {
			return err
		}
		for _, v := range versions {
			items = append(items, item{key: rec.Config.FunctionName + "\x01" + fmtVersionKey(v.Config.Version), cfg: v.Config})
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].key < items[j].key })
	got, next := page(items, func(it item) string { return it.key }, marker, max)
	out := struct {
		Functions  []Configuration `json:"Functions"`
		NextMarker *string         `json:"NextMarker,omitempty"`
	}{Functions: make([]Configuration, 0, len(got)), NextMarker: next}
	for _, it := range got {
		out.Functions = append(out.Functions, it.cfg)
	}
	c.json(http.StatusOK, out)
	return nil
}

// fmtVersionKey pads a version number so versions sort numerically as strings.
func fmtVersionKey(v string) string {
	return strings.Repeat("0", max(0, 12-len(v))) + v
}

// listVersionRecords returns a function's published versions in numeric order.
func (s *Service) listVersionRecords(ctx context.Context, name string) ([]versionRecord, error) {
	kvs, err := s.store.List(ctx, versionsPrefix(name))
	if err != nil {
		return nil, err
	}
	out := make([]versionRecord, 0, len(kvs))
	for _, kv := range kvs {
		var v versionRecord
		if err := json.Unmarshal(kv.Value, &v); err != nil {
			return nil, internalError("decode %s: %w", kv.Key, err)
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		return versionNumber(out[i].Config.Version) < versionNumber(out[j].Config.Version)
	})
	return out, nil
}

type updateFunctionCodeInput struct {
	ZipFile         []byte   `json:"ZipFile"`
	S3Bucket        string   `json:"S3Bucket"`
	S3Key           string   `json:"S3Key"`
	S3ObjectVersion string   `json:"S3ObjectVersion"`
	ImageUri        string   `json:"ImageUri"`
	Publish         bool     `json:"Publish"`
	DryRun          bool     `json:"DryRun"`
	RevisionId      string   `json:"RevisionId"`
	Architectures   []string `json:"Architectures"`
	PublishTo       string   `json:"PublishTo"`
}

func (s *Service) updateFunctionCode(c *call) error {
	ref, err := s.unqualifiedRef(c.function, "Code can only be updated for $LATEST; use the unqualified function name.")
	if err != nil {
		return err
	}
	var in updateFunctionCodeInput
	if err := c.decode("UpdateFunctionCode", &in); err != nil {
		return err
	}
	if err := validateArchitectures(in.Architectures); err != nil {
		return err
	}
	zipFile, err := s.codeFromInput(c.r.Context(), &functionCode{ZipFile: in.ZipFile, S3Bucket: in.S3Bucket, S3Key: in.S3Key, S3ObjectVersion: in.S3ObjectVersion, ImageUri: in.ImageUri})
	if err != nil {
		return err
	}
	if err := validateZip(zipFile); err != nil {
		return err
	}
	var code storedCode
	if !in.DryRun {
		if code, err = s.putCode(zipFile); err != nil {
			return err
		}
	}
	var out Configuration
	err = s.updateFunction(c.r.Context(), ref.Name, func(tx store.Tx) error {
		rec, err := s.loadFunctionRevision(tx, ref, in.RevisionId)
		if err != nil {
			return err
		}
		if err := checkRuntime(rec.Config.Runtime, forUpdate, s.now()); err != nil {
			return err
		}
		if in.DryRun {
			out = rec.Config
			return errDryRun
		}
		if err := checkTotalSize(code.unzipped, rec.Layers); err != nil {
			return err
		}
		rec.CodeHex = code.hex
		rec.Unzipped = code.unzipped
		rec.Config.CodeSize = code.size
		rec.Config.CodeSha256 = codeSHA256Base64(code.hex)
		if len(in.Architectures) > 0 {
			rec.Config.Architectures = in.Architectures
		}
		touch(rec)
		out = rec.Config
		if in.Publish {
			toLatestPublished, err := checkPublishTo(in.PublishTo, &rec.Config)
			if err != nil {
				return err
			}
			v, err := s.publishLocked(tx, rec, "", toLatestPublished)
			if err != nil {
				return err
			}
			out = v.Config
		}
		return store.PutRecord(tx, functionKey(ref.Name), rec)
	})
	if err != nil && !errors.Is(err, errDryRun) {
		return err
	}
	c.json(http.StatusOK, out)
	return nil
}

// errDryRun aborts a transaction that only validated.
var errDryRun = errors.New("lambda: dry run")

// touch records a code or configuration change: new LastModified, RevisionId and
// pool key.
func touch(rec *functionRecord) {
	rec.Config.LastModified = lastModified(time.Now())
	rec.Config.RevisionId = uuid.NewString()
	rec.SpecRevision = uuid.NewString()
}

type updateFunctionConfigurationInput struct {
	Role             *string           `json:"Role"`
	Handler          *string           `json:"Handler"`
	Description      *string           `json:"Description"`
	Timeout          *int              `json:"Timeout"`
	MemorySize       *int              `json:"MemorySize"`
	Environment      *Environment      `json:"Environment"`
	Runtime          *string           `json:"Runtime"`
	RevisionId       string            `json:"RevisionId"`
	TracingConfig    *TracingConfig    `json:"TracingConfig"`
	EphemeralStorage *EphemeralStorage `json:"EphemeralStorage"`
	LoggingConfig    *LoggingConfig    `json:"LoggingConfig"`
	Layers           *[]string         `json:"Layers"`
	// CapacityProviderConfig changes an LMI function's settings (managed.go).
	CapacityProviderConfig *CapacityProviderConfig `json:"CapacityProviderConfig"`
	unsupportedSettings
}

func (s *Service) updateFunctionConfiguration(c *call) error {
	ref, err := s.unqualifiedRef(c.function, "Configuration can only be updated for $LATEST; use the unqualified function name.")
	if err != nil {
		return err
	}
	var in updateFunctionConfigurationInput
	if err := c.decode("UpdateFunctionConfiguration", &in); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	if in.CapacityProviderConfig != nil {
		if err := checkLMIConfig(in.CapacityProviderConfig); err != nil {
			return err
		}
	}
	var out Configuration
	err = s.updateFunction(c.r.Context(), ref.Name, func(tx store.Tx) error {
		rec, err := s.loadFunctionRevision(tx, ref, in.RevisionId)
		if err != nil {
			return err
		}
		cfg := &rec.Config
		oldRuntime := cfg.Runtime
		if in.CapacityProviderConfig != nil {
			// A function's compute type is chosen at creation: "It can't be added or
			// removed after the function resource has been created" (AWS SAM,
			// CapacityProviderConfig).
			if cfg.capacityProviderArn() == "" {
				return invalidParam("CapacityProviderConfig cannot be added to a function created without one: a function's compute type (Lambda default or Lambda Managed Instances) is set when it is created.")
			}
			cfg.CapacityProviderConfig = in.CapacityProviderConfig
		}
		if in.Role != nil {
			cfg.Role = *in.Role
		}
		if in.Handler != nil {
			cfg.Handler = *in.Handler
		}
		if in.Description != nil {
			cfg.Description = *in.Description
		}
		if in.Timeout != nil {
			cfg.Timeout = *in.Timeout
		}
		if in.MemorySize != nil {
			cfg.MemorySize = *in.MemorySize
		}
		if in.Runtime != nil {
			cfg.Runtime = *in.Runtime
			cfg.RuntimeVersionConfig = &RuntimeVersionConfig{RuntimeVersionArn: runtimeVersionARN(s.region, cfg.Runtime)}
		}
		if in.Environment != nil {
			// An Environment without Variables (or with none) removes them.
			cfg.Environment = nil
			if len(in.Environment.Variables) > 0 {
				cfg.Environment = &Environment{Variables: in.Environment.Variables}
			}
		}
		if in.TracingConfig != nil && in.TracingConfig.Mode != "" {
			cfg.TracingConfig = *in.TracingConfig
		}
		if in.EphemeralStorage != nil {
			cfg.EphemeralStorage = *in.EphemeralStorage
		}
		if err := applyLogging(cfg, in.LoggingConfig); err != nil {
			return err
		}
		if in.Layers != nil {
			// Layers replaces the list; an empty list removes every layer.
			layers, err := s.resolveLayers(tx, *in.Layers)
			if err != nil {
				return err
			}
			if err := checkTotalSize(rec.Unzipped, layers); err != nil {
				return err
			}
			rec.Layers = layers
			cfg.Layers = layerRefs(layers)
		}
		// Moving a function to another runtime is creating it anew on that runtime
		// (AWS refuses runtimes past their create block); changing a function that
		// stays on its runtime is refused from the runtime's update block.
		op := forUpdate
		if cfg.Runtime != oldRuntime {
			op = forCreate
		}
		if err := validateConfig(cfg, checkRuntime(cfg.Runtime, op, s.now())); err != nil {
			return err
		}
		if err := s.checkLMIFunction(tx, cfg); err != nil {
			return err
		}
		s.setRuntimeState(cfg)
		touch(rec)
		out = rec.Config
		return store.PutRecord(tx, functionKey(ref.Name), rec)
	})
	if err != nil {
		return err
	}
	c.json(http.StatusOK, out)
	return nil
}

func (s *Service) deleteFunction(c *call) error {
	ref, err := s.parseFunctionRef(c.function, c.query("Qualifier"))
	if err != nil {
		return err
	}
	err = s.updateFunction(c.r.Context(), ref.Name, func(tx store.Tx) error {
		if _, err := s.loadFunction(tx, ref); err != nil {
			return err
		}
		if ref.Qualifier == "" {
			return deleteAll(tx, ref.Name)
		}
		return s.deleteVersion(tx, ref)
	})
	if err != nil {
		return err
	}
	s.log.Info("lambda: function deleted", "function", ref.Name, "qualifier", ref.Qualifier)
	// AWS answers DeleteFunction with 204 No Content.
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteAll removes a function with its versions and aliases.
func deleteAll(tx store.Tx, name string) error {
	for _, prefix := range []string{versionsPrefix(name), aliasesPrefix(name)} {
		kvs, err := tx.List(prefix)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			if err := tx.Delete(kv.Key); err != nil {
				return err
			}
		}
	}
	return tx.Delete(functionKey(name))
}

// deleteVersion is DeleteFunction with a version Qualifier.
func (s *Service) deleteVersion(tx store.Tx, ref functionRef) error {
	if ref.Qualifier == "$LATEST" {
		return invalidParam("$LATEST version cannot be deleted without deleting the function.")
	}
	var key string
	switch {
	case ref.Qualifier == latestPublished:
		key = latestPublishedKey(ref.Name)
	case isVersionNumber(ref.Qualifier):
		key = versionKey(ref.Name, versionNumber(ref.Qualifier))
	default:
		return invalidParam("Deletion of aliases is not supported.")
	}
	if _, err := tx.Get(key); errors.Is(err, store.ErrNotFound) {
		return fmtNotFound(s.refARN(ref))
	} else if err != nil {
		return err
	}
	aliases, err := tx.List(aliasesPrefix(ref.Name))
	if err != nil {
		return err
	}
	var using []string
	for _, kv := range aliases {
		var a aliasRecord
		if err := json.Unmarshal(kv.Value, &a); err != nil {
			return internalError("decode %s: %w", kv.Key, err)
		}
		if a.Alias.FunctionVersion == ref.Qualifier {
			using = append(using, a.Alias.Name)
			continue
		}
		if a.Alias.RoutingConfig != nil {
			if _, ok := a.Alias.RoutingConfig.AdditionalVersionWeights[ref.Qualifier]; ok {
				using = append(using, a.Alias.Name)
			}
		}
	}
	if len(using) > 0 {
		return conflict("Unable to delete version because the following aliases reference it: [%s]", strings.Join(using, ", "))
	}
	return tx.Delete(key)
}

package lambda

import (
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/sluice-dev/sluice/internal/store"
)

// latestPublishedKey is where an LMI function's $LATEST.PUBLISHED version is kept,
// beside its numbered versions.
func latestPublishedKey(name string) string { return versionsPrefix(name) + latestPublished }

// checkPublishTo validates PublishTo (CreateFunction, UpdateFunctionCode,
// PublishVersion) for the function configured as cfg: true means publish to
// $LATEST.PUBLISHED, which only Lambda Managed Instances functions have.
func checkPublishTo(publishTo string, cfg *Configuration) (bool, error) {
	switch publishTo {
	case "":
		return false, nil
	case "LATEST_PUBLISHED":
	default:
		return false, validation("Value '%s' at 'publishTo' failed to satisfy constraint: Member must satisfy enum value set: [LATEST_PUBLISHED]", publishTo)
	}
	if cfg.capacityProviderArn() == "" {
		return false, invalidParam("PublishTo LATEST_PUBLISHED is only supported for functions with a CapacityProviderConfig (Lambda Managed Instances); publish a numbered version instead.")
	}
	return true, nil
}

// publishLocked publishes $LATEST of rec as a new version inside tx, unless nothing
// changed since the last published version: then, as AWS does, it returns that
// version. It bumps rec.LastVersion; the caller writes rec. With toLatestPublished
// it (re)publishes $LATEST.PUBLISHED instead, which takes no version number.
func (s *Service) publishLocked(tx store.Tx, rec *functionRecord, description string, toLatestPublished bool) (*versionRecord, error) {
	name := rec.Config.FunctionName
	hash := contentHash(&rec.Config)
	if toLatestPublished {
		return s.publishLatestPublished(tx, rec, description, hash)
	}
	if rec.LastVersion > 0 {
		var last versionRecord
		found, err := getJSON(tx, versionKey(name, rec.LastVersion), &last)
		if err != nil {
			return nil, err
		}
		if found && last.ContentHash == hash {
			return &last, nil
		}
	}
	rec.LastVersion++
	v := s.versionOf(rec, strconv.Itoa(rec.LastVersion), description, hash)
	if err := store.PutRecord(tx, versionKey(name, rec.LastVersion), v); err != nil {
		return nil, err
	}
	return v, nil
}

// versionOf is the version record of $LATEST's code and configuration published
// as version (a number, or $LATEST.PUBLISHED).
func (s *Service) versionOf(rec *functionRecord, version, description, hash string) *versionRecord {
	cfg := rec.Config
	cfg.Version = version
	cfg.FunctionArn = s.qualifiedARN(rec.Config.FunctionName, version)
	cfg.RevisionId = uuid.NewString()
	cfg.LastModified = lastModified(time.Now())
	if description != "" {
		cfg.Description = description
	}
	return &versionRecord{Config: cfg, CodeHex: rec.CodeHex, ContentHash: hash, Layers: rec.Layers}
}

// publishLatestPublished writes $LATEST.PUBLISHED from $LATEST, unless it already
// holds the same code and configuration ("create or republish a latest published
// version as needed with updated code or configuration").
func (s *Service) publishLatestPublished(tx store.Tx, rec *functionRecord, description, hash string) (*versionRecord, error) {
	name := rec.Config.FunctionName
	var last versionRecord
	found, err := getJSON(tx, latestPublishedKey(name), &last)
	if err != nil {
		return nil, err
	}
	if found && last.ContentHash == hash && (description == "" || description == last.Config.Description) {
		return &last, nil
	}
	v := s.versionOf(rec, latestPublished, description, hash)
	if found {
		v.Policy = last.Policy // a republish keeps the version's resource policy
	}
	if err := store.PutRecord(tx, latestPublishedKey(name), v); err != nil {
		return nil, err
	}
	return v, nil
}

type publishVersionInput struct {
	CodeSha256  string `json:"CodeSha256"`
	Description string `json:"Description"`
	RevisionId  string `json:"RevisionId"`
	PublishTo   string `json:"PublishTo"`
}

func (s *Service) publishVersion(c *call) error {
	ref, err := s.unqualifiedRef(c.function, "Versions are published from $LATEST; use the unqualified function name.")
	if err != nil {
		return err
	}
	var in publishVersionInput
	if err := c.decode("PublishVersion", &in); err != nil {
		return err
	}
	if err := validateDescription(in.Description); err != nil {
		return err
	}
	var out Configuration
	err = s.updateFunction(c.r.Context(), ref.Name, func(tx store.Tx) error {
		rec, err := s.loadFunctionRevision(tx, ref, in.RevisionId)
		if err != nil {
			return err
		}
		if in.CodeSha256 != "" && in.CodeSha256 != rec.Config.CodeSha256 {
			return invalidParam("CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again.", in.CodeSha256, rec.Config.CodeSha256)
		}
		toLatestPublished, err := checkPublishTo(in.PublishTo, &rec.Config)
		if err != nil {
			return err
		}
		before := rec.LastVersion
		v, err := s.publishLocked(tx, rec, in.Description, toLatestPublished)
		if err != nil {
			return err
		}
		out = v.Config
		if rec.LastVersion == before {
			return nil
		}
		return store.PutRecord(tx, functionKey(ref.Name), rec)
	})
	if err != nil {
		return err
	}
	c.json(http.StatusCreated, out)
	return nil
}

func (s *Service) listVersionsByFunction(c *call) error {
	ref, marker, max, err := s.listRequest(c)
	if err != nil {
		return err
	}
	ctx := c.r.Context()
	rec, err := s.readFunction(ctx, functionRef{Name: ref.Name, Foreign: ref.Foreign})
	if err != nil {
		return err
	}
	versions, err := s.listVersionRecords(ctx, ref.Name)
	if err != nil {
		return err
	}
	latest := rec.Config
	latest.FunctionArn = s.qualifiedARN(ref.Name, "$LATEST")
	all := append([]Configuration{latest}, make([]Configuration, 0, len(versions))...)
	for _, v := range versions {
		all = append(all, v.Config)
	}
	key := func(c Configuration) string {
		if c.Version == "$LATEST" {
			return "0"
		}
		return "1" + fmtVersionKey(c.Version)
	}
	got, next := page(all, key, marker, max)
	c.json(http.StatusOK, struct {
		Versions   []Configuration `json:"Versions"`
		NextMarker *string         `json:"NextMarker,omitempty"`
	}{got, next})
	return nil
}

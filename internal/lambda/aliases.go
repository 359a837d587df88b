package lambda

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"

	"github.com/google/uuid"

	"github.com/sluice-dev/sluice/internal/store"
)

// functionVersionRE is the model's VersionWithLatestPublished: $LATEST.PUBLISHED is a
// Lambda Managed Instances function's (managed.go).
var functionVersionRE = regexp.MustCompile(`^(\$LATEST(\.PUBLISHED)?|[0-9]{1,9})$`)

type aliasInput struct {
	Name            string              `json:"Name"`
	FunctionVersion *string             `json:"FunctionVersion"`
	Description     *string             `json:"Description"`
	RoutingConfig   *AliasRoutingConfig `json:"RoutingConfig"`
	RevisionId      string              `json:"RevisionId"`
}

func validateAliasName(name string) error {
	// The model's pattern is (?!^[0-9]+$)([a-zA-Z0-9-_]+): a number would be
	// ambiguous with a version.
	if !aliasNameRE.MatchString(name) || isVersionNumber(name) {
		return validation("Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)", name)
	}
	return nil
}

func (s *Service) aliasNotFound(name, alias string) error {
	return notFound("Cannot find alias arn: %s", s.qualifiedARN(name, alias))
}

// checkAliasTarget verifies that the versions an alias routes to exist.
func (s *Service) checkAliasTarget(r store.Reader, name string, a *AliasConfiguration) error {
	if !functionVersionRE.MatchString(a.FunctionVersion) {
		return validation("Value '%s' at 'functionVersion' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\$LATEST(\\.PUBLISHED)?|[0-9]+)", a.FunctionVersion)
	}
	exists := func(v string) error {
		if v == "$LATEST" {
			return nil
		}
		key := latestPublishedKey(name)
		if v != latestPublished {
			key = versionKey(name, versionNumber(v))
		}
		if _, err := r.Get(key); err != nil {
			if err == store.ErrNotFound {
				return fmtNotFound(s.qualifiedARN(name, v))
			}
			return err
		}
		return nil
	}
	if err := exists(a.FunctionVersion); err != nil {
		return err
	}
	if a.RoutingConfig == nil || len(a.RoutingConfig.AdditionalVersionWeights) == 0 {
		a.RoutingConfig = nil
		return nil
	}
	if len(a.RoutingConfig.AdditionalVersionWeights) > 1 {
		return validation("Value at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Member must have length less than or equal to 1")
	}
	if a.FunctionVersion == "$LATEST" {
		return invalidParam("$LATEST is not supported for an alias pointing to more than 1 version")
	}
	for v, w := range a.RoutingConfig.AdditionalVersionWeights {
		if !isVersionNumber(v) {
			return validation("Value at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [0-9]+]")
		}
		if w < 0 || w > 1 {
			return validation("Value at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0]")
		}
		if v == a.FunctionVersion {
			return invalidParam("Invalid function version %s. Function version %s is already included in routing configuration.", v, v)
		}
		if err := exists(v); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) createAlias(c *call) error {
	ref, err := s.parseFunctionRef(c.function, "")
	if err != nil {
		return err
	}
	var in aliasInput
	if err := c.decode("CreateAlias", &in); err != nil {
		return err
	}
	if in.Name == "" {
		return validation("Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	if err := validateAliasName(in.Name); err != nil {
		return err
	}
	if in.FunctionVersion == nil {
		return validation("Value null at 'functionVersion' failed to satisfy constraint: Member must not be null")
	}
	a := AliasConfiguration{
		AliasArn:        s.qualifiedARN(ref.Name, in.Name),
		Name:            in.Name,
		FunctionVersion: *in.FunctionVersion,
		RoutingConfig:   in.RoutingConfig,
		RevisionId:      uuid.NewString(),
	}
	if in.Description != nil {
		a.Description = *in.Description
	}
	if err := validateDescription(a.Description); err != nil {
		return err
	}
	err = s.updateFunction(c.r.Context(), ref.Name, func(tx store.Tx) error {
		if _, err := s.loadFunction(tx, functionRef{Name: ref.Name, Foreign: ref.Foreign}); err != nil {
			return err
		}
		if _, err := tx.Get(aliasKey(ref.Name, in.Name)); err == nil {
			return conflict("Alias already exists: %s", a.AliasArn)
		} else if err != store.ErrNotFound {
			return err
		}
		if err := s.checkAliasTarget(tx, ref.Name, &a); err != nil {
			return err
		}
		return store.PutRecord(tx, aliasKey(ref.Name, in.Name), &aliasRecord{Alias: a})
	})
	if err != nil {
		return err
	}
	c.json(http.StatusCreated, a)
	return nil
}

func (s *Service) loadAlias(r store.Reader, ref functionRef, alias string) (*aliasRecord, error) {
	if _, err := s.loadFunction(r, functionRef{Name: ref.Name, Foreign: ref.Foreign}); err != nil {
		return nil, err
	}
	return loadRecord[aliasRecord](r, aliasKey(ref.Name, alias), s.aliasNotFound(ref.Name, alias))
}

// aliasPath parses the {FunctionName} and {Name} of the operations on one alias
// (GetAlias, UpdateAlias, DeleteAlias); the alias name is c.sub.
func (s *Service) aliasPath(c *call) (functionRef, error) {
	ref, err := s.parseFunctionRef(c.function, "")
	if err != nil {
		return functionRef{}, err
	}
	return ref, validateAliasName(c.sub)
}

func (s *Service) getAlias(c *call) error {
	ref, err := s.aliasPath(c)
	if err != nil {
		return err
	}
	a, err := s.loadAlias(s.reader(c.r.Context()), ref, c.sub)
	if err != nil {
		return err
	}
	c.json(http.StatusOK, a.Alias)
	return nil
}

func (s *Service) updateAlias(c *call) error {
	ref, err := s.aliasPath(c)
	if err != nil {
		return err
	}
	var in aliasInput
	if err := c.decode("UpdateAlias", &in); err != nil {
		return err
	}
	var out AliasConfiguration
	err = s.updateFunction(c.r.Context(), ref.Name, func(tx store.Tx) error {
		rec, err := s.loadAlias(tx, ref, c.sub)
		if err != nil {
			return err
		}
		a := &rec.Alias
		if in.RevisionId != "" && in.RevisionId != a.RevisionId {
			return preconditionFailed("GetAlias")
		}
		if in.FunctionVersion != nil {
			a.FunctionVersion = *in.FunctionVersion
		}
		if in.Description != nil {
			if err := validateDescription(*in.Description); err != nil {
				return err
			}
			a.Description = *in.Description
		}
		if in.RoutingConfig != nil {
			a.RoutingConfig = in.RoutingConfig
		}
		if err := s.checkAliasTarget(tx, ref.Name, a); err != nil {
			return err
		}
		a.RevisionId = uuid.NewString()
		out = *a
		return store.PutRecord(tx, aliasKey(ref.Name, c.sub), rec)
	})
	if err != nil {
		return err
	}
	c.json(http.StatusOK, out)
	return nil
}

func (s *Service) deleteAlias(c *call) error {
	ref, err := s.aliasPath(c)
	if err != nil {
		return err
	}
	err = s.updateFunction(c.r.Context(), ref.Name, func(tx store.Tx) error {
		if _, err := s.loadAlias(tx, ref, c.sub); err != nil {
			return err
		}
		if err := dropAliasURL(tx, ref.Name, c.sub); err != nil {
			return err
		}
		return tx.Delete(aliasKey(ref.Name, c.sub))
	})
	return c.noContent(err)
}

func (s *Service) listAliases(c *call) error {
	ref, marker, max, err := s.listRequest(c)
	if err != nil {
		return err
	}
	filter := c.query("FunctionVersion")
	if filter != "" && !functionVersionRE.MatchString(filter) {
		return validation("Value '%s' at 'functionVersion' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\$LATEST|[0-9]+)", filter)
	}
	ctx := c.r.Context()
	if _, err := s.readFunction(ctx, functionRef{Name: ref.Name, Foreign: ref.Foreign}); err != nil {
		return err
	}
	kvs, err := s.store.List(ctx, aliasesPrefix(ref.Name))
	if err != nil {
		return err
	}
	all := []AliasConfiguration{}
	for _, kv := range kvs {
		var a aliasRecord
		if err := json.Unmarshal(kv.Value, &a); err != nil {
			return internalError("decode %s: %w", kv.Key, err)
		}
		if filter != "" && a.Alias.FunctionVersion != filter {
			continue
		}
		all = append(all, a.Alias)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	got, next := page(all, func(a AliasConfiguration) string { return a.Name }, marker, max)
	c.json(http.StatusOK, struct {
		Aliases    []AliasConfiguration `json:"Aliases"`
		NextMarker *string              `json:"NextMarker,omitempty"`
	}{got, next})
	return nil
}

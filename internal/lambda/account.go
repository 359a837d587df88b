package lambda

import (
	"encoding/json"
	"net/http"
	"regexp"

	"github.com/sluice-dev/sluice/internal/store"
)

type putConcurrencyInput struct {
	ReservedConcurrentExecutions *int `json:"ReservedConcurrentExecutions"`
}

// reservedTotal sums the reserved concurrency of every function but skip.
func reservedTotal(r store.Reader, skip string) (int, error) {
	kvs, err := r.List(keyFunctions)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, kv := range kvs {
		if kv.Key == functionKey(skip) {
			continue
		}
		var rec functionRecord
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			return 0, internalError("decode %s: %w", kv.Key, err)
		}
		if rec.ReservedConcurrency != nil {
			total += *rec.ReservedConcurrency
		}
	}
	return total, nil
}

func (s *Service) putFunctionConcurrency(c *call) error {
	ref, err := s.unqualifiedRef(c.function, "Concurrency applies to the whole function; use the unqualified function name.")
	if err != nil {
		return err
	}
	var in putConcurrencyInput
	if err := c.decode("PutFunctionConcurrency", &in); err != nil {
		return err
	}
	if in.ReservedConcurrentExecutions == nil {
		return validation("Value null at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must not be null")
	}
	n := *in.ReservedConcurrentExecutions
	if n < 0 {
		return validation("Value '%d' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0", n)
	}
	err = s.updateFunction(c.r.Context(), ref.Name, func(tx store.Tx) error {
		rec, err := s.loadFunction(tx, ref)
		if err != nil {
			return err
		}
		others, err := reservedTotal(tx, ref.Name)
		if err != nil {
			return err
		}
		if floor := min(minUnreserved, s.accountLimit); s.accountLimit-others-n < floor {
			// AWS keeps 100 of the account's concurrency for unreserved functions.
			return invalidParam("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", floor)
		}
		rec.ReservedConcurrency = &n
		return store.PutRecord(tx, functionKey(ref.Name), rec)
	})
	if err != nil {
		return err
	}
	c.json(http.StatusOK, concurrency{ReservedConcurrentExecutions: &n})
	return nil
}

func (s *Service) deleteFunctionConcurrency(c *call) error {
	ref, err := s.unqualifiedRef(c.function, "Concurrency applies to the whole function; use the unqualified function name.")
	if err != nil {
		return err
	}
	err = s.updateFunction(c.r.Context(), ref.Name, func(tx store.Tx) error {
		rec, err := s.loadFunction(tx, ref)
		if err != nil {
			return err
		}
		rec.ReservedConcurrency = nil
		return store.PutRecord(tx, functionKey(ref.Name), rec)
	})
	return c.noContent(err)
}

func (s *Service) getFunctionConcurrency(c *call) error {
	ref, err := s.parseFunctionRef(c.function, "")
	if err != nil {
		return err
	}
	rec, err := s.readFunction(c.r.Context(), functionRef{Name: ref.Name, Foreign: ref.Foreign})
	if err != nil {
		return err
	}
	// AWS answers {} for a function without reserved concurrency.
	c.json(http.StatusOK, concurrency{ReservedConcurrentExecutions: rec.ReservedConcurrency})
	return nil
}

type accountLimit struct {
	TotalCodeSize                  int64 `json:"TotalCodeSize"`
	CodeSizeUnzipped               int64 `json:"CodeSizeUnzipped"`
	CodeSizeZipped                 int64 `json:"CodeSizeZipped"`
	ConcurrentExecutions           int   `json:"ConcurrentExecutions"`
	UnreservedConcurrentExecutions int   `json:"UnreservedConcurrentExecutions"`
}

type accountUsage struct {
	TotalCodeSize int64 `json:"TotalCodeSize"`
	FunctionCount int64 `json:"FunctionCount"`
}

func (s *Service) getAccountSettings(c *call) error {
	ctx := c.r.Context()
	fns, err := s.store.List(ctx, keyFunctions)
	if err != nil {
		return err
	}
	versions, err := s.store.List(ctx, keyVersions)
	if err != nil {
		return err
	}
	usage := accountUsage{FunctionCount: int64(len(fns))}
	reserved := 0
	for _, kv := range fns {
		var rec functionRecord
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			return internalError("decode %s: %w", kv.Key, err)
		}
		usage.TotalCodeSize += rec.Config.CodeSize
		if rec.ReservedConcurrency != nil {
			reserved += *rec.ReservedConcurrency
		}
	}
	// Published versions count toward the account's code storage, as on AWS.
	for _, kv := range versions {
		var v versionRecord
		if err := json.Unmarshal(kv.Value, &v); err != nil {
			return internalError("decode %s: %w", kv.Key, err)
		}
		usage.TotalCodeSize += v.Config.CodeSize
	}
	c.json(http.StatusOK, struct {
		AccountLimit accountLimit `json:"AccountLimit"`
		AccountUsage accountUsage `json:"AccountUsage"`
	}{
		AccountLimit: accountLimit{
			TotalCodeSize: maxTotalCode, CodeSizeUnzipped: maxUnzippedCode, CodeSizeZipped: maxZippedCode,
			ConcurrentExecutions: s.accountLimit, UnreservedConcurrentExecutions: s.accountLimit - reserved,
		},
		AccountUsage: usage,
	})
	return nil
}

// Tags (ListTags, TagResource, UntagResource) address a function by its ARN.

var tagKeyRE = regexp.MustCompile(`^.{1,128}$`)

func (s *Service) tagTarget(c *call) (functionRef, error) {
	ref, err := s.parseFunctionRef(c.sub, "")
	if err != nil {
		return functionRef{}, err
	}
	if ref.Qualifier != "" {
		return functionRef{}, invalidParam("Tags are not supported on function versions or aliases: %s", c.sub)
	}
	return ref, nil
}

func (s *Service) listTags(c *call) error {
	ref, err := s.tagTarget(c)
	if err != nil {
		return err
	}
	rec, err := s.readFunction(c.r.Context(), ref)
	if err != nil {
		return err
	}
	tags := rec.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	c.json(http.StatusOK, struct {
		Tags map[string]string `json:"Tags"`
	}{tags})
	return nil
}

func (s *Service) tagResource(c *call) error {
	ref, err := s.tagTarget(c)
	if err != nil {
		return err
	}
	var in struct {
		Tags map[string]string `json:"Tags"`
	}
	if err := c.decode("TagResource", &in); err != nil {
		return err
	}
	for k := range in.Tags {
		if !tagKeyRE.MatchString(k) {
			return validation("Value '%s' at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]", k)
		}
	}
	err = s.store.Update(c.r.Context(), func(tx store.Tx) error {
		rec, err := s.loadFunction(tx, ref)
		if err != nil {
			return err
		}
		if rec.Tags == nil {
			rec.Tags = map[string]string{}
		}
		for k, v := range in.Tags {
			rec.Tags[k] = v
		}
		return store.PutRecord(tx, functionKey(ref.Name), rec)
	})
	return c.noContent(err)
}

func (s *Service) untagResource(c *call) error {
	ref, err := s.tagTarget(c)
	if err != nil {
		return err
	}
	keys := c.r.URL.Query()["tagKeys"]
	err = s.store.Update(c.r.Context(), func(tx store.Tx) error {
		rec, err := s.loadFunction(tx, ref)
		if err != nil {
			return err
		}
		for _, k := range keys {
			delete(rec.Tags, k)
		}
		return store.PutRecord(tx, functionKey(ref.Name), rec)
	})
	return c.noContent(err)
}

// ReservedConcurrency is the sum of every function's reserved concurrency, as the
// invoke cache last saw it (current within the store watch's delay): the part of
// the account's concurrency the unreserved pool does not get.
func (s *Service) ReservedConcurrency() int { return s.cache.reservedTotal() }

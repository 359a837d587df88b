package lambda

import (
	"encoding/json"
	"net/http"
	"regexp"

	"github.com/google/uuid"

	"github.com/sluice-dev/sluice/internal/store"
)

var (
	statementIDRE = regexp.MustCompile(`^[a-zA-Z0-9-_.]{1,100}$`)
	actionRE      = regexp.MustCompile(`^(lambda:[*]|lambda:[a-zA-Z]+|[*])$`)
	principalRE   = regexp.MustCompile(`^[^\s]+$`)
)

// policyTarget is the resource a permission is attached to: the function itself
// (unqualified or $LATEST), a version or an alias. Each has its own policy.
type policyTarget struct {
	policy   **policyDocument
	revision *string
	resource string                  // ARN written into statements
	save     func(tx store.Tx) error // writes the record the policy belongs to
}

func (s *Service) loadPolicyTarget(r store.Reader, ref functionRef) (*policyTarget, error) {
	rec, err := s.loadFunction(r, functionRef{Name: ref.Name, Foreign: ref.Foreign})
	if err != nil {
		return nil, err
	}
	switch {
	case latestVersion(ref.Qualifier):
		return &policyTarget{policy: &rec.Policy, revision: &rec.Config.RevisionId, resource: s.functionARN(ref.Name),
			save: func(tx store.Tx) error { return store.PutRecord(tx, functionKey(ref.Name), rec) }}, nil
	case isVersionNumber(ref.Qualifier) || ref.Qualifier == latestPublished:
		key := latestPublishedKey(ref.Name)
		if ref.Qualifier != latestPublished {
			key = versionKey(ref.Name, versionNumber(ref.Qualifier))
		}
		v, err := loadRecord[versionRecord](r, key, fmtNotFound(s.refARN(ref)))
		if err != nil {
			return nil, err
		}
		return &policyTarget{policy: &v.Policy, revision: &v.Config.RevisionId, resource: s.refARN(ref),
			save: func(tx store.Tx) error { return store.PutRecord(tx, key, v) }}, nil
	default:
		key := aliasKey(ref.Name, ref.Qualifier)
		a, err := loadRecord[aliasRecord](r, key, s.aliasNotFound(ref.Name, ref.Qualifier))
		if err != nil {
			return nil, err
		}
		return &policyTarget{policy: &a.Policy, revision: &a.Alias.RevisionId, resource: s.refARN(ref),
			save: func(tx store.Tx) error { return store.PutRecord(tx, key, a) }}, nil
	}
}

type addPermissionInput struct {
	StatementId         string `json:"StatementId"`
	Action              string `json:"Action"`
	Principal           string `json:"Principal"`
	SourceArn           string `json:"SourceArn"`
	SourceAccount       string `json:"SourceAccount"`
	EventSourceToken    string `json:"EventSourceToken"`
	RevisionId          string `json:"RevisionId"`
	PrincipalOrgID      string `json:"PrincipalOrgID"`
	FunctionUrlAuthType string `json:"FunctionUrlAuthType"`
	// InvokedViaFunctionUrl restricts a lambda:InvokeFunction grant to calls through
	// a function URL, the second permission URLs need since October 2025.
	InvokedViaFunctionUrl bool `json:"InvokedViaFunctionUrl"`
}

func (in *addPermissionInput) validate() error {
	switch {
	case in.StatementId == "":
		return validation("Value null at 'statementId' failed to satisfy constraint: Member must not be null")
	case !statementIDRE.MatchString(in.StatementId):
		return validation("Value '%s' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_.]+)", in.StatementId)
	case in.Action == "":
		return validation("Value null at 'action' failed to satisfy constraint: Member must not be null")
	case !actionRE.MatchString(in.Action):
		return validation("Value '%s' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])", in.Action)
	case in.Principal == "":
		return validation("Value null at 'principal' failed to satisfy constraint: Member must not be null")
	case !principalRE.MatchString(in.Principal):
		return validation("Value '%s' at 'principal' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\\s]+", in.Principal)
	case in.SourceAccount != "" && !accountRE.MatchString(in.SourceAccount):
		return validation("Value '%s' at 'sourceAccount' failed to satisfy constraint: Member must satisfy regular expression pattern: \\d{12}", in.SourceAccount)
	}
	return nil
}

// statement builds the policy statement AWS writes for an AddPermission call.
func (in *addPermissionInput) statement(account, resource string) statement {
	st := statement{
		Sid:       in.StatementId,
		Effect:    "Allow",
		Principal: principalFor(account, in.Principal),
		Action:    stringList{in.Action},
		Resource:  stringList{resource},
	}
	add := func(op, key, value string) {
		if value == "" {
			return
		}
		if st.Condition == nil {
			st.Condition = map[string]map[string]stringList{}
		}
		if st.Condition[op] == nil {
			st.Condition[op] = map[string]stringList{}
		}
		st.Condition[op][key] = stringList{value}
	}
	add("ArnLike", "AWS:SourceArn", in.SourceArn)
	add("StringEquals", "AWS:SourceAccount", in.SourceAccount)
	add("StringEquals", "aws:PrincipalOrgID", in.PrincipalOrgID)
	add("StringEquals", "lambda:EventSourceToken", in.EventSourceToken)
	add("StringEquals", "lambda:FunctionUrlAuthType", in.FunctionUrlAuthType)
	if in.InvokedViaFunctionUrl {
		add("Bool", "lambda:InvokedViaFunctionUrl", "true")
	}
	return st
}

func (s *Service) addPermission(c *call) error {
	ref, err := s.parseFunctionRef(c.function, c.query("Qualifier"))
	if err != nil {
		return err
	}
	var in addPermissionInput
	if err := c.decode("AddPermission", &in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	var added statement
	err = s.updateFunction(c.r.Context(), ref.Name, func(tx store.Tx) error {
		t, err := s.loadPolicyTarget(tx, ref)
		if err != nil {
			return err
		}
		if in.RevisionId != "" && in.RevisionId != *t.revision {
			return preconditionFailed("GetPolicy")
		}
		doc := *t.policy
		if doc == nil {
			doc = &policyDocument{Version: "2012-10-17", Id: "default"}
		}
		for _, st := range doc.Statement {
			if st.Sid == in.StatementId {
				return conflict("The statement id (%s) provided already exists. Please specify a new statement id, or remove the existing statement.", in.StatementId)
			}
		}
		added = in.statement(s.account, t.resource)
		next := *doc
		next.Statement = append(append([]statement(nil), doc.Statement...), added)
		*t.policy = &next
		*t.revision = uuid.NewString()
		return t.save(tx)
	})
	if err != nil {
		return err
	}
	b, _ := json.Marshal(added)
	c.json(http.StatusCreated, struct {
		Statement string `json:"Statement"`
	}{string(b)})
	return nil
}

func (s *Service) removePermission(c *call) error {
	ref, err := s.parseFunctionRef(c.function, c.query("Qualifier"))
	if err != nil {
		return err
	}
	sid := c.sub
	if !statementIDRE.MatchString(sid) {
		return validation("Value '%s' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_.]+)", sid)
	}
	revision := c.query("RevisionId")
	err = s.updateFunction(c.r.Context(), ref.Name, func(tx store.Tx) error {
		t, err := s.loadPolicyTarget(tx, ref)
		if err != nil {
			return err
		}
		if revision != "" && revision != *t.revision {
			return preconditionFailed("GetPolicy")
		}
		doc := *t.policy
		if doc == nil {
			return notFound("No policy is associated with the given resource.")
		}
		kept := make([]statement, 0, len(doc.Statement))
		for _, st := range doc.Statement {
			if st.Sid != sid {
				kept = append(kept, st)
			}
		}
		if len(kept) == len(doc.Statement) {
			return notFound("Statement %s is not found in resource policy.", sid)
		}
		if len(kept) == 0 {
			*t.policy = nil
		} else {
			next := *doc
			next.Statement = kept
			*t.policy = &next
		}
		*t.revision = uuid.NewString()
		return t.save(tx)
	})
	return c.noContent(err)
}

func (s *Service) getPolicy(c *call) error {
	ref, err := s.parseFunctionRef(c.function, c.query("Qualifier"))
	if err != nil {
		return err
	}
	t, err := s.loadPolicyTarget(s.reader(c.r.Context()), ref)
	if err != nil {
		return err
	}
	if *t.policy == nil || len((*t.policy).Statement) == 0 {
		return notFound("The resource you requested does not exist.")
	}
	b, err := json.Marshal(*t.policy)
	if err != nil {
		return internalError("encode policy: %w", err)
	}
	c.json(http.StatusOK, struct {
		Policy     string `json:"Policy"`
		RevisionId string `json:"RevisionId"`
	}{string(b), *t.revision})
	return nil
}

// Package domainnames holds the rules of custom domain name records that the two
// control planes share: apigateway (v1: domain names and base path mappings) and
// apigatewayv2 (domain names and API mappings) read and write the same records
// (model.DomainName, model.DomainMapping), as on AWS where a domain created with
// either API is seen by both. Each control plane renders its own JSON shape.
package domainnames

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// Certificates checks that a certificate can serve a domain name: it exists, is
// ISSUED, and names the domain (exactly or by wildcard). The error's text is the
// reason, for a BadRequestException.
type Certificates interface {
	CheckForDomain(ctx context.Context, arn, domain string) error
}

// Errors both control planes answer.
var (
	ErrDomainNotFound  = awsproto.NotFound("NotFoundException", "Invalid domain name identifier specified")
	ErrMappingNotFound = awsproto.NotFound("NotFoundException", "Invalid base path mapping identifier specified")
	ErrStageNotFound   = awsproto.BadRequest("BadRequestException", "Invalid stage identifier specified")
)

// Key is a domain name's store key.
func Key(name string) string { return model.DomainPrefix + name }

// MappingsPrefix is where a domain's mappings live.
func MappingsPrefix(domain string) string { return model.DomainMappingPrefix + domain + "/" }

// MappingKey is a mapping's store key.
func MappingKey(domain, id string) string { return MappingsPrefix(domain) + id }

// NormalizeName lower-cases a domain name and checks it is a DNS name (a leading
// "*." for a wildcard domain), as API Gateway requires.
func NormalizeName(name string) (string, error) {
	n := strings.ToLower(strings.TrimSuffix(name, "."))
	rest := strings.TrimPrefix(n, "*.")
	ok := rest != "" && len(n) <= 253 && strings.Contains(rest, ".")
	for label := range strings.SplitSeq(rest, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") ||
			strings.Trim(label, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			ok = false
		}
	}
	if !ok {
		return "", awsproto.BadRequest("BadRequestException", "Invalid domain name: %s", name)
	}
	return n, nil
}

// NormalizeKey checks a base path / ApiMappingKey and trims its slashes: "" or
// "(none)" is the root; otherwise one or more segments of letters, digits and
// $-_.+!*'(), separated by single slashes.
func NormalizeKey(key string) (string, error) {
	if key == "(none)" {
		return "", nil
	}
	k := strings.Trim(key, "/")
	if k == "" {
		return "", nil
	}
	for seg := range strings.SplitSeq(k, "/") {
		if seg == "" || strings.Trim(seg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789$-_.+!*'(),") != "" {
			return "", awsproto.BadRequest("BadRequestException",
				"A base path may contain only letters, numbers and one of $-_.+!*'(), separated by single slashes: %s", key)
		}
	}
	return k, nil
}

// Load reads a domain name, ErrDomainNotFound when there is none.
func Load(rd store.Reader, name string) (*model.DomainName, error) {
	n, err := NormalizeName(name)
	if err != nil {
		return nil, ErrDomainNotFound
	}
	return store.RecordOr[model.DomainName](rd, Key(n), ErrDomainNotFound)
}

// List reads every domain name, by name.
func List(rd store.Reader) ([]*model.DomainName, error) {
	return store.ListRecords[model.DomainName](rd, model.DomainPrefix)
}

// Create writes a new domain name after checking its certificate; a name that
// exists is a ConflictException.
func Create(ctx context.Context, st store.Store, certs Certificates, d *model.DomainName) error {
	if d.CertificateArn == "" {
		return awsproto.BadRequest("BadRequestException", "A certificate ARN is required for domain name %s", d.Name)
	}
	if certs == nil {
		return awsproto.BadRequest("BadRequestException", "Invalid certificate ARN specified: %s", d.CertificateArn)
	}
	if err := certs.CheckForDomain(ctx, d.CertificateArn, d.Name); err != nil {
		return awsproto.BadRequest("BadRequestException", "%s", err.Error())
	}
	switch d.SecurityPolicy {
	case "":
		d.SecurityPolicy = "TLS_1_2"
	case "TLS_1_0", "TLS_1_2":
	default:
		return awsproto.BadRequest("BadRequestException", "Invalid security policy: %s. Must be one of: [TLS_1_0, TLS_1_2]", d.SecurityPolicy)
	}
	if d.Created.IsZero() {
		d.Created = time.Now().UTC()
	}
	return st.Update(ctx, func(tx store.Tx) error {
		if _, found, err := store.GetRecord[model.DomainName](tx, Key(d.Name)); err != nil {
			return err
		} else if found {
			return awsproto.Conflict("ConflictException", "The domain name you provided already exists.")
		}
		return store.PutRecord(tx, Key(d.Name), d)
	})
}

// Update applies fn to a domain name in one transaction, re-checking a changed
// certificate or security policy.
func Update(ctx context.Context, st store.Store, certs Certificates, name string, fn func(d *model.DomainName) error) (*model.DomainName, error) {
	var out *model.DomainName
	err := st.Update(ctx, func(tx store.Tx) error {
		d, err := Load(tx, name)
		if err != nil {
			return err
		}
		before := *d
		if err := fn(d); err != nil {
			return err
		}
		if d.CertificateArn != before.CertificateArn {
			if certs == nil {
				return awsproto.BadRequest("BadRequestException", "Invalid certificate ARN specified: %s", d.CertificateArn)
			}
			if err := certs.CheckForDomain(ctx, d.CertificateArn, d.Name); err != nil {
				return awsproto.BadRequest("BadRequestException", "%s", err.Error())
			}
		}
		if d.SecurityPolicy != "TLS_1_0" && d.SecurityPolicy != "TLS_1_2" {
			return awsproto.BadRequest("BadRequestException", "Invalid security policy: %s. Must be one of: [TLS_1_0, TLS_1_2]", d.SecurityPolicy)
		}
		out = d
		return store.PutRecord(tx, Key(d.Name), d)
	})
	return out, err
}

// Delete removes a domain name and its mappings.
func Delete(ctx context.Context, st store.Store, name string) error {
	return st.Update(ctx, func(tx store.Tx) error {
		d, err := Load(tx, name)
		if err != nil {
			return err
		}
		kvs, err := tx.List(MappingsPrefix(d.Name))
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			if err := tx.Delete(kv.Key); err != nil {
				return err
			}
		}
		return tx.Delete(Key(d.Name))
	})
}

// Mappings reads a domain's mappings, ordered by key ("" first).
func Mappings(rd store.Reader, domain string) ([]*model.DomainMapping, error) {
	ms, err := store.ListRecords[model.DomainMapping](rd, MappingsPrefix(domain))
	if err != nil {
		return nil, err
	}
	slices.SortFunc(ms, func(a, b *model.DomainMapping) int { return strings.Compare(a.Key, b.Key) })
	return ms, nil
}

// DomainMappings reads an existing domain's mappings (ErrDomainNotFound when it does
// not exist), each rendered by view, ordered by key.
func DomainMappings[T any](rd store.Reader, domain string, view func(*model.DomainMapping) T) ([]T, error) {
	d, err := Load(rd, domain)
	if err != nil {
		return nil, err
	}
	ms, err := Mappings(rd, d.Name)
	return render(ms, err, view)
}

// ListAs reads every domain name, each rendered by view, ordered by name.
func ListAs[T any](rd store.Reader, view func(*model.DomainName) T) ([]T, error) {
	ds, err := List(rd)
	return render(ds, err, view)
}

func render[R, T any](rs []*R, err error, view func(*R) T) ([]T, error) {
	if err != nil {
		return nil, err
	}
	outs := make([]T, len(rs))
	for i, r := range rs {
		outs[i] = view(r)
	}
	return outs, nil
}

// APIKind is the kind of API a mapping targets.
type APIKind int

const (
	KindREST APIKind = iota + 1
	KindHTTP
)

// CheckTarget reads which kind of API id names and checks stage is deployed on it
// (stage "" is allowed for a REST base path mapping: the caller names it).
func CheckTarget(rd store.Reader, apiID, stage string) (APIKind, error) {
	if apiID == "" || strings.ContainsAny(apiID, "/\x00") {
		return 0, awsproto.NotFound("NotFoundException", "Invalid API identifier specified %s", apiID)
	}
	kind := APIKind(0)
	if _, found, err := store.GetRecord[model.RestAPI](rd, model.Key(model.RestAPIPrefix, apiID)); err != nil {
		return 0, err
	} else if found {
		kind = KindREST
	} else if _, found, err := store.GetRecord[model.HTTPAPI](rd, model.Key(model.HTTPAPIPrefix, apiID)); err != nil {
		return 0, err
	} else if found {
		kind = KindHTTP
	}
	if kind == 0 {
		return 0, awsproto.NotFound("NotFoundException", "Invalid API identifier specified %s", apiID)
	}
	if stage == "" {
		return kind, nil
	}
	prefix := model.RestStagePrefix
	if kind == KindHTTP {
		prefix = model.HTTPStagePrefix
	}
	if strings.ContainsAny(stage, "/\x00") {
		return 0, ErrStageNotFound
	}
	if _, err := rd.Get(model.Key(prefix, apiID, stage)); errors.Is(err, store.ErrNotFound) {
		return 0, ErrStageNotFound
	} else if err != nil {
		return 0, err
	}
	return kind, nil
}

// PutMapping writes m (new when m.ID is ""), refusing a key another mapping of the
// domain already has.
func PutMapping(tx store.Tx, m *model.DomainMapping) error {
	if _, err := Load(tx, m.Domain); err != nil {
		return err
	}
	ms, err := Mappings(tx, m.Domain)
	if err != nil {
		return err
	}
	for _, o := range ms {
		if o.Key == m.Key && o.ID != m.ID {
			return awsproto.Conflict("ConflictException", "Base path already exists for this domain name")
		}
	}
	if m.ID == "" {
		m.ID = awsproto.NewID(6)
	}
	if _, err := CheckTarget(tx, m.APIID, m.Stage); err != nil {
		return err
	}
	if err := store.PutRecord(tx, MappingKey(m.Domain, m.ID), m); err != nil {
		return fmt.Errorf("mapping: %w", err)
	}
	return nil
}

package cfn

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

// AWS::CertificateManager::Certificate, through Sluice's ACM: RequestCertificate,
// then DescribeCertificate until the certificate leaves PENDING_VALIDATION.
// CloudFormation reports CREATE_COMPLETE only once the certificate is ISSUED (the
// resource reference, aws-resource-certificatemanager-certificate.html: until
// validation succeeds the stack stays CREATE_IN_PROGRESS), so the stack waits
// here too. Sluice validates by ACME (HTTP-01 / TLS-ALPN-01 answered on its
// own listeners, see internal/acm), which needs no DNS record and no e-mail.
//
// Ref is the certificate ARN; the type documents no Fn::GetAtt attribute. The
// names, the validation method and options and the key algorithm are create-only
// ("Update requires: Replacement"); Tags and CertificateTransparencyLoggingPreference
// update in place.
var acmCertificate = &provisioner{
	replaceOn: []string{"DomainName", "SubjectAlternativeNames", "ValidationMethod", "DomainValidationOptions",
		"KeyAlgorithm", "CertificateAuthorityArn"},
	create: func(ctx context.Context, r *resourceCall) (string, map[string]any, error) {
		in, err := certificateInput(r.props)
		if err != nil {
			return "", nil, err
		}
		var out struct{ CertificateArn string }
		if err := acmCall(ctx, r, "RequestCertificate", in, &out); err != nil {
			return "", nil, err
		}
		// A failure from here on returns the ARN, so the rollback deletes the
		// request.
		return out.CertificateArn, nil, waitIssued(ctx, r, out.CertificateArn)
	},
	update: func(ctx context.Context, r *resourceCall, old *resourceRecord) (map[string]any, error) {
		if _, err := certificateInput(r.props); err != nil {
			return nil, err
		}
		want, _ := r.props.tagList("Tags")
		had, _ := oldProps(r, old).tagList("Tags")
		arn := old.PhysicalID
		if remove := removedTags(had, want); len(remove) > 0 {
			tags := make([]map[string]string, 0, len(remove))
			for _, k := range remove {
				tags = append(tags, map[string]string{"Key": k})
			}
			if err := acmCall(ctx, r, "RemoveTagsFromCertificate", map[string]any{"CertificateArn": arn, "Tags": tags}, nil); err != nil {
				return nil, err
			}
		}
		if add := acmTags(want, had); len(add) > 0 {
			if err := acmCall(ctx, r, "AddTagsToCertificate", map[string]any{"CertificateArn": arn, "Tags": add}, nil); err != nil {
				return nil, err
			}
		}
		// CertificateTransparencyLoggingPreference can only be ENABLED (or absent,
		// its default; certificateInput refuses DISABLED): nothing to change.
		return old.Attrs, nil
	},
	delete: func(ctx context.Context, r *resourceCall, rec *resourceRecord) error {
		return acmCall(ctx, r, "DeleteCertificate", map[string]string{"CertificateArn": rec.PhysicalID}, nil)
	},
}

// sluiceKeyAlgorithm is the only key Sluice's ACME issuer makes (internal/acm's
// Obtain generates a P-256 key), in ACM's spelling.
const sluiceKeyAlgorithm = "EC_prime256v1"

// certificateInput maps the properties to RequestCertificate's input, refusing
// by name what Sluice cannot honour.
func certificateInput(p props) (map[string]any, error) {
	if err := p.check([]string{"SubjectAlternativeNames", "ValidationMethod", "DomainValidationOptions",
		"CertificateTransparencyLoggingPreference", "KeyAlgorithm", "Tags"}, []string{"DomainName"},
		[]string{"CertificateAuthorityArn"}); err != nil {
		return nil, err
	}
	in := map[string]any{}
	domain, err := p.str("DomainName")
	if err != nil {
		return nil, err
	}
	in["DomainName"] = domain
	sans, err := p.strList("SubjectAlternativeNames")
	if err != nil {
		return nil, err
	}
	if len(sans) > 0 {
		in["SubjectAlternativeNames"] = sans
	}
	method, err := p.str("ValidationMethod")
	if err != nil {
		return nil, err
	}
	if method != "" {
		in["ValidationMethod"] = method // ACM answers for the values it refuses (EMAIL)
	}
	opts, err := p.objects("DomainValidationOptions")
	if err != nil {
		return nil, err
	}
	names := append([]string{domain}, sans...)
	for _, o := range opts {
		for _, k := range []string{"HostedZoneId", "ValidationDomain"} {
			if o.has(k) {
				return nil, unsupportedProp(o, k, "Sluice validates requested certificates by ACME on its own listeners, "+
					"so there is no validation DNS record or e-mail domain to set up; remove it")
			}
		}
		if err := o.check(nil, []string{"DomainName"}, nil); err != nil {
			return nil, err
		}
		name, err := o.str("DomainName")
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, name) }) {
			return nil, o.fail("#/DomainName: %s is not one of the certificate's names (%s)", name, strings.Join(names, ", "))
		}
	}
	if ct, err := p.str("CertificateTransparencyLoggingPreference"); err != nil {
		return nil, err
	} else if ct != "" && ct != "ENABLED" {
		return nil, unsupportedProp(p, "CertificateTransparencyLoggingPreference",
			"Sluice's certificates come from an ACME CA, which decides about certificate transparency logging; only ENABLED, the default, is accepted, not "+ct)
	}
	if alg, err := p.str("KeyAlgorithm"); err != nil {
		return nil, err
	} else if alg != "" && alg != sluiceKeyAlgorithm {
		return nil, unsupportedProp(p, "KeyAlgorithm",
			"Sluice's ACME issuer obtains "+sluiceKeyAlgorithm+" keys only, not "+alg)
	}
	tags, err := p.tagList("Tags")
	if err != nil {
		return nil, err
	}
	if add := acmTags(tags, nil); len(add) > 0 {
		in["Tags"] = add
	}
	return in, nil
}

// unsupportedProp is check's refusal of an unsupported property, with why.
func unsupportedProp(p props, name, why string) error {
	if p.at != "" {
		name = strings.ReplaceAll(p.at, "/", ".") + "." + name
	}
	return &resourceError{msg: fmt.Sprintf("Sluice does not support property %s of resource %s yet: %s", name, p.logicalID, why)}
}

// acmTags are want's tags that had lacks or has with another value, in ACM's
// [{Key, Value}] form, sorted by key.
func acmTags(want, had map[string]string) []map[string]string {
	keys := make([]string, 0, len(want))
	for k, v := range want {
		if old, ok := had[k]; !ok || old != v {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := make([]map[string]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, map[string]string{"Key": k, "Value": want[k]})
	}
	return out
}

// acmCall is one ACM JSON 1.1 operation.
func acmCall(ctx context.Context, r *resourceCall, op string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode %s: %w", op, err)
	}
	res, err := r.c.do(ctx, request{service: "acm", display: "Acm", method: http.MethodPost, path: "/",
		contentType: "application/x-amz-json-1.1", body: b, header: map[string]string{"X-Amz-Target": "CertificateManager." + op}})
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(res.Body, out); err != nil {
			return fmt.Errorf("decode %s: %w", op, err)
		}
	}
	return nil
}

// certificatePoll is how often a pending certificate's status is read.
const certificatePoll = 500 * time.Millisecond

// waitIssued returns once the certificate is ISSUED, or fails with the status it
// ended in. Validation cannot hang forever: the ACME attempt has a deadline, after
// which ACM records FAILED.
func waitIssued(ctx context.Context, r *resourceCall, arn string) error {
	tick := time.NewTicker(certificatePoll)
	defer tick.Stop()
	for {
		var out struct {
			Certificate struct {
				Status        string
				FailureReason string
			}
		}
		if err := acmCall(ctx, r, "DescribeCertificate", map[string]string{"CertificateArn": arn}, &out); err != nil {
			return err
		}
		switch c := out.Certificate; c.Status {
		case "ISSUED":
			return nil
		case "PENDING_VALIDATION":
		case "FAILED":
			// CloudFormation's reason for a certificate that failed validation;
			// Sluice's ACM logs the ACME error itself.
			return &resourceError{msg: fmt.Sprintf("Certificate was in failed status (FailureReason: %s; the ACME error is in Sluice's log)", c.FailureReason)}
		default:
			return &resourceError{msg: fmt.Sprintf("Certificate was in %s status", c.Status)}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

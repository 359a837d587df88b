package cfn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/sluice-dev/sluice/internal/acm"
	"github.com/sluice-dev/sluice/internal/store/memstore"
)

// selfSigned is an acm.Issuer that signs its own certificates, or fails for the
// names in refuse (what an ACME CA does when a challenge fails).
type selfSigned struct{ refuse []string }

func (i selfSigned) Obtain(ctx context.Context, names []string) (string, string, string, error) {
	if slices.Contains(i.refuse, names[0]) {
		return "", "", "", errors.New("acme: urn:ietf:params:acme:error:connection: the CA could not reach " + names[0])
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", "", err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		DNSNames: names, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", "", err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), "",
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})), nil
}

func acmCaller(t *testing.T) *caller {
	t.Helper()
	svc := acm.New(acm.Options{Store: memstore.New(), Region: "us-east-1", AccountID: "123456789012",
		Issuer: selfSigned{refuse: []string{"unreachable.example.test"}}})
	t.Cleanup(svc.Wait)
	return &caller{handler: svc, region: "us-east-1", signer: v4.NewSigner(),
		creds: aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}}
}

func describeCert(t *testing.T, r *resourceCall, arn string) map[string]any {
	t.Helper()
	var out struct{ Certificate map[string]any }
	if err := acmCall(t.Context(), r, "DescribeCertificate", map[string]string{"CertificateArn": arn}, &out); err != nil {
		t.Fatal(err)
	}
	return out.Certificate
}

func certTags(t *testing.T, r *resourceCall, arn string) map[string]string {
	t.Helper()
	var out struct{ Tags []struct{ Key, Value string } }
	if err := acmCall(t.Context(), r, "ListTagsForCertificate", map[string]string{"CertificateArn": arn}, &out); err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, tg := range out.Tags {
		m[tg.Key] = tg.Value
	}
	return m
}

func TestCertificateLifecycle(t *testing.T) {
	c := acmCaller(t)
	call := func(doc string) *resourceCall {
		return &resourceCall{c: c, stackName: "s", logicalID: "Cert", region: "us-east-1", account: "123456789012",
			props: mustProps(t, "Cert", doc)}
	}
	v1 := `{"DomainName":"api.example.test","SubjectAlternativeNames":["www.example.test"],"ValidationMethod":"DNS",
		"DomainValidationOptions":[{"DomainName":"api.example.test"}],"KeyAlgorithm":"EC_prime256v1",
		"CertificateTransparencyLoggingPreference":"ENABLED","Tags":[{"Key":"app","Value":"email"},{"Key":"tier","Value":"1"}]}`
	r := call(v1)
	arn, attrs, err := acmCertificate.create(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	// create returns only once the certificate is issued.
	d := describeCert(t, r, arn)
	if !strings.HasPrefix(arn, "arn:aws:acm:us-east-1:123456789012:certificate/") || d["Status"] != "ISSUED" ||
		!slices.Equal(d["SubjectAlternativeNames"].([]any), []any{"api.example.test", "www.example.test"}) {
		t.Fatalf("create: arn %s, certificate %v", arn, d)
	}
	if got := certTags(t, r, arn); len(got) != 2 || got["app"] != "email" || got["tier"] != "1" {
		t.Fatalf("tags after create = %v", got)
	}

	// Tags update in place: one removed, one changed, one added.
	rec := &resourceRecord{LogicalID: "Cert", Type: "AWS::CertificateManager::Certificate", PhysicalID: arn, Properties: r.props.m, Attrs: attrs}
	v2 := strings.Replace(v1, `"Tags":[{"Key":"app","Value":"email"},{"Key":"tier","Value":"1"}]`,
		`"Tags":[{"Key":"app","Value":"mail"},{"Key":"owner","Value":"ops"}]`, 1)
	r = call(v2)
	if needsReplacement(acmCertificate, rec.Properties, r.props.m) {
		t.Fatal("a Tags change replaces the certificate")
	}
	if _, err := acmCertificate.update(t.Context(), r, rec); err != nil {
		t.Fatal(err)
	}
	if got := certTags(t, r, arn); len(got) != 2 || got["app"] != "mail" || got["owner"] != "ops" {
		t.Fatalf("tags after update = %v", got)
	}
	for _, k := range []string{"DomainName", "SubjectAlternativeNames", "ValidationMethod", "KeyAlgorithm", "DomainValidationOptions"} {
		changed := map[string]any{}
		for kk, v := range r.props.m {
			changed[kk] = v
		}
		changed[k] = "other"
		if !needsReplacement(acmCertificate, r.props.m, changed) {
			t.Errorf("a %s change does not replace the certificate", k)
		}
	}

	rec.Properties = r.props.m
	if err := acmCertificate.delete(t.Context(), r, rec); err != nil {
		t.Fatal(err)
	}
	err = acmCall(t.Context(), r, "DescribeCertificate", map[string]string{"CertificateArn": arn}, nil)
	if !notFound(err) {
		t.Fatalf("describe after delete: %v", err)
	}

	// A certificate whose validation fails fails the resource, and create still
	// returns its ARN so the rollback deletes it.
	r = call(`{"DomainName":"unreachable.example.test"}`)
	arn, _, err = acmCertificate.create(t.Context(), r)
	if err == nil || err.Error() != "Certificate was in failed status (FailureReason: OTHER; the ACME error is in Sluice's log)" {
		t.Fatalf("failed validation: %v", err)
	}
	if d := describeCert(t, r, arn); d["Status"] != "FAILED" {
		t.Fatalf("failed certificate = %v", d)
	}

	// What ACM itself refuses comes back as its answer.
	_, _, err = acmCertificate.create(t.Context(), call(`{"DomainName":"api.example.test","ValidationMethod":"EMAIL"}`))
	if err == nil || !strings.Contains(err.Error(), "ValidationMethod EMAIL is not supported") || !strings.Contains(err.Error(), "Service: Acm, Status Code: 400") {
		t.Fatalf("EMAIL validation: %v", err)
	}
}

func TestCertificatePropertyErrors(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`{"SubjectAlternativeNames":["a.example.test"]}`,
			"Properties validation failed for resource Cert with message: #: required key [DomainName] not found"},
		{`{"DomainName":"a.example.test","CertificateAuthorityArn":"arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/x"}`,
			"Sluice does not support property CertificateAuthorityArn of resource Cert yet"},
		{`{"DomainName":"a.example.test","DomainValidationOptions":[{"DomainName":"a.example.test","HostedZoneId":"Z123"}]}`,
			"Sluice does not support property DomainValidationOptions.0.HostedZoneId of resource Cert yet: Sluice validates requested certificates by ACME on its own listeners, so there is no validation DNS record or e-mail domain to set up; remove it"},
		{`{"DomainName":"a.example.test","DomainValidationOptions":[{"DomainName":"a.example.test","ValidationDomain":"example.test"}]}`,
			"Sluice does not support property DomainValidationOptions.0.ValidationDomain of resource Cert yet: Sluice validates requested certificates by ACME on its own listeners, so there is no validation DNS record or e-mail domain to set up; remove it"},
		{`{"DomainName":"a.example.test","DomainValidationOptions":[{"DomainName":"b.example.test"}]}`,
			"Properties validation failed for resource Cert with message: #/DomainValidationOptions/0/DomainName: b.example.test is not one of the certificate's names (a.example.test)"},
		{`{"DomainName":"a.example.test","DomainValidationOptions":[{}]}`,
			"Properties validation failed for resource Cert with message: #/DomainValidationOptions/0: required key [DomainName] not found"},
		{`{"DomainName":"a.example.test","KeyAlgorithm":"RSA_2048"}`,
			"Sluice does not support property KeyAlgorithm of resource Cert yet: Sluice's ACME issuer obtains EC_prime256v1 keys only, not RSA_2048"},
		{`{"DomainName":"a.example.test","CertificateTransparencyLoggingPreference":"DISABLED"}`,
			"Sluice does not support property CertificateTransparencyLoggingPreference of resource Cert yet: Sluice's certificates come from an ACME CA, which decides about certificate transparency logging; only ENABLED, the default, is accepted, not DISABLED"},
		{`{"DomainName":"a.example.test","SubjectAlternativeNames":"b.example.test"}`,
			"Properties validation failed for resource Cert with message: #/SubjectAlternativeNames: expected type: JSONArray, found: String"},
		{`{"DomainName":"a.example.test","Tags":[{"Key":"k"}]}`,
			"Properties validation failed for resource Cert with message: #/Tags/0: required key [Key, Value] not found"},
		{`{"DomainName":"a.example.test","Bogus":1}`,
			"Properties validation failed for resource Cert with message: #: extraneous key [Bogus] is not permitted"},
	} {
		_, err := certificateInput(mustProps(t, "Cert", tc.doc))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: err = %v\nwant %s", tc.doc, err, tc.want)
		}
	}
}

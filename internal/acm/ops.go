package acm

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sluice-dev/sluice/internal/store"
)

// apiError is an ACM error: JSON 1.1's {"__type": code, "message": text}, status 400.
type apiError struct {
	code, msg string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func errorf(code, format string, args ...any) error {
	return &apiError{code, fmt.Sprintf(format, args...)}
}

func validation(format string, args ...any) error {
	return errorf("ValidationException", format, args...)
}

func notFound(arn string) error {
	return errorf("ResourceNotFoundException", "Could not find certificate %s.", arn)
}

func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	status := http.StatusBadRequest
	if !errors.As(err, &ae) {
		ae = &apiError{"InternalFailure", "internal error"}
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", ae.code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": ae.code, "message": ae.msg})
}

// ServeHTTP serves the JSON 1.1 protocol: POST / with X-Amz-Target:
// CertificateManager.{Operation}.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "CertificateManager.")
	if r.Method != http.MethodPost || !ok {
		writeError(w, errorf("UnknownOperationException", "Sluice serves ACM over JSON 1.1 (POST with X-Amz-Target: CertificateManager.*)"))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, validation("reading the request: %v", err))
		return
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	var out any
	ctx := r.Context()
	switch op {
	case "ImportCertificate":
		out, err = call(body, func(in importInput) (any, error) { return s.importCertificate(ctx, in) })
	case "RequestCertificate":
		out, err = call(body, func(in requestInput) (any, error) { return s.requestCertificate(ctx, in) })
	case "DescribeCertificate":
		out, err = call(body, func(in arnInput) (any, error) { return s.describeCertificate(ctx, in) })
	case "ListCertificates":
		out, err = call(body, func(in listInput) (any, error) { return s.listCertificates(ctx, in) })
	case "GetCertificate":
		out, err = call(body, func(in arnInput) (any, error) { return s.getCertificate(ctx, in) })
	case "DeleteCertificate":
		out, err = call(body, func(in arnInput) (any, error) { return struct{}{}, s.deleteCertificate(ctx, in) })
	case "AddTagsToCertificate":
		out, err = call(body, func(in tagsInput) (any, error) { return struct{}{}, s.addTags(ctx, in) })
	case "RemoveTagsFromCertificate":
		out, err = call(body, func(in tagsInput) (any, error) { return struct{}{}, s.removeTags(ctx, in) })
	case "ListTagsForCertificate":
		out, err = call(body, func(in arnInput) (any, error) { return s.listTags(ctx, in) })
	default:
		err = errorf("UnknownOperationException", "Sluice does not implement ACM operation %s", op)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func call[In any](body []byte, f func(In) (any, error)) (any, error) {
	var in In
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, errorf("SerializationException", "%v", err)
	}
	return f(in)
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value,omitempty"`
}

type importInput struct {
	CertificateArn   string `json:"CertificateArn"`
	Certificate      []byte `json:"Certificate"`
	PrivateKey       []byte `json:"PrivateKey"`
	CertificateChain []byte `json:"CertificateChain"`
	Tags             []tag  `json:"Tags"`
}

type requestInput struct {
	DomainName              string   `json:"DomainName"`
	SubjectAlternativeNames []string `json:"SubjectAlternativeNames"`
	ValidationMethod        string   `json:"ValidationMethod"`
	IdempotencyToken        string   `json:"IdempotencyToken"`
	Tags                    []tag    `json:"Tags"`
}

type arnInput struct {
	CertificateArn string `json:"CertificateArn"`
}

type listInput struct {
	CertificateStatuses []string `json:"CertificateStatuses"`
	Includes            *struct {
		KeyTypes []string `json:"keyTypes"`
	} `json:"Includes"`
	MaxItems  int    `json:"MaxItems"`
	NextToken string `json:"NextToken"`
}

type tagsInput struct {
	CertificateArn string `json:"CertificateArn"`
	Tags           []tag  `json:"Tags"`
}

func (s *Service) newARN() string {
	return "arn:aws:acm:" + s.region + ":" + s.account + ":certificate/" + uuid.NewString()
}

func (s *Service) key(arn string) (string, error) {
	prefix := "arn:aws:acm:" + s.region + ":" + s.account + ":certificate/"
	id, ok := strings.CutPrefix(arn, prefix)
	if !ok || uuid.Validate(id) != nil {
		return "", validation("The certificate ARN %s is not valid: want %s{uuid}.", arn, prefix)
	}
	return Prefix + id, nil
}

// parsed is an imported certificate after validation.
type parsed struct {
	leaf      *x509.Certificate
	certPEM   string
	chainPEM  string
	keyPEM    string
	names     []string
	keyAlg    string
	signature string
}

// parseImport validates an import as ACM does: one certificate, a key that matches
// it, valid now, and at least one name.
func parseImport(in importInput, now time.Time) (*parsed, error) {
	if len(in.Certificate) == 0 {
		return nil, validation("The certificate field must not be empty.")
	}
	if len(in.PrivateKey) == 0 {
		return nil, validation("The private key field must not be empty.")
	}
	certs := pemBlocks(in.Certificate, "CERTIFICATE")
	switch {
	case len(certs) == 0:
		return nil, validation("Unable to parse certificate. Please ensure the certificate is in PEM format.")
	case len(certs) > 1:
		return nil, validation("The certificate field contains more than one certificate. You can specify only one certificate in this field.")
	}
	leaf, err := x509.ParseCertificate(certs[0].Bytes)
	if err != nil {
		return nil, validation("Unable to parse certificate. Please ensure the certificate is in PEM format.")
	}
	var chain []string
	for _, b := range pemBlocks(in.CertificateChain, "CERTIFICATE") {
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return nil, validation("Unable to parse the certificate chain. Please ensure the chain is in PEM format.")
		}
		chain = append(chain, string(pem.EncodeToMemory(b)))
	}
	if len(in.CertificateChain) > 0 && len(chain) == 0 {
		return nil, validation("Unable to parse the certificate chain. Please ensure the chain is in PEM format.")
	}
	certPEM := string(pem.EncodeToMemory(certs[0]))
	if _, err := tls.X509KeyPair([]byte(certPEM), in.PrivateKey); err != nil {
		return nil, validation("The private key does not match the public key in the certificate, or is not a supported PEM private key.")
	}
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return nil, validation("The certificate is not valid at this time: it is valid from %s to %s.",
			leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	names := certNames(leaf)
	if len(names) == 0 {
		return nil, validation("The certificate names no domain: it has no DNS subject alternative name and no common name.")
	}
	return &parsed{leaf: leaf, certPEM: certPEM, chainPEM: strings.Join(chain, ""), keyPEM: string(in.PrivateKey),
		names: names, keyAlg: keyAlgorithm(leaf), signature: signatureAlgorithm(leaf)}, nil
}

func pemBlocks(b []byte, typ string) []*pem.Block {
	var out []*pem.Block
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return out
		}
		if blk.Type == typ {
			out = append(out, blk)
		}
	}
}

// certNames are the certificate's names, the common name first as ACM lists them.
func certNames(c *x509.Certificate) []string {
	var names []string
	if c.Subject.CommonName != "" {
		names = append(names, strings.ToLower(c.Subject.CommonName))
	}
	for _, n := range c.DNSNames {
		if n = strings.ToLower(n); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// keyAlgorithm names the key as ACM does: RSA_2048, EC_prime256v1, ...
func keyAlgorithm(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return "RSA_" + strconv.Itoa(k.N.BitLen())
	case *ecdsa.PublicKey:
		switch k.Curve.Params().BitSize {
		case 256:
			return "EC_prime256v1"
		case 384:
			return "EC_secp384r1"
		case 521:
			return "EC_secp521r1"
		}
	case ed25519.PublicKey:
		return "ED25519"
	}
	return "UNKNOWN"
}

func signatureAlgorithm(c *x509.Certificate) string {
	return strings.ToUpper(strings.ReplaceAll(c.SignatureAlgorithm.String(), "-", "WITH"))
}

func (p *parsed) apply(c *Certificate, now time.Time) {
	c.DomainName, c.SANs = p.names[0], p.names
	c.CertificatePEM, c.ChainPEM, c.KeyPEM = p.certPEM, p.chainPEM, p.keyPEM
	c.Serial = serialHex(p.leaf)
	c.Subject = p.leaf.Subject.String()
	c.Issuer = p.leaf.Issuer.String()
	c.KeyAlgorithm, c.SignatureAlgorithm = p.keyAlg, p.signature
	c.NotBefore, c.NotAfter = p.leaf.NotBefore.UTC(), p.leaf.NotAfter.UTC()
	c.Status, c.FailureReason = StatusIssued, ""
}

func serialHex(c *x509.Certificate) string {
	b := c.SerialNumber.Bytes()
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02x", x)
	}
	return strings.Join(parts, ":")
}

func (s *Service) importCertificate(ctx context.Context, in importInput) (any, error) {
	now := time.Now().UTC()
	p, err := parseImport(in, now)
	if err != nil {
		return nil, err
	}
	arn := in.CertificateArn
	reimport := arn != ""
	if !reimport {
		arn = s.newARN()
	} else if len(in.Tags) > 0 {
		return nil, validation("Tags cannot be specified when reimporting a certificate.")
	}
	key, err := s.key(arn)
	if err != nil {
		return nil, err
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		c, found, err := store.GetRecord[Certificate](tx, key)
		if err != nil {
			return err
		}
		switch {
		case reimport && !found:
			return notFound(arn)
		case reimport && c.Type != TypeImported:
			return validation("Certificate %s was not imported: only imported certificates can be reimported.", arn)
		case !found:
			c = &Certificate{ARN: arn, Type: TypeImported, CreatedAt: now, Tags: tagMap(in.Tags)}
		}
		p.apply(c, now)
		c.ImportedAt = now
		return store.PutRecord(tx, key, c)
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("acm: certificate imported", "arn", arn, "domain", p.names[0], "reimport", reimport)
	return map[string]string{"CertificateArn": arn}, nil
}

func tagMap(tags []tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

// validDomain checks a requested name: DNS labels, optionally a leading "*.".
func validDomain(d string) bool {
	d = strings.TrimPrefix(d, "*.")
	if d == "" || len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return false
		}
		if strings.Trim(strings.ToLower(label), "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return false
		}
	}
	return true
}

func (s *Service) requestCertificate(ctx context.Context, in requestInput) (any, error) {
	domain := strings.ToLower(strings.TrimSuffix(in.DomainName, "."))
	if !validDomain(domain) {
		return nil, validation("1 validation error detected: Value '%s' at 'domainName' failed to satisfy constraint: a fully qualified domain name", in.DomainName)
	}
	names := []string{domain}
	for _, n := range in.SubjectAlternativeNames {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if !validDomain(n) {
			return nil, validation("1 validation error detected: Value '%s' at 'subjectAlternativeNames' failed to satisfy constraint: a fully qualified domain name", n)
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	method := in.ValidationMethod
	switch method {
	case "":
		method = "DNS"
	case "DNS", "HTTP":
	default:
		return nil, validation("Sluice validates requested certificates by ACME (HTTP-01 on its plain listeners, TLS-ALPN-01 on its TLS listeners): ValidationMethod %s is not supported; use DNS or HTTP.", method)
	}
	if s.issuer == nil {
		return nil, validation("Sluice has no ACME directory configured (--acme-directory): requested certificates cannot be issued; import the certificate instead.")
	}
	for _, n := range names {
		if strings.HasPrefix(n, "*.") {
			return nil, validation("Sluice obtains certificates with HTTP-01/TLS-ALPN-01 challenges, which cannot validate the wildcard name %s; import a wildcard certificate instead.", n)
		}
	}
	now := time.Now().UTC()
	c := &Certificate{ARN: s.newARN(), DomainName: domain, SANs: names, Type: TypeIssued, Status: StatusPending,
		ValidationMethod: method, CreatedAt: now, Tags: tagMap(in.Tags), KeyAlgorithm: "EC_prime256v1"}
	key, _ := s.key(c.ARN)
	if err := s.store.Update(ctx, func(tx store.Tx) error { return store.PutRecord(tx, key, c) }); err != nil {
		return nil, err
	}
	s.log.Info("acm: certificate requested", "arn", c.ARN, "names", names)
	s.issue(c.ARN, names)
	return map[string]string{"CertificateArn": c.ARN}, nil
}

func (s *Service) get(ctx context.Context, arn string) (*Certificate, string, error) {
	if arn == "" {
		return nil, "", validation("1 validation error detected: Value null at 'certificateArn' failed to satisfy constraint: Member must not be null")
	}
	key, err := s.key(arn)
	if err != nil {
		return nil, "", err
	}
	c, err := store.RecordOr[Certificate](store.ReaderOf(ctx, s.store), key, notFound(arn))
	return c, key, err
}

// epoch renders a time as JSON 1.1's timestamp, epoch seconds.
func epoch(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return float64(t.UnixMilli()) / 1000
}

func (s *Service) describeCertificate(ctx context.Context, in arnInput) (any, error) {
	c, _, err := s.get(ctx, in.CertificateArn)
	if err != nil {
		return nil, err
	}
	inUse := []string{}
	if s.inUseBy != nil {
		if inUse, err = s.inUseBy(ctx, c.ARN); err != nil {
			return nil, err
		}
	}
	d := map[string]any{
		"CertificateArn":          c.ARN,
		"DomainName":              c.DomainName,
		"SubjectAlternativeNames": c.SANs,
		"Status":                  c.Status,
		"Type":                    c.Type,
		"InUseBy":                 inUse,
		"CreatedAt":               epoch(c.CreatedAt),
		"KeyAlgorithm":            c.KeyAlgorithm,
		"RenewalEligibility":      "INELIGIBLE",
		"Options":                 map[string]string{"CertificateTransparencyLoggingPreference": "ENABLED"},
	}
	if c.Type == TypeIssued {
		d["RenewalEligibility"] = "ELIGIBLE"
		var opts []map[string]string
		for _, n := range c.SANs {
			status := "PENDING_VALIDATION"
			switch c.Status {
			case StatusIssued:
				status = "SUCCESS"
			case StatusFailed:
				status = "FAILED"
			}
			opts = append(opts, map[string]string{"DomainName": n, "ValidationDomain": n,
				"ValidationStatus": status, "ValidationMethod": c.ValidationMethod})
		}
		d["DomainValidationOptions"] = opts
	}
	set := func(k string, v any) {
		if v != nil && v != "" {
			d[k] = v
		}
	}
	set("Serial", c.Serial)
	set("Subject", c.Subject)
	set("Issuer", c.Issuer)
	set("SignatureAlgorithm", c.SignatureAlgorithm)
	set("FailureReason", c.FailureReason)
	set("NotBefore", epoch(c.NotBefore))
	set("NotAfter", epoch(c.NotAfter))
	set("ImportedAt", epoch(c.ImportedAt))
	set("IssuedAt", epoch(c.IssuedAt))
	return map[string]any{"Certificate": d}, nil
}

func (s *Service) listCertificates(ctx context.Context, in listInput) (any, error) {
	recs, err := store.ListRecords[Certificate](store.ReaderOf(ctx, s.store), Prefix)
	if err != nil {
		return nil, err
	}
	// ListCertificates returns RSA_1024 and RSA_2048 certificates unless
	// Includes.keyTypes asks for others (ACM's documented default filter).
	keyTypes := []string{"RSA_1024", "RSA_2048"}
	if in.Includes != nil && len(in.Includes.KeyTypes) > 0 {
		keyTypes = in.Includes.KeyTypes
	}
	slices.SortFunc(recs, func(a, b *Certificate) int { return a.CreatedAt.Compare(b.CreatedAt) })
	start := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(in.NextToken)
		if err != nil || n < 0 || n > len(recs) {
			return nil, errorf("InvalidArgsException", "The NextToken %s is not valid.", in.NextToken)
		}
		start = n
	}
	max := in.MaxItems
	if max <= 0 || max > 1000 {
		max = 1000
	}
	summaries := []map[string]any{}
	next := ""
	for i := start; i < len(recs); i++ {
		c := recs[i]
		if len(in.CertificateStatuses) > 0 && !slices.Contains(in.CertificateStatuses, c.Status) {
			continue
		}
		// A requested certificate has no key until issued; ACM files it under the
		// key algorithm it will have.
		if !slices.Contains(keyTypes, c.KeyAlgorithm) {
			continue
		}
		if len(summaries) == max {
			next = strconv.Itoa(i)
			break
		}
		inUse := false
		if s.inUseBy != nil {
			used, err := s.inUseBy(ctx, c.ARN)
			if err != nil {
				return nil, err
			}
			inUse = len(used) > 0
		}
		sum := map[string]any{"CertificateArn": c.ARN, "DomainName": c.DomainName,
			"SubjectAlternativeNameSummaries": c.SANs, "HasAdditionalSubjectAlternativeNames": false,
			"Status": c.Status, "Type": c.Type, "KeyAlgorithm": c.KeyAlgorithm, "InUse": inUse,
			"CreatedAt": epoch(c.CreatedAt)}
		for k, v := range map[string]time.Time{"NotBefore": c.NotBefore, "NotAfter": c.NotAfter, "ImportedAt": c.ImportedAt, "IssuedAt": c.IssuedAt} {
			if !v.IsZero() {
				sum[k] = epoch(v)
			}
		}
		summaries = append(summaries, sum)
	}
	out := map[string]any{"CertificateSummaryList": summaries}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func (s *Service) getCertificate(ctx context.Context, in arnInput) (any, error) {
	c, _, err := s.get(ctx, in.CertificateArn)
	if err != nil {
		return nil, err
	}
	if c.Status != StatusIssued {
		return nil, errorf("RequestInProgressException", "Certificate %s is not yet issued (status %s).", c.ARN, c.Status)
	}
	out := map[string]string{"Certificate": c.CertificatePEM}
	if c.ChainPEM != "" {
		out["CertificateChain"] = c.ChainPEM
	}
	return out, nil
}

func (s *Service) deleteCertificate(ctx context.Context, in arnInput) error {
	c, key, err := s.get(ctx, in.CertificateArn)
	if err != nil {
		return err
	}
	if s.inUseBy != nil {
		used, err := s.inUseBy(ctx, c.ARN)
		if err != nil {
			return err
		}
		if len(used) > 0 {
			return errorf("ResourceInUseException", "Certificate %s in use.", c.ARN)
		}
	}
	return s.store.Update(ctx, func(tx store.Tx) error { return tx.Delete(key) })
}

func (s *Service) updateTags(ctx context.Context, arn string, f func(map[string]string)) error {
	_, key, err := s.get(ctx, arn)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx store.Tx) error {
		c, err := store.RecordOr[Certificate](tx, key, notFound(arn))
		if err != nil {
			return err
		}
		if c.Tags == nil {
			c.Tags = map[string]string{}
		}
		f(c.Tags)
		if len(c.Tags) > 50 {
			return errorf("TooManyTagsException", "the certificate %s would have more than 50 tags", arn)
		}
		return store.PutRecord(tx, key, c)
	})
}

func (s *Service) addTags(ctx context.Context, in tagsInput) error {
	if len(in.Tags) == 0 {
		return validation("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null")
	}
	return s.updateTags(ctx, in.CertificateArn, func(m map[string]string) {
		for _, t := range in.Tags {
			m[t.Key] = t.Value
		}
	})
}

func (s *Service) removeTags(ctx context.Context, in tagsInput) error {
	return s.updateTags(ctx, in.CertificateArn, func(m map[string]string) {
		for _, t := range in.Tags {
			// A tag with a value is removed only when the value matches, as ACM does.
			if v, ok := m[t.Key]; ok && (t.Value == "" || t.Value == v) {
				delete(m, t.Key)
			}
		}
	})
}

func (s *Service) listTags(ctx context.Context, in arnInput) (any, error) {
	c, _, err := s.get(ctx, in.CertificateArn)
	if err != nil {
		return nil, err
	}
	tags := []tag{}
	for _, k := range slices.Sorted(maps.Keys(c.Tags)) {
		tags = append(tags, tag{k, c.Tags[k]})
	}
	return map[string]any{"Tags": tags}, nil
}

// CheckForDomain reports whether certificate arn can serve domain: it exists, is
// ISSUED, and one of its names is domain or a wildcard covering it. API Gateway
// refuses a custom domain whose certificate fails any of these.
func (s *Service) CheckForDomain(ctx context.Context, arn, domain string) error {
	c, _, err := s.get(ctx, arn)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return fmt.Errorf("Invalid certificate ARN: %s. Certificate not found.", arn)
		}
		return err
	}
	if c.Status != StatusIssued {
		return fmt.Errorf("Certificate %s is not ISSUED (status %s): it cannot be used for a domain name yet.", arn, c.Status)
	}
	if !Covers(c.SANs, domain) {
		return fmt.Errorf("The certificate %s does not cover the domain name %s (it names %s).", arn, domain, strings.Join(c.SANs, ", "))
	}
	return nil
}

// Covers reports whether one of names is domain, or a "*.parent" wildcard whose
// parent is domain's parent (wildcards cover one label).
func Covers(names []string, domain string) bool {
	domain = strings.ToLower(domain)
	for _, n := range names {
		n = strings.ToLower(n)
		if n == domain {
			return true
		}
		if parent, ok := strings.CutPrefix(n, "*."); ok {
			if _, rest, ok := strings.Cut(domain, "."); ok && rest == parent && !strings.HasPrefix(domain, "*.") {
				return true
			}
		}
	}
	return false
}

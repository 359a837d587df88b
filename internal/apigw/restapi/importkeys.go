package restapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// ImportApiKeys: POST /apikeys?mode=import&format=csv[&failonwarnings=true] with
// the key file as the body. The file format is AWS's ("API Gateway API key file
// format"): a header row naming the columns in any order and any case, Name and Key
// required, Description, Enabled and UsagePlanIds optional, other columns ignored;
// Enabled defaults to true; several usage plan ids are one comma-separated value
// enclosed in double or single quotes. A key whose value already exists overwrites
// that key ("The same API key can be imported multiple times, with the most recent
// version overwriting the previous one").

// importedKey is one row of a key file, validated.
type importedKey struct {
	line        int
	name, value string
	description string
	enabled     bool
	plans       []string
}

// apiKeyIDs is ImportApiKeys' answer (AWS ApiKeyIds).
type apiKeyIDs struct {
	IDs      []string `json:"ids"`
	Warnings []string `json:"warnings"`
}

func (s *Service) importAPIKeys(ctx context.Context, req *request) (int, any, error) {
	format := req.query.Get("format")
	if format == "" {
		return 0, nil, badRequest("Format must be specified. Currently only csv is supported")
	}
	if !strings.EqualFold(format, "csv") {
		return 0, nil, badRequest("Invalid format %s. Currently only csv is supported", format)
	}
	failOnWarnings := parseBool(req.query.Get("failonwarnings"))
	rows, warnings, err := parseKeyFile(req.body)
	if err != nil {
		return 0, nil, err
	}
	// Unknown usage plans are warnings too; checked before anything is written so
	// that failonwarnings=true imports nothing.
	rd := s.reader(ctx)
	for i := range rows {
		r := &rows[i]
		kept := r.plans[:0]
		for _, p := range r.plans {
			if _, err := loadUsagePlan(rd, p); err != nil {
				warnings = append(warnings, fmt.Sprintf("Line %d: Invalid usage plan id %s", r.line, p))
				continue
			}
			kept = append(kept, p)
		}
		r.plans = kept
	}
	if failOnWarnings && len(warnings) > 0 {
		return 0, nil, badRequest("API Key import failed with warnings: %s", strings.Join(warnings, "; "))
	}
	out := apiKeyIDs{IDs: []string{}, Warnings: warnings}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	// One transaction per batch of rows, each under the store's write limit (a row
	// writes its key and one record per plan).
	for len(rows) > 0 {
		n, writes := 0, 0
		for n < len(rows) && writes+1+len(rows[n].plans) <= model.MaxWritesPerUpdate {
			writes += 1 + len(rows[n].plans)
			n++
		}
		if n == 0 {
			return 0, nil, badRequest("Line %d: too many usage plan ids", rows[0].line)
		}
		batch := rows[:n]
		rows = rows[n:]
		var ids []string
		err := s.store.Update(ctx, func(tx store.Tx) error {
			ids = ids[:0]
			return s.writeImportedKeys(tx, batch, &ids)
		})
		if err != nil {
			return 0, nil, internalErr("import API keys", err)
		}
		out.IDs = append(out.IDs, ids...)
	}
	return http.StatusCreated, out, nil
}

func (s *Service) writeImportedKeys(tx store.Tx, rows []importedKey, ids *[]string) error {
	existing, err := store.ListRecords[model.APIKey](tx, model.APIKeyPrefix)
	if err != nil {
		return err
	}
	byValue := make(map[string]*model.APIKey, len(existing))
	for _, k := range existing {
		byValue[k.Value] = k
	}
	now := model.EpochTime(time.Now())
	for _, r := range rows {
		k := byValue[r.value]
		if k == nil {
			k = &model.APIKey{ID: awsproto.NewID(10), Value: r.value, CreatedDate: now, StageKeys: []string{}}
			byValue[r.value] = k
		}
		k.Name, k.Description, k.Enabled, k.LastUpdatedDate = r.name, r.description, r.enabled, now
		if err := store.PutRecord(tx, apiKeyKey(k.ID), k); err != nil {
			return err
		}
		for _, p := range r.plans {
			if err := store.PutRecord(tx, usagePlanKeyKey(p, k.ID), &model.UsagePlanKey{ID: k.ID, Type: "API_KEY"}); err != nil {
				return err
			}
		}
		if !slices.Contains(*ids, k.ID) {
			*ids = append(*ids, k.ID)
		}
	}
	return nil
}

// parseKeyFile reads a key file. A file without the Name and Key columns is
// refused; a row that breaks a constraint (key 20 to 128 characters, name at most
// 1024) is skipped with a warning.
func parseKeyFile(body []byte) ([]importedKey, []string, error) {
	lines := strings.Split(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n")
	header := -1
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			header = i
			break
		}
	}
	if header < 0 {
		return nil, nil, badRequest("Invalid API key file: the file is empty")
	}
	cols := map[string]int{}
	for i, c := range splitKeyFileLine(lines[header]) {
		cols[strings.ToLower(strings.TrimSpace(c))] = i
	}
	nameCol, hasName := cols["name"]
	keyCol, hasKey := cols["key"]
	if !hasName || !hasKey {
		return nil, nil, badRequest("Invalid API key file: the header must contain the Name and Key columns")
	}
	field := func(f []string, col string) (string, bool) {
		i, ok := cols[col]
		if !ok || i >= len(f) {
			return "", false
		}
		return strings.TrimSpace(f[i]), true
	}
	var rows []importedKey
	var warnings []string
	for i := header + 1; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) == "" {
			continue
		}
		line := i + 1
		f := splitKeyFileLine(lines[i])
		r := importedKey{line: line, enabled: true}
		if nameCol < len(f) {
			r.name = strings.TrimSpace(f[nameCol])
		}
		if keyCol < len(f) {
			r.value = strings.TrimSpace(f[keyCol])
		}
		r.description, _ = field(f, "description")
		if v, ok := field(f, "enabled"); ok && v != "" {
			r.enabled = strings.EqualFold(v, "true")
		}
		if v, ok := field(f, "usageplanids"); ok {
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" && !slices.Contains(r.plans, p) {
					r.plans = append(r.plans, p)
				}
			}
		}
		switch {
		case len(r.value) < 20 || len(r.value) > 128:
			warnings = append(warnings, fmt.Sprintf("Line %d: API Key value must be between 20 and 128 characters", line))
		case r.name == "":
			warnings = append(warnings, fmt.Sprintf("Line %d: API Key name must be specified", line))
		case len(r.name) > 1024:
			warnings = append(warnings, fmt.Sprintf("Line %d: API Key name cannot exceed 1024 characters", line))
		default:
			rows = append(rows, r)
		}
	}
	return rows, warnings, nil
}

// splitKeyFileLine splits one CSV line. A value may be enclosed in double or single
// quotes (AWS accepts both around a list of usage plan ids); a doubled quote inside
// a quoted value is one quote.
func splitKeyFileLine(line string) []string {
	var out []string
	var b strings.Builder
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0 && c == quote:
			if i+1 < len(line) && line[i+1] == quote {
				b.WriteByte(c)
				i++
				continue
			}
			quote = 0
		case quote != 0:
			b.WriteByte(c)
		case (c == '"' || c == '\'') && strings.TrimSpace(b.String()) == "":
			b.Reset()
			quote = c
		case c == ',':
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return append(out, b.String())
}

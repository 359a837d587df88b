package restapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/openapi"
	"github.com/sluice-dev/sluice/internal/store"
)

// rawBody is a response written as it is (GetExport's document).
type rawBody struct {
	contentType, disposition string
	body                     []byte
}

func (b rawBody) write(w http.ResponseWriter, status int) {
	h := w.Header()
	h.Set("Content-Type", b.contentType)
	h.Set("Content-Disposition", b.disposition)
	h.Set("Content-Length", strconv.Itoa(len(b.body)))
	w.WriteHeader(status)
	_, _ = w.Write(b.body)
}

// getExport is GetExport: the definition a stage serves (its deployment's
// snapshot), as exportType oas30 or swagger, in JSON or YAML by the Accept header
// (application/json, the default, or application/yaml), with the extensions the
// `extensions` parameter lists (integrations, authorizers, apigateway; postman is
// not supported).
func (s *Service) getExport(ctx context.Context, req *request) (int, any, error) {
	api, stageName, exportType := req.params["restApiId"], req.params["stageName"], req.params["exportType"]
	if exportType != "oas30" && exportType != "swagger" {
		return 0, nil, badRequest("Invalid export type specified: %s. Valid export types are: swagger, oas30", exportType)
	}
	opts := openapi.ExportOptions{Swagger: exportType == "swagger", Stage: stageName,
		Host: api + ".execute-api." + s.region + ".amazonaws.com"}
	for _, e := range strings.Split(req.query.Get("extensions"), ",") {
		switch strings.TrimSpace(e) {
		case "":
		case "integrations":
			opts.Integrations = true
		case "authorizers":
			opts.Authorizers = true
		case "apigateway":
			opts.APIGateway = true
		case "postman":
			return 0, nil, badRequest("Sluice does not export Postman extensions; use extensions=integrations, authorizers or apigateway")
		default:
			return 0, nil, badRequest("Invalid extensions specified: %s", e)
		}
	}
	rd := s.reader(ctx)
	if _, err := s.loadAPI(rd, api); err != nil {
		return 0, nil, err
	}
	st, err := s.loadStage(rd, api, stageName)
	if err != nil {
		return 0, nil, err
	}
	snap, ok, err := store.GetRecord[model.RestSnapshot](rd, snapshotKey(api, st.DeploymentID))
	if err != nil {
		return 0, nil, internalErr("get export", err)
	}
	if !ok {
		return 0, nil, errDeploymentNotFound
	}
	if dep, err := s.loadDeployment(rd, api, st.DeploymentID); err == nil {
		opts.DeployedAt = time.Time(dep.CreatedDate)
	}
	doc := openapi.ExportRest(snap, opts)
	accept := req.http.Header.Get("Accept")
	name := exportType + "_" + stageName
	if strings.Contains(accept, "yaml") {
		b, err := yaml.Marshal(doc)
		if err != nil {
			return 0, nil, internalErr("get export", err)
		}
		return http.StatusOK, rawBody{"application/yaml", `attachment; filename="` + name + `.yaml"`, b}, nil
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return 0, nil, internalErr("get export", err)
	}
	return http.StatusOK, rawBody{"application/json", `attachment; filename="` + name + `.json"`, b}, nil
}

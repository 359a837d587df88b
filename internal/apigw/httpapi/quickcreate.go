package httpapi

import (
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

// quickCreate is what CreateApi's target/routeKey ask for. AWS's quick create
// makes, all marked apiGatewayManaged: an integration (AWS_PROXY with payload 2.0
// for a Lambda function, HTTP_PROXY for a URL), one route (default "$default")
// targeting it, and a "$default" stage with autoDeploy, deployed at once.
type quickCreate struct {
	integration model.Integration2
	routeKey    string
}

func parseQuickCreate(target string, routeKey, credentialsArn *string) (*quickCreate, error) {
	integ, err := quickIntegration(target)
	if err != nil {
		return nil, err
	}
	if credentialsArn != nil {
		integ.CredentialsArn = *credentialsArn
	}
	q := &quickCreate{integration: integ, routeKey: "$default"}
	if routeKey != nil {
		if err := validateRouteKey(*routeKey); err != nil {
			return nil, err
		}
		q.routeKey = *routeKey
	}
	return q, nil
}

// quickIntegration is the managed integration for a quick-create target.
func quickIntegration(target string) (model.Integration2, error) {
	integ := model.Integration2{
		APIGatewayManaged: true,
		ConnectionType:    "INTERNET",
		IntegrationURI:    target,
		TimeoutInMillis:   defaultTimeoutMillis,
	}
	switch {
	case isLambdaURI(target):
		integ.IntegrationType = "AWS_PROXY"
		integ.IntegrationMethod = "POST"
		integ.PayloadFormatVersion = "2.0"
	case isHTTPURL(target):
		integ.IntegrationType = "HTTP_PROXY"
		integ.IntegrationMethod = "ANY"
		integ.PayloadFormatVersion = "1.0"
	default:
		return integ, badRequest("Invalid target specified: %s. Target must be a Lambda function ARN or an HTTP(S) URL", target)
	}
	return integ, nil
}

func (s *Service) applyQuickCreate(tx store.Tx, api *model.HTTPAPI, q *quickCreate, now time.Time) error {
	integ := q.integration
	id, err := newID(tx, apiChild(model.HTTPIntegrationPrefix, api.APIID), 7)
	if err != nil {
		return err
	}
	integ.IntegrationID = id
	if err := store.PutRecord(tx, model.Key(model.HTTPIntegrationPrefix, api.APIID, id), &integ); err != nil {
		return err
	}
	routeID, err := newID(tx, apiChild(model.HTTPRoutePrefix, api.APIID), 7)
	if err != nil {
		return err
	}
	route := &model.Route{
		APIGatewayManaged: true,
		AuthorizationType: "NONE",
		RouteID:           routeID,
		RouteKey:          q.routeKey,
		Target:            "integrations/" + id,
	}
	if err := putRoute(tx, api.APIID, "", route); err != nil {
		return err
	}
	stage := newStage(defaultStageName, now)
	stage.APIGatewayManaged = true
	stage.AutoDeploy = true
	return s.deployToStage(tx, api.APIID, stage, now, true, "")
}

// updateQuickCreate applies UpdateApi's target/routeKey/credentialsArn to the
// resources quick create made. AWS: the target "updates the integration URI and
// integration type"; the route key "replaces the route key of the quick create
// route". An API made without quick create has no such resources.
func (s *Service) updateQuickCreate(tx store.Tx, api *model.HTTPAPI, in *apiInput) error {
	integs, err := store.ListRecords[model.Integration2](tx, apiChild(model.HTTPIntegrationPrefix, api.APIID))
	if err != nil {
		return err
	}
	var managed *model.Integration2
	for _, it := range integs {
		if it.APIGatewayManaged {
			managed = it
			break
		}
	}
	if managed == nil {
		return badRequest("Target, RouteKey and CredentialsArn can be updated only on APIs created with quick create")
	}
	if in.Target != nil {
		next, err := quickIntegration(*in.Target)
		if err != nil {
			return err
		}
		managed.IntegrationType = next.IntegrationType
		managed.IntegrationURI = next.IntegrationURI
		managed.IntegrationMethod = next.IntegrationMethod
		managed.PayloadFormatVersion = next.PayloadFormatVersion
	}
	if in.CredentialsArn != nil {
		managed.CredentialsArn = *in.CredentialsArn
	}
	if err := store.PutRecord(tx, model.Key(model.HTTPIntegrationPrefix, api.APIID, managed.IntegrationID), managed); err != nil {
		return err
	}
	if in.RouteKey == nil {
		return nil
	}
	if err := validateRouteKey(*in.RouteKey); err != nil {
		return err
	}
	routes, err := store.ListRecords[model.Route](tx, apiChild(model.HTTPRoutePrefix, api.APIID))
	if err != nil {
		return err
	}
	var route *model.Route
	for _, r := range routes {
		if r.APIGatewayManaged && r.Target == "integrations/"+managed.IntegrationID {
			route = r
		}
	}
	if route == nil {
		return badRequest("The quick create route of this API no longer exists")
	}
	for _, r := range routes {
		if r.RouteID != route.RouteID && r.RouteKey == *in.RouteKey {
			return errDuplicateRouteKey(*in.RouteKey)
		}
	}
	oldKey := route.RouteKey
	route.RouteKey = *in.RouteKey
	return putRoute(tx, api.APIID, oldKey, route)
}

func isLambdaURI(s string) bool {
	return strings.HasPrefix(s, "arn:aws:lambda:") || strings.HasPrefix(s, "arn:aws:apigateway:") && strings.Contains(s, ":lambda:path/")
}

func isHTTPURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

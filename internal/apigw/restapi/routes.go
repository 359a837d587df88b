package restapi

import (
	"net/url"
	"strings"
)

// operation is one apigateway (v1) operation as aws-sdk-go-v2's serializers address
// it (service/apigateway@v1.40.2 serializers.go): verb, path template, name.
type operation struct{ method, path, name string }

// operations is every apigateway operation. Those with a handler in handlers() are
// served; the rest answer 501 NotImplementedException naming the operation.
var operations = []operation{
	{"POST", "/apikeys", "CreateApiKey"},
	{"POST", "/restapis/{restApiId}/authorizers", "CreateAuthorizer"},
	{"POST", "/domainnames/{domainName}/basepathmappings", "CreateBasePathMapping"},
	{"POST", "/restapis/{restApiId}/deployments", "CreateDeployment"},
	{"POST", "/restapis/{restApiId}/documentation/parts", "CreateDocumentationPart"},
	{"POST", "/restapis/{restApiId}/documentation/versions", "CreateDocumentationVersion"},
	{"POST", "/domainnames", "CreateDomainName"},
	{"POST", "/domainnameaccessassociations", "CreateDomainNameAccessAssociation"},
	{"POST", "/restapis/{restApiId}/models", "CreateModel"},
	{"POST", "/restapis/{restApiId}/requestvalidators", "CreateRequestValidator"},
	{"POST", "/restapis/{restApiId}/resources/{parentId}", "CreateResource"},
	{"POST", "/restapis", "CreateRestApi"},
	{"POST", "/restapis/{restApiId}/stages", "CreateStage"},
	{"POST", "/usageplans", "CreateUsagePlan"},
	{"POST", "/usageplans/{usagePlanId}/keys", "CreateUsagePlanKey"},
	{"POST", "/vpclinks", "CreateVpcLink"},
	{"DELETE", "/apikeys/{apiKey}", "DeleteApiKey"},
	{"DELETE", "/restapis/{restApiId}/authorizers/{authorizerId}", "DeleteAuthorizer"},
	{"DELETE", "/domainnames/{domainName}/basepathmappings/{basePath}", "DeleteBasePathMapping"},
	{"DELETE", "/clientcertificates/{clientCertificateId}", "DeleteClientCertificate"},
	{"DELETE", "/restapis/{restApiId}/deployments/{deploymentId}", "DeleteDeployment"},
	{"DELETE", "/restapis/{restApiId}/documentation/parts/{documentationPartId}", "DeleteDocumentationPart"},
	{"DELETE", "/restapis/{restApiId}/documentation/versions/{documentationVersion}", "DeleteDocumentationVersion"},
	{"DELETE", "/domainnames/{domainName}", "DeleteDomainName"},
	{"DELETE", "/domainnameaccessassociations/{domainNameAccessAssociationArn}", "DeleteDomainNameAccessAssociation"},
	{"DELETE", "/restapis/{restApiId}/gatewayresponses/{responseType}", "DeleteGatewayResponse"},
	{"DELETE", "/restapis/{restApiId}/resources/{resourceId}/methods/{httpMethod}/integration", "DeleteIntegration"},
	{"DELETE", "/restapis/{restApiId}/resources/{resourceId}/methods/{httpMethod}/integration/responses/{statusCode}", "DeleteIntegrationResponse"},
	{"DELETE", "/restapis/{restApiId}/resources/{resourceId}/methods/{httpMethod}", "DeleteMethod"},
	{"DELETE", "/restapis/{restApiId}/resources/{resourceId}/methods/{httpMethod}/responses/{statusCode}", "DeleteMethodResponse"},
	{"DELETE", "/restapis/{restApiId}/models/{modelName}", "DeleteModel"},
	{"DELETE", "/restapis/{restApiId}/requestvalidators/{requestValidatorId}", "DeleteRequestValidator"},
	{"DELETE", "/restapis/{restApiId}/resources/{resourceId}", "DeleteResource"},
	{"DELETE", "/restapis/{restApiId}", "DeleteRestApi"},
	{"DELETE", "/restapis/{restApiId}/stages/{stageName}", "DeleteStage"},
	{"DELETE", "/usageplans/{usagePlanId}", "DeleteUsagePlan"},
	{"DELETE", "/usageplans/{usagePlanId}/keys/{keyId}", "DeleteUsagePlanKey"},
	{"DELETE", "/vpclinks/{vpcLinkId}", "DeleteVpcLink"},
	{"DELETE", "/restapis/{restApiId}/stages/{stageName}/cache/authorizers", "FlushStageAuthorizersCache"},
	{"DELETE", "/restapis/{restApiId}/stages/{stageName}/cache/data", "FlushStageCache"},
	{"POST", "/clientcertificates", "GenerateClientCertificate"},
	{"GET", "/account", "GetAccount"},
	{"GET", "/apikeys/{apiKey}", "GetApiKey"},
	{"GET", "/apikeys", "GetApiKeys"},
	{"GET", "/restapis/{restApiId}/authorizers/{authorizerId}", "GetAuthorizer"},
	{"GET", "/restapis/{restApiId}/authorizers", "GetAuthorizers"},
	{"GET", "/domainnames/{domainName}/basepathmappings/{basePath}", "GetBasePathMapping"},
	{"GET", "/domainnames/{domainName}/basepathmappings", "GetBasePathMappings"},
	{"GET", "/clientcertificates/{clientCertificateId}", "GetClientCertificate"},
	{"GET", "/clientcertificates", "GetClientCertificates"},
	{"GET", "/restapis/{restApiId}/deployments/{deploymentId}", "GetDeployment"},
	{"GET", "/restapis/{restApiId}/deployments", "GetDeployments"},
	{"GET", "/restapis/{restApiId}/documentation/parts/{documentationPartId}", "GetDocumentationPart"},
	{"GET", "/restapis/{restApiId}/documentation/parts", "GetDocumentationParts"},
	{"GET", "/restapis/{restApiId}/documentation/versions/{documentationVersion}", "GetDocumentationVersion"},
	{"GET", "/restapis/{restApiId}/documentation/versions", "GetDocumentationVersions"},
	{"GET", "/domainnames/{domainName}", "GetDomainName"},
	{"GET", "/domainnameaccessassociations", "GetDomainNameAccessAssociations"},
	{"GET", "/domainnames", "GetDomainNames"},
	{"GET", "/restapis/{restApiId}/stages/{stageName}/exports/{exportType}", "GetExport"},
	{"GET", "/restapis/{restApiId}/gatewayresponses/{responseType}", "GetGatewayResponse"},
	{"GET", "/restapis/{restApiId}/gatewayresponses", "GetGatewayResponses"},
	{"GET", "/restapis/{restApiId}/resources/{resourceId}/methods/{httpMethod}/integration", "GetIntegration"},
	{"GET", "/restapis/{restApiId}/resources/{resourceId}/methods/{httpMethod}/integration/responses/{statusCode}", "GetIntegrationResponse"},
	{"GET", "/restapis/{restApiId}/resources/{resourceId}/methods/{httpMethod}", "GetMethod"},
	{"GET", "/restapis/{restApiId}/resources/{resourceId}/methods/{httpMethod}/responses/{statusCode}", "GetMethodResponse"},
	{"GET", "/restapis/{restApiId}/models/{modelName}", "GetModel"},
	{"GET", "/restapis/{restApiId}/models", "GetModels"},
	{"GET", "/restapis/{restApiId}/models/{modelName}/default_template", "GetModelTemplate"},
	{"GET", "/restapis/{restApiId}/requestvalidators/{requestValidatorId}", "GetRequestValidator"},
	{"GET", "/restapis/{restApiId}/requestvalidators", "GetRequestValidators"},
	{"GET", "/restapis/{restApiId}/resources/{resourceId}", "GetResource"},
	{"GET", "/restapis/{restApiId}/resources", "GetResources"},
	{"GET", "/restapis/{restApiId}", "GetRestApi"},
	{"GET", "/restapis", "GetRestApis"},
	{"GET", "/restapis/{restApiId}/stages/{stageName}/sdks/{sdkType}", "GetSdk"},
	{"GET", "/sdktypes/{id}", "GetSdkType"},
	{"GET", "/sdktypes", "GetSdkTypes"},
	{"GET", "/restapis/{restApiId}/stages/{stageName}", "GetStage"},
	{"GET", "/restapis/{restApiId}/stages", "GetStages"},
	{"GET", "/tags/{resourceArn}", "GetTags"},
	{"GET", "/usageplans/{usagePlanId}/usage", "GetUsage"},
	{"GET", "/usageplans/{usagePlanId}", "GetUsagePlan"},
	{"GET", "/usageplans/{usagePlanId}/keys/{keyId}", "GetUsagePlanKey"},
	{"GET", "/usageplans/{usagePlanId}/keys", "GetUsagePlanKeys"},
	{"GET", "/usageplans", "GetUsagePlans"},
	{"GET", "/vpclinks/{vpcLinkId}", "GetVpcLink"},
	{"GET", "/vpclinks", "GetVpcLinks"},
	{"POST", "/apikeys?mode=import", "ImportApiKeys"},
	{"PUT", "/restapis/{restApiId}/documentation/parts", "ImportDocumentationParts"},
	{"POST", "/restapis?mode=import", "ImportRestApi"},
	{"PUT", "/restapis/{restApiId}/gatewayresponses/{responseType}", "PutGatewayResponse"},
	{"PUT", "/restapis/{restApiId}/resources/{resourceId}/methods/{httpMethod}/integration", "PutIntegration"},
	{"PUT", "/restapis/{restApiId}/resources/{resourceId}/methods/{httpMethod}/integration/responses/{statusCode}", "PutIntegrationResponse"},
	{"PUT", "/restapis/{restApiId}/resources/{resourceId}/methods/{httpMethod}", "PutMethod"},
	{"PUT", "/restapis/{restApiId}/resources/{resourceId}/methods/{httpMethod}/responses/{statusCode}", "PutMethodResponse"},
	{"PUT", "/restapis/{restApiId}", "PutRestApi"},
	{"POST", "/rejectdomainnameaccessassociations", "RejectDomainNameAccessAssociation"},
	{"PUT", "/tags/{resourceArn}", "TagResource"},
	{"POST", "/restapis/{restApiId}/authorizers/{authorizerId}", "TestInvokeAuthorizer"},
	{"POST", "/restapis/{restApiId}/resources/{resourceId}/methods/{httpMethod}", "TestInvokeMethod"},
	{"DELETE", "/tags/{resourceArn}", "UntagResource"},
	{"PATCH", "/account", "UpdateAccount"},
	{"PATCH", "/apikeys/{apiKey}", "UpdateApiKey"},
	{"PATCH", "/restapis/{restApiId}/authorizers/{authorizerId}", "UpdateAuthorizer"},
	{"PATCH", "/domainnames/{domainName}/basepathmappings/{basePath}", "UpdateBasePathMapping"},
	{"PATCH", "/clientcertificates/{clientCertificateId}", "UpdateClientCertificate"},
	{"PATCH", "/restapis/{restApiId}/deployments/{deploymentId}", "UpdateDeployment"},
	{"PATCH", "/restapis/{restApiId}/documentation/parts/{documentationPartId}", "UpdateDocumentationPart"},
	{"PATCH", "/restapis/{restApiId}/documentation/versions/{documentationVersion}", "UpdateDocumentationVersion"},
	{"PATCH", "/domainnames/{domainName}", "UpdateDomainName"},
	{"PATCH", "/restapis/{restApiId}/gatewayresponses/{responseType}", "UpdateGatewayResponse"},
	{"PATCH", "/restapis/{restApiId}/resources/{resourceId}/methods/{httpMethod}/integration", "UpdateIntegration"},
	{"PATCH", "/restapis/{restApiId}/resources/{resourceId}/methods/{httpMethod}/integration/responses/{statusCode}", "UpdateIntegrationResponse"},
	{"PATCH", "/restapis/{restApiId}/resources/{resourceId}/methods/{httpMethod}", "UpdateMethod"},
	{"PATCH", "/restapis/{restApiId}/resources/{resourceId}/methods/{httpMethod}/responses/{statusCode}", "UpdateMethodResponse"},
	{"PATCH", "/restapis/{restApiId}/models/{modelName}", "UpdateModel"},
	{"PATCH", "/restapis/{restApiId}/requestvalidators/{requestValidatorId}", "UpdateRequestValidator"},
	{"PATCH", "/restapis/{restApiId}/resources/{resourceId}", "UpdateResource"},
	{"PATCH", "/restapis/{restApiId}", "UpdateRestApi"},
	{"PATCH", "/restapis/{restApiId}/stages/{stageName}", "UpdateStage"},
	{"PATCH", "/usageplans/{usagePlanId}/keys/{keyId}/usage", "UpdateUsage"},
	{"PATCH", "/usageplans/{usagePlanId}", "UpdateUsagePlan"},
	{"PATCH", "/vpclinks/{vpcLinkId}", "UpdateVpcLink"},
}

// route is an operation compiled for matching.
type route struct {
	method  string
	segs    []string // literal segment, or "{label}"
	query   string   // required "k=v" query (ImportRestApi's mode=import), or ""
	op      string
	handler handlerFunc
}

func (s *Service) buildRoutes() []route {
	hs := s.handlers()
	routes := make([]route, 0, len(operations))
	for _, o := range operations {
		p, q, _ := strings.Cut(o.path, "?")
		segs, _ := splitPath(p)
		routes = append(routes, route{method: o.method, segs: segs, query: q, op: o.name, handler: hs[o.name]})
	}
	return routes
}

// match finds the route for a request. pathMatched reports whether some route
// matched the path with another verb.
func (s *Service) match(method string, segs []string, query url.Values) (rt *route, params map[string]string, pathMatched bool) {
	var fallback *route
	var fallbackParams map[string]string
	for i := range s.routes {
		r := &s.routes[i]
		p, ok := matchSegs(r.segs, segs)
		if !ok {
			continue
		}
		pathMatched = true
		if r.method != method {
			continue
		}
		if r.query != "" {
			k, v, _ := strings.Cut(r.query, "=")
			if query.Get(k) != v {
				continue
			}
			return r, p, true
		}
		if fallback == nil {
			fallback, fallbackParams = r, p
		}
	}
	return fallback, fallbackParams, pathMatched
}

func matchSegs(pattern, segs []string) (map[string]string, bool) {
	if len(pattern) != len(segs) {
		return nil, false
	}
	var params map[string]string
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if segs[i] == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[p[1:len(p)-1]] = segs[i]
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return params, true
}

// handlers names the operations Sluice serves.
func (s *Service) handlers() map[string]handlerFunc {
	return map[string]handlerFunc{
		"CreateRestApi": s.createRestAPI,
		"GetRestApi":    s.getRestAPI,
		"GetRestApis":   s.getRestAPIs,
		"UpdateRestApi": s.updateRestAPI,
		"DeleteRestApi": s.deleteRestAPI,
		"ImportRestApi": s.importRestAPI,
		"PutRestApi":    s.putRestAPI,
		"GetExport":     s.getExport,

		"CreateResource": s.createResource,
		"GetResource":    s.getResource,
		"GetResources":   s.getResources,
		"UpdateResource": s.updateResource,
		"DeleteResource": s.deleteResource,

		"PutMethod":    s.putMethod,
		"GetMethod":    s.getMethod,
		"UpdateMethod": s.updateMethod,
		"DeleteMethod": s.deleteMethod,

		"PutIntegration":    s.putIntegration,
		"GetIntegration":    s.getIntegration,
		"UpdateIntegration": s.updateIntegration,
		"DeleteIntegration": s.deleteIntegration,

		"CreateDeployment": s.createDeployment,
		"GetDeployment":    s.getDeployment,
		"GetDeployments":   s.getDeployments,
		"UpdateDeployment": s.updateDeployment,
		"DeleteDeployment": s.deleteDeployment,

		"CreateStage": s.createStage,
		"GetStage":    s.getStage,
		"GetStages":   s.getStages,
		"UpdateStage": s.updateStage,
		"DeleteStage": s.deleteStage,

		"PutMethodResponse":    s.putMethodResponse,
		"GetMethodResponse":    s.getMethodResponse,
		"UpdateMethodResponse": s.updateMethodResponse,
		"DeleteMethodResponse": s.deleteMethodResponse,

		"PutIntegrationResponse":    s.putIntegrationResponse,
		"GetIntegrationResponse":    s.getIntegrationResponse,
		"UpdateIntegrationResponse": s.updateIntegrationResponse,
		"DeleteIntegrationResponse": s.deleteIntegrationResponse,

		"PutGatewayResponse":    s.putGatewayResponse,
		"GetGatewayResponse":    s.getGatewayResponse,
		"GetGatewayResponses":   s.getGatewayResponses,
		"UpdateGatewayResponse": s.updateGatewayResponse,
		"DeleteGatewayResponse": s.deleteGatewayResponse,

		"CreateRequestValidator": s.createRequestValidator,
		"GetRequestValidator":    s.getRequestValidator,
		"GetRequestValidators":   s.getRequestValidators,
		"UpdateRequestValidator": s.updateRequestValidator,
		"DeleteRequestValidator": s.deleteRequestValidator,

		"CreateModel": s.createModel,
		"GetModel":    s.getModel,
		"GetModels":   s.getModels,
		"UpdateModel": s.updateModel,
		"DeleteModel": s.deleteModel,

		"CreateDomainName": s.createDomainName,
		"GetDomainName":    s.getDomainName,
		"GetDomainNames":   s.getDomainNames,
		"UpdateDomainName": s.updateDomainName,
		"DeleteDomainName": s.deleteDomainName,

		"CreateBasePathMapping": s.createBasePathMapping,
		"GetBasePathMapping":    s.getBasePathMapping,
		"GetBasePathMappings":   s.getBasePathMappings,
		"UpdateBasePathMapping": s.updateBasePathMapping,
		"DeleteBasePathMapping": s.deleteBasePathMapping,

		"CreateVpcLink": s.createVPCLink,
		"GetVpcLink":    s.getVPCLink,
		"GetVpcLinks":   s.getVPCLinks,
		"UpdateVpcLink": s.updateVPCLink,
		"DeleteVpcLink": s.deleteVPCLink,

		"CreateAuthorizer": s.createAuthorizer,
		"GetAuthorizer":    s.getAuthorizer,
		"GetAuthorizers":   s.getAuthorizers,
		"UpdateAuthorizer": s.updateAuthorizer,
		"DeleteAuthorizer": s.deleteAuthorizer,

		"FlushStageAuthorizersCache": s.flushStageAuthorizersCache,
		"TestInvokeAuthorizer":       s.testInvokeAuthorizer,

		"CreateApiKey":  s.createAPIKey,
		"GetApiKey":     s.getAPIKey,
		"GetApiKeys":    s.getAPIKeys,
		"UpdateApiKey":  s.updateAPIKey,
		"DeleteApiKey":  s.deleteAPIKey,
		"ImportApiKeys": s.importAPIKeys,

		"CreateUsagePlan": s.createUsagePlan,
		"GetUsagePlan":    s.getUsagePlan,
		"GetUsagePlans":   s.getUsagePlans,
		"UpdateUsagePlan": s.updateUsagePlan,
		"DeleteUsagePlan": s.deleteUsagePlan,
		"GetUsage":        s.getUsage,
		"UpdateUsage":     s.updateUsage,

		"CreateUsagePlanKey": s.createUsagePlanKey,
		"GetUsagePlanKey":    s.getUsagePlanKey,
		"GetUsagePlanKeys":   s.getUsagePlanKeys,
		"DeleteUsagePlanKey": s.deleteUsagePlanKey,

		"GetTags":       s.getTags,
		"TagResource":   s.tagResource,
		"UntagResource": s.untagResource,
	}
}

// Package model defines API Gateway's stored definitions, for REST APIs (v1) and HTTP
// APIs (v2), and the store keys they live under. The control planes (restapi,
// httpapi) write these records; the compiler reads them to build the data plane's
// routing snapshot. JSON field names are AWS's wire names, so a control plane can
// return a record as it is stored.
//
// A deployment is a snapshot: creating one copies the API's live definitions into a
// *DeploymentSnapshot record, and a stage serves the snapshot of its deployment, never
// the live definitions.
package model

import (
	"strconv"
	"time"
)

// EpochTime marshals as epoch seconds, the timestamp form of the apigateway (v1) API.
type EpochTime time.Time

func (t EpochTime) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatInt(time.Time(t).Unix(), 10)), nil
}

func (t *EpochTime) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return err
	}
	*t = EpochTime(time.Unix(int64(f), 0).UTC())
	return nil
}

// Store key prefixes. Every API Gateway record lives under Prefix, so one watch on
// Prefix tells the compiler that something changed.
const (
	Prefix = "/apigw/"

	// REST APIs (v1).
	RestAPIPrefix         = "/apigw/v1/apis/"             // + apiId                      → RestAPI
	RestResourcePrefix    = "/apigw/v1/resources/"        // + apiId/resourceId           → Resource (methods inline)
	RestDeploymentPrefix  = "/apigw/v1/deployments/"      // + apiId/deploymentId         → Deployment
	RestSnapshotPrefix    = "/apigw/v1/snapshots/"        // + apiId/deploymentId         → RestSnapshot
	RestStagePrefix       = "/apigw/v1/stages/"           // + apiId/stageName            → Stage
	RestGatewayRespPrefix = "/apigw/v1/gatewayresponses/" // + apiId/responseType         → GatewayResponse (only ones put by the user)
	RestValidatorPrefix   = "/apigw/v1/validators/"       // + apiId/validatorId          → RequestValidator
	RestModelPrefix       = "/apigw/v1/models/"           // + apiId/modelName            → Model
	RestAuthorizerPrefix  = "/apigw/v1/authorizers/"      // + apiId/authorizerId         → Authorizer

	// HTTP APIs (v2).
	HTTPAPIPrefix         = "/apigw/v2/apis/"         // + apiId                 → HTTPAPI
	HTTPRoutePrefix       = "/apigw/v2/routes/"       // + apiId/routeId         → Route
	HTTPIntegrationPrefix = "/apigw/v2/integrations/" // + apiId/integrationId   → Integration2
	HTTPDeploymentPrefix  = "/apigw/v2/deployments/"  // + apiId/deploymentId    → Deployment2
	HTTPSnapshotPrefix    = "/apigw/v2/snapshots/"    // + apiId/deploymentId    → HTTPSnapshot
	HTTPStagePrefix       = "/apigw/v2/stages/"       // + apiId/stageName       → Stage2
	HTTPAuthorizerPrefix  = "/apigw/v2/authorizers/"  // + apiId/authorizerId    → Authorizer2
)

// Key joins a prefix and the parts of a record's identity: Key(RestStagePrefix, api, "prod").
func Key(prefix string, parts ...string) string {
	k := prefix
	for i, p := range parts {
		if i > 0 {
			k += "/"
		}
		k += p
	}
	return k
}

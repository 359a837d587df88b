package e2e

import (
	"strings"
	"testing"
)

// VPC links: REST links (targetArns) and HTTP API links (subnets) are AVAILABLE at
// once; a REST VPC_LINK integration reaches its URI, an HTTP API private
// integration the address its target ARN is mapped to (--vpc-link-target), with
// the request's path.
func TestVPCLinks(t *testing.T) {
	up := newUpstream(t)
	const albArn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/internal/50dc6c495c0c9188/f2f7dc8efc522ab2"
	upAddr := strings.TrimPrefix(up.srv.URL, "http://")
	s := startSluice(t, startOpts{args: []string{"--vpc-link-target", albArn + "=" + upAddr}})

	link := s.awsJSON("apigateway", "create-vpc-link", "--name", "nlb", "--target-arns",
		"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/internal/50dc6c495c0c9188")
	if link["status"] != "AVAILABLE" || str(link["id"]) == "" {
		t.Fatalf("create-vpc-link = %v", link)
	}
	if got := s.awsJSON("apigateway", "get-vpc-link", "--vpc-link-id", str(link["id"])); got["name"] != "nlb" {
		t.Fatalf("get-vpc-link = %v", got)
	}
	api := newRESTAPI(t, s, "private-upstream")
	res := api.resource(api.root, "{proxy+}")
	api.method(res, "ANY", "--request-parameters", "method.request.path.proxy=true")
	s.aws("apigateway", "put-integration", "--rest-api-id", api.id, "--resource-id", res, "--http-method", "ANY",
		"--type", "HTTP_PROXY", "--integration-http-method", "ANY", "--uri", up.srv.URL+"/{proxy}",
		"--connection-type", "VPC_LINK", "--connection-id", str(link["id"]),
		"--request-parameters", "integration.request.path.proxy=method.request.path.proxy")
	api.deploy("prod")
	if r := s.awaitStatus(t, 201, "GET", api.id, "/prod/orders/7", ""); string(r.Body) != "upstream saw GET /orders/7" {
		t.Fatalf("REST VPC_LINK integration: %d %s", r.Status, r.Body)
	}

	link2 := s.awsJSON("apigatewayv2", "create-vpc-link", "--name", "alb", "--subnet-ids", "subnet-1", "subnet-2")
	if link2["VpcLinkStatus"] != "AVAILABLE" || link2["VpcLinkVersion"] != "V2" {
		t.Fatalf("apigatewayv2 create-vpc-link = %v", link2)
	}
	h := newHTTPAPI(t, s, "private-http")
	integ := h.integration("--integration-type", "HTTP_PROXY", "--integration-method", "ANY", "--integration-uri", albArn,
		"--connection-type", "VPC_LINK", "--connection-id", str(link2["VpcLinkId"]), "--payload-format-version", "1.0")
	h.route("ANY /{proxy+}", integ)
	s.aws("apigatewayv2", "create-stage", "--api-id", h.id, "--stage-name", "$default", "--auto-deploy")
	if r := s.awaitStatus(t, 201, "GET", h.id, "/users/9?x=1", ""); string(r.Body) != "upstream saw GET /users/9?x=1" {
		t.Fatalf("HTTP API private integration: %d %s", r.Status, r.Body)
	}
	s.aws("apigatewayv2", "delete-vpc-link", "--vpc-link-id", str(link2["VpcLinkId"]))
	s.aws("apigateway", "delete-vpc-link", "--vpc-link-id", str(link["id"]))
	if _, stderr, err := s.awsRaw("apigateway", "get-vpc-link", "--vpc-link-id", str(link["id"])); err == nil || !strings.Contains(stderr, "NotFoundException") {
		t.Fatalf("deleted link: %v %s", err, stderr)
	}
}

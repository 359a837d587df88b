package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// IAM groups, driven by the AWS CLI: a group's inline and attached policies count in
// each member's effective identity policy, on an AWS_IAM method and on the control
// plane, from the moment the user joins until it leaves; IAM's NoSuchEntity and
// DeleteConflict answers for the group lifecycle.
func TestIAMGroups(t *testing.T) {
	s := startSluice(t, startOpts{})
	api := newRESTAPI(t, s, "groups")
	rid := api.resource(api.root, "g")
	s.aws("apigateway", "put-method", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", "GET", "--authorization-type", "AWS_IAM")
	s.aws("apigateway", "put-integration", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", "GET",
		"--type", "MOCK", "--request-templates", `{"application/json":"{\"statusCode\": 200}"}`)
	s.aws("apigateway", "put-method-response", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", "GET", "--status-code", "200")
	s.aws("apigateway", "put-integration-response", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", "GET",
		"--status-code", "200", "--response-templates", `{"application/json":"{\"grouped\":true}"}`)
	api.deploy("prod")
	carol := s.createKeys(t, "carol")

	status := func() int {
		return s.do(t, s.signedCall(t, "GET", api.id, "/prod/g", "", carol, "execute-api", "us-east-1", time.Now(), false)).Status
	}
	awaitStatus := func(what string, want int) {
		t.Helper()
		if !eventually(t, 5*time.Second, func() bool { return status() == want }) {
			t.Fatalf("%s: carol gets %d, want %d", what, status(), want)
		}
	}
	wantErr := func(what, code, msg string, args ...string) {
		t.Helper()
		_, stderr, err := s.awsRaw(args...)
		if err == nil || !strings.Contains(stderr, "("+code+")") || !strings.Contains(stderr, msg) {
			t.Fatalf("%s: %v %s, want %s %q", what, err, stderr, code, msg)
		}
	}
	awaitStatus("no policy", http.StatusForbidden)

	g := s.awsJSON("iam", "create-group", "--group-name", "invokers")
	if grp, _ := g["Group"].(map[string]any); grp["Arn"] != "arn:aws:iam::123456789012:group/invokers" || !strings.HasPrefix(str(grp["GroupId"]), "AGPA") {
		t.Fatalf("create-group = %v", g)
	}
	wantErr("duplicate group", "EntityAlreadyExists", "Group with name invokers already exists.", "iam", "create-group", "--group-name", "invokers")
	invoke := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:` + api.id + `/prod/GET/g"}]}`
	s.aws("iam", "put-group-policy", "--group-name", "invokers", "--policy-name", "invoke", "--policy-document", invoke)
	if got := s.awsJSON("iam", "get-group-policy", "--group-name", "invokers", "--policy-name", "invoke"); got["GroupName"] != "invokers" || got["PolicyName"] != "invoke" {
		t.Fatalf("get-group-policy = %v", got)
	}
	if got := s.awsJSON("iam", "list-group-policies", "--group-name", "invokers"); len(got["PolicyNames"].([]any)) != 1 {
		t.Fatalf("list-group-policies = %v", got)
	}
	// The group's policy does nothing for carol until she joins.
	awaitStatus("group policy, not a member", http.StatusForbidden)
	s.aws("iam", "add-user-to-group", "--group-name", "invokers", "--user-name", "carol")
	awaitStatus("member of the group", http.StatusOK)
	if got := s.awsJSON("iam", "get-group", "--group-name", "invokers"); len(got["Users"].([]any)) != 1 || got["Users"].([]any)[0].(map[string]any)["UserName"] != "carol" {
		t.Fatalf("get-group = %v", got)
	}
	if got := s.awsJSON("iam", "list-groups-for-user", "--user-name", "carol"); len(got["Groups"].([]any)) != 1 {
		t.Fatalf("list-groups-for-user = %v", got)
	}
	if got := s.awsJSON("iam", "list-groups"); len(got["Groups"].([]any)) != 1 {
		t.Fatalf("list-groups = %v", got)
	}

	// The control plane too: a managed policy attached to the group lets carol list
	// functions.
	if _, stderr, err := s.awsAs(carol.id, carol.secret, "lambda", "list-functions"); err == nil || !strings.Contains(stderr, "AccessDeniedException") {
		t.Fatalf("carol lists functions without a policy: %v %s", err, stderr)
	}
	pol := s.awsJSON("iam", "create-policy", "--policy-name", "lambda-all", "--policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:*","Resource":"*"}]}`)
	polARN := str(pol["Policy"].(map[string]any)["Arn"])
	s.aws("iam", "attach-group-policy", "--group-name", "invokers", "--policy-arn", polARN)
	if got := s.awsJSON("iam", "list-attached-group-policies", "--group-name", "invokers"); len(got["AttachedPolicies"].([]any)) != 1 {
		t.Fatalf("list-attached-group-policies = %v", got)
	}
	if !eventually(t, 5*time.Second, func() bool {
		_, _, err := s.awsAs(carol.id, carol.secret, "lambda", "list-functions")
		return err == nil
	}) {
		t.Fatal("carol cannot list functions with the group's managed policy")
	}
	wantErr("delete an attached policy", "DeleteConflict", "Cannot delete a policy attached to entities.", "iam", "delete-policy", "--policy-arn", polARN)
	s.aws("iam", "detach-group-policy", "--group-name", "invokers", "--policy-arn", polARN)
	wantErr("detach twice", "NoSuchEntity", "Policy "+polARN+" was not found.", "iam", "detach-group-policy", "--group-name", "invokers", "--policy-arn", polARN)

	// Leaving the group takes its policies away.
	s.aws("iam", "remove-user-from-group", "--group-name", "invokers", "--user-name", "carol")
	awaitStatus("removed from the group", http.StatusForbidden)
	s.aws("iam", "add-user-to-group", "--group-name", "invokers", "--user-name", "carol")

	// Lifecycle refusals, worded as IAM words them.
	wantErr("delete a group with members", "DeleteConflict", "Cannot delete entity, must remove users from group first.", "iam", "delete-group", "--group-name", "invokers")
	s.aws("iam", "delete-access-key", "--user-name", "carol", "--access-key-id", carol.id)
	wantErr("delete a user in a group", "DeleteConflict", "Cannot delete entity, must remove users from group first.", "iam", "delete-user", "--user-name", "carol")
	wantErr("unknown group", "NoSuchEntity", "The group with name nobody cannot be found.", "iam", "get-group", "--group-name", "nobody")
	wantErr("unknown user", "NoSuchEntity", "The user with name nobody cannot be found.", "iam", "add-user-to-group", "--group-name", "invokers", "--user-name", "nobody")
	wantErr("unknown group policy", "NoSuchEntity", "The group policy with name nope cannot be found.", "iam", "get-group-policy", "--group-name", "invokers", "--policy-name", "nope")
	s.aws("iam", "remove-user-from-group", "--group-name", "invokers", "--user-name", "carol")
	wantErr("remove twice", "NoSuchEntity", "The user with name carol cannot be found.", "iam", "remove-user-from-group", "--group-name", "invokers", "--user-name", "carol")
	wantErr("delete a group with policies", "DeleteConflict", "Cannot delete entity, must delete policies first.", "iam", "delete-group", "--group-name", "invokers")
	s.aws("iam", "delete-group-policy", "--group-name", "invokers", "--policy-name", "invoke")
	s.aws("iam", "delete-group", "--group-name", "invokers")
	s.aws("iam", "delete-user", "--user-name", "carol")
}

# A TOKEN authorizer as AWS's blueprint writes one: "allow-NNN" gets a policy that
# allows the called method only, "deny-NNN" an explicit Deny, "broad-NNN" a policy
# allowing every method of the stage; anything else fails with "Unauthorized".


def policy(principal, effect, resource, ctx):
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": ctx,
    }


def handler(event, context):
    token = event.get("authorizationToken", "")
    arn = event["methodArn"]
    if event.get("type") != "TOKEN":
        raise Exception("not a TOKEN event")
    if token.startswith("allow-"):
        return policy("user-" + token[6:], "Allow", arn, {"tier": "gold", "n": 7, "ok": True})
    if token.startswith("deny-"):
        return policy("user-" + token[5:], "Deny", arn, {})
    if token.startswith("broad-"):
        stage_arn = arn.split("/")[0] + "/" + arn.split("/")[1] + "/*"
        return policy("user-" + token[6:], "Allow", stage_arn, {})
    if token.startswith("junk-"):
        return {"principalId": "x"}
    raise Exception("Unauthorized")

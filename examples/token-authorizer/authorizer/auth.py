# A TOKEN authorizer reading header "token" (the API's identitySource). Tokens that
# do not match the API's identityValidationExpression ^(allow|deny)-[0-9]+$ never get
# here: API Gateway answers 401 itself. "allow-N" may call the method, "deny-N" gets
# an explicit Deny (403); raising "Unauthorized" is a 401.


def handler(event, context):
    token = event.get("authorizationToken", "")
    effect = "Allow" if token.startswith("allow-") else "Deny" if token.startswith("deny-") else None
    if effect is None:
        raise Exception("Unauthorized")
    return {
        "principalId": "user-" + token.split("-", 1)[1],
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}],
        },
    }

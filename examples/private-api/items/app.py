"""The private API's function (seed scenario 3): a Lambda proxy integration that says
which method ran and who called it (the API key's id, or the SigV4 caller's ARN)."""
import json


def handler(event, context):
    identity = event["requestContext"].get("identity", {})
    body = {
        "path": event["path"],
        "apiKeyId": identity.get("apiKeyId"),
        "caller": identity.get("userArn"),
    }
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}

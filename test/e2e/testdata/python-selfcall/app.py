# A function that calls Lambda's own API with boto3, the way functions on AWS call
# other services: no endpoint or credentials in code; boto3 takes them from the
# environment Lambda sets (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_REGION, ...).
import os

import boto3


def handler(event, context):
    client = boto3.client("lambda")
    names = sorted(f["FunctionName"] for f in client.list_functions()["Functions"])
    me = client.get_function(FunctionName=context.function_name)["Configuration"]["FunctionArn"]
    return {
        "names": names,
        "self": me,
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
        # The test checks these are temporary credentials, never the root key,
        # and that they do not work without their session token.
        "key": os.environ.get("AWS_ACCESS_KEY_ID"),
        "secret": os.environ.get("AWS_SECRET_ACCESS_KEY"),
        "token": os.environ.get("AWS_SESSION_TOKEN"),
    }

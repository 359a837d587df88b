# Calls Lambda's API with the credentials Lambda put in its environment and says
# whether it was allowed, then hands the credentials back so the test can sign
# data-plane requests with them as the function would.
import os

import boto3
import botocore.exceptions


def handler(event, context):
    try:
        boto3.client("lambda").list_functions()
        listed = "allowed"
    except botocore.exceptions.ClientError as e:
        listed = e.response["Error"]["Code"] + ": " + e.response["Error"]["Message"]
    return {
        "list": listed,
        "key": os.environ.get("AWS_ACCESS_KEY_ID"),
        "secret": os.environ.get("AWS_SECRET_ACCESS_KEY"),
        "token": os.environ.get("AWS_SESSION_TOKEN"),
    }

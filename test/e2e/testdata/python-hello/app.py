import json
import os


def handler(event, context):
    if isinstance(event, dict) and event.get("mode") == "error":
        raise ValueError("bad input")
    return {
        "hello": event.get("name", "world") if isinstance(event, dict) else "world",
        "function": context.function_name,
        "request_id": context.aws_request_id,
        "region": os.environ.get("AWS_REGION"),
    }

import json
import os
import urllib.request


def _post(path, body):
    # The test's collector: function instances are sandboxed (own /tmp, no host
    # files), so they report over HTTP rather than by writing files.
    req = urllib.request.Request(os.environ["OUT"] + path, data=body, method="POST")
    urllib.request.urlopen(req, timeout=10).read()


def fail(event, context):
    """Reports each run to $OUT/attempts, then fails."""
    _post("/attempts", context.aws_request_id.encode())
    raise RuntimeError("order " + str(event.get("order")) + " failed")


def record(event, context):
    """An OnFailure destination: reports the invocation record it receives."""
    _post("/record", json.dumps(event).encode())
    return {"kept": True}

import json
import os


def fail(event, context):
    """Counts its runs in $OUT/attempts, then fails."""
    with open(os.path.join(os.environ["OUT"], "attempts"), "a") as f:
        f.write(context.aws_request_id + "\n")
    raise RuntimeError("order " + str(event.get("order")) + " failed")


def record(event, context):
    """An OnFailure destination: keeps the invocation record it receives."""
    path = os.path.join(os.environ["OUT"], "record.json")
    with open(path + ".tmp", "w") as f:
        json.dump(event, f)
    os.rename(path + ".tmp", path)
    return {"kept": True}

import os, time

COUNT = 0

def handler(event, context):
    global COUNT
    COUNT += 1
    print("python got", event.get("op"))
    if event.get("op") == "sleep":
        time.sleep(event["ms"] / 1000)
    if event.get("op") == "fail":
        raise ValueError("bad input")
    return {"runtime": "python", "pid": os.getpid(), "count": COUNT,
            "requestId": context.aws_request_id, "env": os.environ.get("AWS_EXECUTION_ENV")}

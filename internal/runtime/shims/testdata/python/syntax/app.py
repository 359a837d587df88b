def handler(event, context):
    return {"oops": }

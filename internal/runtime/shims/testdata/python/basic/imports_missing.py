import definitely_not_installed_module  # noqa: F401


def handler(event, context):
    return None

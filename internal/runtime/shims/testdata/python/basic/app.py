"""Python handlers covering what the runtime client must do."""
import decimal
import logging
import os

logger = logging.getLogger()
_count = 0


def ok(event, context):
    return {"ok": True, "event": event}


def raise_error(event, context):
    raise ValueError("boom")


def non_serialisable(event, context):
    return {"s": {1, 2}}


def raw_bytes(event, context):
    return b"\x00raw"


def decimals(event, context):
    return {"price": decimal.Decimal("19.90"), "n": 3}


def none(event, context):
    return None


def counter(event, context):
    global _count
    _count += 1
    return _count


def not_callable_attr(event, context):
    return "unused"


not_callable = 42


def context_fields(event, context):
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining_positive": context.get_remaining_time_in_millis() > 0,
        "identity_id": context.identity.cognito_identity_id,
        "identity_pool_id": context.identity.cognito_identity_pool_id,
        "client_custom": context.client_context.custom if context.client_context else None,
        "client_app_title": context.client_context.client.app_title if context.client_context else None,
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
    }


def logs(event, context):
    print("hello from print")
    logger.warning("warn %s", 1)
    logger.info("info line")
    logging.getLogger("child").error("child error")
    return "logged"

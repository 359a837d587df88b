"""Sluice runtime client for the python3.x runtimes.

Sluice starts one long-lived `python3 bootstrap.py` per function instance with
AWS_LAMBDA_RUNTIME_API, _HANDLER and LAMBDA_TASK_ROOT set, as Lambda starts its
managed Python runtime. This file plays the part of AWS's runtime interface
client (awslambdaric): it imports the handler named by _HANDLER, then loops
GET /invocation/next -> handler -> POST /response or /error on the Lambda
Runtime API over one persistent HTTP connection. Error shapes, init error types
and messages, the context object and the log format follow awslambdaric's
bootstrap.py, lambda_context.py, lambda_runtime_marshaller.py and
lambda_runtime_log_utils.py. Standard library only.
"""

import decimal
import http.client
import importlib
import json
import logging
import math
import os
import sys
import time
import traceback

# The task root is content-addressed and shared by every instance; keep it free
# of __pycache__ (on Lambda /var/task is read-only, so no bytecode lands there).
sys.dont_write_bytecode = True

ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
API_PREFIX = "/2018-06-01/runtime"
ERROR_LOG_LINE_TERMINATE = "\r"
ERROR_LOG_IDENT = "\u00a0"  # NO-BREAK SPACE, as awslambdaric indents tracebacks

LAMBDA_WARNING_UNHANDLED = (
    "LAMBDA_WARNING: "
    "Unhandled exception. "
    "The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, or can be applied automatically. "
    "To determine if the runtime has been updated, check the runtime version in the INIT_START log entry. "
    "If this error correlates with a change in the runtime version, you may be able to mitigate this error by temporarily rolling back to the previous runtime version. "
    "For more information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\r"
)


class FaultException(Exception):
    """A runtime-detected failure with one of Lambda's Runtime.* error types."""

    MARSHAL_ERROR = "Runtime.MarshalError"
    UNMARSHAL_ERROR = "Runtime.UnmarshalError"
    USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
    HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
    IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
    BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
    MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
    LAMBDA_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"

    def __init__(self, exception_type, msg, trace=None):
        super().__init__(msg)
        self.msg = msg
        self.exception_type = exception_type
        self.trace = trace


# ---------------------------------------------------------------------------
# JSON, as awslambdaric's marshaller: Decimal is written as a number, NaN and
# Infinity are allowed, and non-ASCII is kept as is on python3.12 and later.


class _NeedsDecimal(Exception):
    pass


def _fast_default(obj):
    if isinstance(obj, decimal.Decimal):
        raise _NeedsDecimal()
    raise TypeError(f"Object of type {obj.__class__.__name__} is not JSON serializable")


def _decimal_default(obj):
    if isinstance(obj, decimal.Decimal):
        if obj.is_nan():
            return math.nan
        return _DecimalNumber(obj)
    raise TypeError(f"Object of type {obj.__class__.__name__} is not JSON serializable")


class _DecimalNumber(float):
    """A float that json writes as the Decimal's exact digits (simplejson's
    use_decimal behaviour) instead of a rounded float."""

    def __new__(cls, value):
        obj = super().__new__(cls, float(value))
        obj.text = str(value)
        return obj


def _keeps_unicode():
    env = os.environ.get("AWS_EXECUTION_ENV", "")
    if env.startswith("AWS_Lambda_python3."):
        try:
            return int(env[len("AWS_Lambda_python3.") :]) >= 12
        except ValueError:
            return False
    return sys.version_info >= (3, 12)


_ENSURE_ASCII = not _keeps_unicode()
_FAST_ENCODER = json.JSONEncoder(ensure_ascii=_ENSURE_ASCII, allow_nan=True, default=_fast_default)


def _floatstr(o, _repr=float.__repr__, _inf=math.inf):
    if isinstance(o, _DecimalNumber):
        return o.text
    if o != o:
        return "NaN"
    if o == _inf:
        return "Infinity"
    if o == -_inf:
        return "-Infinity"
    return _repr(o)


def to_json(obj):
    try:
        return _FAST_ENCODER.encode(obj)
    except _NeedsDecimal:
        pass
    # Decimals present: the pure-Python encoder lets _floatstr print them exactly.
    iterencode = json.encoder._make_iterencode(
        {},
        _decimal_default,
        json.encoder.encode_basestring_ascii if _ENSURE_ASCII else json.encoder.encode_basestring,
        None,
        _floatstr,
        ": ",
        ", ",
        False,
        False,
        True,
    )
    return "".join(iterencode(obj, 0))


def marshal_response(response):
    if isinstance(response, bytes):
        return response, "application/unknown"
    try:
        return to_json(response).encode("utf-8"), "application/json"
    except Exception as e:
        raise FaultException(
            FaultException.MARSHAL_ERROR,
            "Unable to marshal response: {}".format(str(e)),
            None,
        )


def unmarshal_request(body, content_type):
    # Lambda sends events as application/json; a missing type is treated as
    # JSON too, and parameters (charset) are ignored.
    media_type = (content_type or "application/json").split(";")[0].strip().lower()
    if media_type != "application/json":
        return body
    try:
        return json.loads(body)
    except Exception as e:
        raise FaultException(
            FaultException.UNMARSHAL_ERROR,
            "Unable to unmarshal input: {}".format(str(e)),
            None,
        )


# ---------------------------------------------------------------------------
# Runtime API client: one persistent HTTP/1.1 connection.


class RuntimeAPIError(Exception):
    pass


class RuntimeAPI(object):
    def __init__(self, address):
        if not address:
            raise RuntimeAPIError("AWS_LAMBDA_RUNTIME_API is not set")
        self.address = address
        self.conn = None

    def _call(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.address)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    self.conn.close()
                    self.conn = None
                return resp.status, resp.headers, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                # The server closed the idle keep-alive connection; reconnect once.
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise RuntimeAPIError("Runtime API {} {}: {}".format(method, path, e))

    def next(self):
        status, headers, body = self._call("GET", API_PREFIX + "/invocation/next")
        if status != 200:
            raise RuntimeAPIError(
                "Runtime API GET /invocation/next returned {}: {!r}".format(status, body)
            )
        return headers, body

    def _post(self, path, body, content_type="application/json", extra=None):
        headers = {"Content-Type": content_type}
        if extra:
            headers.update(extra)
        status, _, resp = self._call("POST", path, body, headers)
        if status != 202:
            # The invocation may have timed out meanwhile; move on, as awslambdaric does.
            sys.stderr.write(
                "sluice runtime: POST {} returned {}: {!r}\n".format(path, status, resp)
            )

    def post_response(self, invoke_id, body, content_type):
        self._post(
            API_PREFIX + "/invocation/" + invoke_id + "/response", body, content_type
        )

    def post_error(self, invoke_id, error_result):
        # The Runtime API documents Lambda-Runtime-Function-Error-Type; awslambdaric
        # sends it on init errors, and Sluice's server also reads it here.
        self._post(
            API_PREFIX + "/invocation/" + invoke_id + "/error",
            to_json(error_result).encode("utf-8"),
            extra={ERROR_TYPE_HEADER: _header_safe(error_result["errorType"])},
        )

    def post_init_error(self, error_result):
        self._post(
            API_PREFIX + "/init/error",
            to_json(error_result).encode("utf-8"),
            extra={ERROR_TYPE_HEADER: _header_safe(error_result["errorType"])},
        )


def _header_safe(s):
    return "".join(c for c in str(s or "") if " " <= c <= "~")


# ---------------------------------------------------------------------------
# Handler loading (awslambdaric bootstrap._get_handler).


def get_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException(
            FaultException.MALFORMED_HANDLER_NAME,
            "Bad handler '{}': {}".format(handler, str(e)),
        )

    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultException(
                FaultException.BUILT_IN_MODULE_CONFLICT,
                "Cannot use built-in module {} as a handler module".format(modname),
            )
        m = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultException(
            FaultException.IMPORT_MODULE_ERROR,
            "Unable to import module '{}': {}".format(modname, str(e)),
        )
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException(
            FaultException.USER_CODE_SYNTAX_ERROR,
            "Syntax error in module '{}': {}".format(modname, str(e)),
            trace,
        )

    try:
        return getattr(m, fname)
    except AttributeError:
        raise FaultException(
            FaultException.HANDLER_NOT_FOUND,
            "Handler '{}' missing on module '{}'".format(fname, modname),
            None,
        )


# ---------------------------------------------------------------------------
# Errors (awslambdaric bootstrap.make_error, log_error).


def make_error(error_message, error_type, stack_trace, invoke_id=None):
    return {
        "errorMessage": error_message if error_message else "",
        "errorType": error_type if error_type else "",
        "requestId": invoke_id if invoke_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def user_frames(tb):
    """The traceback without the leading frames of this client."""
    frames = traceback.extract_tb(tb)
    for i, frame in enumerate(frames):
        if "/bootstrap.py" not in frame.filename:
            return frames[i:]
    return frames


def build_fault_result(exc_info, invoke_id=None):
    etype, value, tb = exc_info
    return make_error(
        str(value),
        etype.__name__,
        traceback.format_list(user_frames(tb)),
        invoke_id,
    )


def _replace_indent(line, indent_char, new_indent_char):
    n = len(line) - len(line.lstrip(indent_char))
    return new_indent_char * n + line[n:]


def log_error(error_result):
    if LOG_FORMAT_JSON:
        record = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "log_level": "ERROR",
        }
        record.update(error_result)
        sys.stdout.write(to_json(record) + "\n")
        return
    description = "[ERROR]"
    etype = error_result.get("errorType")
    if etype:
        description += " " + etype
    emsg = error_result.get("errorMessage")
    if emsg:
        if etype:
            description += ":"
        description += " " + emsg
    lines = [description]
    stack = error_result.get("stackTrace")
    if stack is not None:
        lines.append("Traceback (most recent call last):")
        for element in stack:
            if element == "":
                lines.append("")
                continue
            for tl in element.splitlines():
                lines.append(_replace_indent(tl, " ", ERROR_LOG_IDENT))
    sys.stdout.write(ERROR_LOG_LINE_TERMINATE.join(lines) + "\n")


# ---------------------------------------------------------------------------
# The context object (awslambdaric lambda_context.py).


class CognitoIdentity(object):
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __repr__(self):
        return "CognitoIdentity([cognito_identity_id={},cognito_identity_pool_id={}])".format(
            self.cognito_identity_id, self.cognito_identity_pool_id
        )


class Client(object):
    __slots__ = [
        "installation_id",
        "app_title",
        "app_version_name",
        "app_version_code",
        "app_package_name",
    ]

    def __repr__(self):
        return "Client([{}])".format(
            ",".join("{}={}".format(k, getattr(self, k)) for k in self.__slots__)
        )


class ClientContext(object):
    __slots__ = ["custom", "env", "client"]

    def __repr__(self):
        return "ClientContext([custom={},env={},client={}])".format(
            self.custom, self.env, self.client
        )


def _obj_from_dict(cls, d):
    if d is None:
        return None
    obj = cls()
    for field in cls.__slots__:
        setattr(obj, field, d.get(field, None))
    return obj


class LambdaContext(object):
    def __init__(
        self,
        invoke_id,
        client_context,
        cognito_identity,
        epoch_deadline_time_in_ms,
        invoked_function_arn=None,
        tenant_id=None,
    ):
        self.aws_request_id = invoke_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id

        self.client_context = _obj_from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = _obj_from_dict(Client, self.client_context.client)

        self.identity = _obj_from_dict(CognitoIdentity, {})
        if cognito_identity is not None:
            self.identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = cognito_identity.get(
                "cognitoIdentityPoolId"
            )

        self._epoch_deadline_time_in_ms = epoch_deadline_time_in_ms

    def get_remaining_time_in_millis(self):
        delta = self._epoch_deadline_time_in_ms - int(time.time() * 1000)
        return delta if delta > 0 else 0

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return (
            "LambdaContext(["
            "aws_request_id={},log_group_name={},log_stream_name={},function_name={},"
            "memory_limit_in_mb={},function_version={},invoked_function_arn={},"
            "client_context={},identity={},tenant_id={}])"
        ).format(
            self.aws_request_id,
            self.log_group_name,
            self.log_stream_name,
            self.function_name,
            self.memory_limit_in_mb,
            self.function_version,
            self.invoked_function_arn,
            self.client_context,
            self.identity,
            self.tenant_id,
        )


def _parse_json_header(value, name):
    try:
        return json.loads(value)
    except Exception as e:
        raise FaultException(
            FaultException.LAMBDA_CONTEXT_UNMARSHAL_ERROR,
            "Unable to parse {} JSON: {}".format(name, str(e)),
            None,
        )


def _deadline_ms(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


# ---------------------------------------------------------------------------
# Logging (awslambdaric bootstrap._setup_logging, lambda_runtime_log_utils).

LOG_FORMAT_JSON = (os.environ.get("AWS_LAMBDA_LOG_FORMAT") or "").upper() == "JSON"
_REQUEST_ID = None
_TENANT_ID = None


class Unbuffered(object):
    """Flushes after every write, so print() reaches the pool at once."""

    def __init__(self, stream):
        self.stream = stream

    def __getattr__(self, attr):
        return getattr(self.stream, attr)

    def write(self, msg):
        self.stream.write(msg)
        self.stream.flush()

    def writelines(self, msgs):
        self.stream.writelines(msgs)
        self.stream.flush()


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _REQUEST_ID or ""
        record.tenant_id = _TENANT_ID
        return True


class _StdoutHandler(logging.Handler):
    def emit(self, record):
        try:
            sys.stdout.write(self.format(record))
        except Exception:
            self.handleError(record)


_RESERVED_FIELDS = {
    "name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module",
    "exc_info", "exc_text", "stack_info", "lineno", "funcName", "created", "msecs",
    "relativeCreated", "thread", "threadName", "processName", "process", "taskName",
    "aws_request_id", "tenant_id", "_frame_type",
}


class _JsonFormatter(logging.Formatter):
    def __init__(self):
        super().__init__(datefmt="%Y-%m-%dT%H:%M:%SZ")

    def format(self, record):
        record.levelno = min(50, max(0, record.levelno)) // 10 * 10
        record.levelname = logging.getLevelName(record.levelno)
        exc = record.exc_info
        result = {
            "timestamp": self.formatTime(record, self.datefmt),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "stackTrace": traceback.format_tb(exc[2]) if exc else None,
            "errorType": exc[0].__name__ if exc else None,
            "errorMessage": str(exc[1]) if exc else None,
            "requestId": getattr(record, "aws_request_id", None),
            "location": "{}:{}:{}".format(record.pathname, record.funcName, record.lineno)
            if exc
            else None,
        }
        if getattr(record, "tenant_id", None) is not None:
            result["tenantId"] = record.tenant_id
        result.update(
            (k, v)
            for k, v in record.__dict__.items()
            if k not in _RESERVED_FIELDS and k not in result
        )
        result = {k: v for k, v in result.items() if v is not None}
        return json.JSONEncoder(ensure_ascii=False, default=str).encode(result) + "\n"


def setup_logging():
    logging.Formatter.converter = time.gmtime
    handler = _StdoutHandler()
    if LOG_FORMAT_JSON:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
                "%Y-%m-%dT%H:%M:%S",
            )
        )
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL")
    level = {None: "", "TRACE": "DEBUG"}.get(level, level or "").upper()
    root = logging.getLogger()
    if level in logging._nameToLevel:
        root.setLevel(level)
    handler.addFilter(_RequestIdFilter())
    root.addHandler(handler)


# ---------------------------------------------------------------------------
# The invoke loop (awslambdaric bootstrap.run, handle_event_request).


def handle_invocation(client, request_handler, headers, body):
    invoke_id = headers.get("Lambda-Runtime-Aws-Request-Id") or ""
    error_result = None
    try:
        client_context = headers.get("Lambda-Runtime-Client-Context")
        cognito = headers.get("Lambda-Runtime-Cognito-Identity")
        context = LambdaContext(
            invoke_id,
            _parse_json_header(client_context, "Client Context") if client_context else None,
            _parse_json_header(cognito, "Cognito Identity") if cognito else None,
            _deadline_ms(headers.get("Lambda-Runtime-Deadline-Ms")),
            headers.get("Lambda-Runtime-Invoked-Function-Arn"),
            headers.get("Lambda-Runtime-Aws-Tenant-Id"),
        )
        event = unmarshal_request(body, headers.get("Content-Type"))
        response = request_handler(event, context)
        result, content_type = marshal_response(response)
    except FaultException as e:
        error_result = make_error(e.msg, e.exception_type, e.trace, invoke_id)
    except Exception:
        error_result = build_fault_result(sys.exc_info(), invoke_id)

    if error_result is not None:
        log_error(error_result)
        client.post_error(invoke_id, error_result)
    else:
        client.post_response(invoke_id, result, content_type)


def main():
    global _REQUEST_ID, _TENANT_ID
    sys.stdout = Unbuffered(sys.stdout)
    sys.stderr = Unbuffered(sys.stderr)

    # Import user code from the task root, not from this client's directory.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path = [p for p in sys.path if os.path.abspath(p or ".") != here]
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    sys.path.insert(0, task_root)

    client = RuntimeAPI(os.environ.get("AWS_LAMBDA_RUNTIME_API"))
    error_result = None
    try:
        setup_logging()
        request_handler = get_handler(os.environ.get("_HANDLER") or "")
    except FaultException as e:
        error_result = make_error(e.msg, e.exception_type, e.trace)
    except Exception:
        error_result = build_fault_result(sys.exc_info())

    if error_result is not None:
        logging.warning(LAMBDA_WARNING_UNHANDLED)
        log_error(error_result)
        client.post_init_error(error_result)
        sys.exit(1)

    while True:
        try:
            headers, body = client.next()
        except (RuntimeAPIError, OSError, http.client.HTTPException) as e:
            # The server went away (instance stopped); nothing is left to report to.
            sys.stderr.write("sluice runtime: {}\n".format(e))
            sys.exit(1)
        _REQUEST_ID = headers.get("Lambda-Runtime-Aws-Request-Id")
        _TENANT_ID = headers.get("Lambda-Runtime-Aws-Tenant-Id")
        trace_id = headers.get("Lambda-Runtime-Trace-Id")
        if trace_id is not None:
            os.environ["_X_AMZN_TRACE_ID"] = trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        try:
            handle_invocation(client, request_handler, headers, body)
        except (RuntimeAPIError, OSError, http.client.HTTPException) as e:
            # Posting the result failed: the instance was stopped.
            sys.stderr.write("sluice runtime: {}\n".format(e))
            sys.exit(1)


if __name__ == "__main__":
    main()

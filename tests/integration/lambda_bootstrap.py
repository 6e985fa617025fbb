"""The sandbox's stand-in for Lambda's Python runtime bootstrap (run inside the sandbox).

It imports the handler named by _HANDLER from LAMBDA_TASK_ROOT at cold start, as Lambda's
runtime does, reads one event (JSON) from stdin, calls the handler with a context object,
and writes the JSON result to the original stdout. Everything the function prints (its
logs) goes to stderr, so stdout carries the result only. An unhandled exception is
reported the way the runtime reports it: {"errorType", "errorMessage", "stackTrace"},
exit status 1. Standard library only: it runs on the sandbox's bare Python 3.12.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import uuid


class Context:
    """The attributes of Lambda's context object the functions (and Powertools) read."""

    def __init__(self, timeout_s: float) -> None:
        name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        region = os.environ["AWS_REGION"]
        self.function_name = name
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{name}"
        self.memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", f"/aws/lambda/{name}")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "sandbox")
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main() -> int:
    result_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # the function's prints and logs go to stderr
    sys.stdout = sys.stderr
    try:
        module_name, handler_name = os.environ["_HANDLER"].rsplit(".", 1)
        sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])
        handler = getattr(importlib.import_module(module_name), handler_name)
        event = json.loads(sys.stdin.read() or "{}")
        result = handler(event, Context(float(os.environ.get("SANDBOX_TIMEOUT", "300"))))
    except Exception as exc:  # what the Lambda Python runtime returns for an unhandled error
        error = {"errorType": type(exc).__name__, "errorMessage": str(exc),
                 "stackTrace": traceback.format_tb(exc.__traceback__)}
        traceback.print_exc()
        result_out.write(json.dumps(error))
        result_out.close()
        return 1
    result_out.write(json.dumps(result))
    result_out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

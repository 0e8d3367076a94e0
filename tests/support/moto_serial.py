"""`moto_server` that handles one request at a time.

DynamoDB applies a conditional write atomically; moto's threaded server does not (two concurrent
conditional updates of one item can both succeed), so the tests of cross-instance claims would
fail by chance under load. Requests still arrive concurrently; they are answered one by one.
Arguments as `moto_server`: -H HOST -p PORT.

It also counts the API calls it answers, by operation (the `X-Amz-Target` of JSON protocols,
else the method and path): `GET /_calls` returns the counts as JSON, `DELETE /_calls` resets
them, so a test can prove that a cache saved a call by counting calls.
"""
import argparse
import collections
import json
import os
import threading

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))

    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()
    calls = collections.Counter()

    def serial(environ, start_response):
        with lock:
            if environ.get("PATH_INFO") == "/_calls":
                if environ.get("REQUEST_METHOD") == "DELETE":
                    calls.clear()
                body = json.dumps(calls).encode()
                start_response("200 OK", [("Content-Type", "application/json")])
                return [body]
            target = environ.get("HTTP_X_AMZ_TARGET")
            path = environ.get("PATH_INFO", "")
            if not path.startswith("/moto-api"):
                calls[target or f"{environ.get('REQUEST_METHOD')} {path}"] += 1
            # The whole answer is produced under the lock.
            return list(app(environ, start_response))

    run_simple(
        args.host,
        args.port,
        serial,
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()

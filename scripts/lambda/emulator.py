#!/usr/bin/env python3
"""A local Lambda for executing Lakeship's state machine on loopback.

moto's Step Functions interpreter invokes Lambda functions with boto3 at
http://localhost:$MOTO_PORT. Point MOTO_PORT of a moto server at this
emulator, and it

  * answers Lambda Invoke (POST /2015-03-31/functions/NAME/invocations) for the
    functions given with --function, by running the real function binaries
    under the Lambda Runtime API (the protocol the binaries speak in AWS:
    GET .../runtime/invocation/next, POST .../response and .../error), so
    error names reach Step Functions exactly as lambda_runtime reports them;
  * forwards Invoke of any other function to --invoke-endpoint when given (for
    example `cargo lambda watch` on http://127.0.0.1:9000);
  * forwards every other request (S3 GetObject of the Map's ItemReader, ...) to
    the moto server given with --upstream.

Like Lambda, a function has several sandboxes (processes) that each work one
invocation at a time (each logs its init time: from process start to its first
Runtime API `next` request); a process that exits mid-invocation fails it with
Runtime.ExitError and is replaced; an invocation that outlives --timeout kills
its process and fails with Sandbox.Timedout.

Python standard library only. Stops on SIGTERM/SIGINT, ending its processes.

usage:
  emulator.py --listen PORT --upstream http://127.0.0.1:5010 \\
      --function lakeship-worker=target/debug/lakeship-worker[:CONCURRENCY] ... \\
      [--set lakeship-worker:NAME=VALUE ...] [--log-dir DIR] [--timeout SECONDS] [--deadline SECONDS]
"""

import argparse
import http.client
import http.server
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

INVOKE_PREFIX = "/2015-03-31/functions/"
RUNTIME_PREFIX = "/2018-06-01/runtime/"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


def log(message):
    print(f"emulator: {message}", file=sys.stderr, flush=True)


class Invocation:
    """One Invoke waiting for its answer."""

    def __init__(self, function, payload):
        self.request_id = str(uuid.uuid4())
        self.function = function
        self.payload = payload
        self.done = threading.Event()
        self.error = False
        self.body = b""

    def finish(self, body, error):
        if self.done.is_set():
            return
        self.body = body
        self.error = error
        self.done.set()


class Sandbox:
    """One process of a function and its own Runtime API endpoint."""

    def __init__(self, function, index):
        self.function = function
        self.index = index
        self.current = None
        self.process = None
        self.generation = 0
        self.started = 0.0
        self.polled = 0
        self.lock = threading.Lock()
        handler = type("RuntimeHandler", (RuntimeApiHandler,), {"sandbox": self})
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def runtime_api(self):
        return f"127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        function = self.function
        environment = dict(os.environ)
        environment.update(function.environment)
        environment.update({
            "AWS_LAMBDA_RUNTIME_API": self.runtime_api,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"local/{self.index}",
        })
        output = function.log_file or subprocess.DEVNULL
        with self.lock:
            self.generation += 1
        self.started = time.monotonic()
        self.process = subprocess.Popen([function.executable], env=environment, stdin=subprocess.DEVNULL,
                                        stdout=output, stderr=output)
        threading.Thread(target=self.supervise, args=(self.process,), daemon=True).start()

    def supervise(self, process):
        status = process.wait()
        with self.lock:
            current, self.current = self.current, None
        if current is not None:
            message = f"RequestId: {current.request_id} Error: Runtime exited with error: exit status {status}"
            current.finish(json.dumps({"errorType": "Runtime.ExitError", "errorMessage": message}).encode(), True)
        if not self.function.emulator.stopping:
            log(f"{self.function.name}[{self.index}] exited with status {status}; starting a new one")
            time.sleep(0.5)
            self.start()

    def next_invocation(self, generation):
        """The next invocation for the process of `generation`; None (and the
        invocation back in the queue) if that process has been replaced while
        it waited."""
        with self.lock:
            first = self.polled != generation
            self.polled = generation
        if first:
            init_ms = (time.monotonic() - self.started) * 1000
            log(f"{self.function.name}[{self.index}] init {init_ms:.1f} ms (process start to first runtime next)")
        invocation = self.function.pending.get()
        with self.lock:
            if generation != self.generation:
                self.function.pending.put(invocation)
                return None
            self.current = invocation
        return invocation

    def complete(self, request_id, body, error):
        with self.lock:
            current = self.current
            if current is None or current.request_id != request_id:
                return False
            self.current = None
        current.finish(body, error)
        return True

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()


class Function:
    def __init__(self, emulator, name, executable, concurrency, environment, log_file, memory_mb=1024):
        self.emulator = emulator
        self.name = name
        self.executable = executable
        self.environment = environment
        self.log_file = log_file
        self.memory_mb = memory_mb
        self.pending = queue.Queue()
        self.sandboxes = [Sandbox(self, index) for index in range(concurrency)]

    def start(self):
        for sandbox in self.sandboxes:
            sandbox.start()

    def invoke(self, payload, timeout):
        invocation = Invocation(self, payload)
        self.pending.put(invocation)
        if invocation.done.wait(timeout):
            return invocation
        for sandbox in self.sandboxes:
            if sandbox.current is invocation:
                sandbox.kill()
        message = f"RequestId: {invocation.request_id} Error: Task timed out after {timeout:.2f} seconds"
        invocation.finish(json.dumps({"errorType": "Sandbox.Timedout", "errorMessage": message}).encode(), True)
        return invocation


class RuntimeApiHandler(http.server.BaseHTTPRequestHandler):
    """The Lambda Runtime API of one sandbox."""

    protocol_version = "HTTP/1.1"
    sandbox = None

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self):
        if self.path != RUNTIME_PREFIX + "invocation/next":
            return self.reply(404, b'{"errorMessage":"not found"}')
        invocation = self.sandbox.next_invocation(self.sandbox.generation)
        if invocation is None:
            return self.reply(410, b'{"errorMessage":"this sandbox was replaced"}')
        function = invocation.function
        deadline_ms = int((time.time() + function.emulator.deadline) * 1000)
        self.reply(200, invocation.payload, {
            "Content-Type": "application/json",
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": function.emulator.function_arn(function.name),
            "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
        })

    def do_POST(self):
        body = self.read_body()
        parts = self.path[len(RUNTIME_PREFIX):].split("/")
        if parts == ["init", "error"]:
            log(f"{self.sandbox.function.name}[{self.sandbox.index}] reported an init error: {body[:500]!r}")
            return self.reply(202, b'{"status":"OK"}')
        if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            if self.sandbox.complete(parts[1], body, parts[2] == "error"):
                return self.reply(202, b'{"status":"OK"}')
            return self.reply(400, b'{"errorMessage":"unknown request id"}')
        return self.reply(404, b'{"errorMessage":"not found"}')


def function_name(path_part):
    """The function name in an Invoke path: a name, an ARN or a partial ARN."""
    name = urllib.parse.unquote(path_part)
    if name.startswith("arn:"):
        fields = name.split(":")
        name = fields[6] if len(fields) > 6 else fields[-1]
    elif ":function:" in name:
        name = name.split(":function:", 1)[1]
    return name.split(":", 1)[0]


class FrontHandler(http.server.BaseHTTPRequestHandler):
    """Lambda Invoke for the emulated functions; everything else upstream."""

    protocol_version = "HTTP/1.1"
    emulator = None

    def log_message(self, *args):
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def reply(self, status, body, headers):
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        body = self.read_body()
        path = urllib.parse.urlsplit(self.path).path
        if self.command == "POST" and path.startswith(INVOKE_PREFIX) and path.endswith("/invocations"):
            name = function_name(path[len(INVOKE_PREFIX):-len("/invocations")])
            function = self.emulator.functions.get(name)
            if function is not None:
                return self.invoke(function, body)
            if self.emulator.invoke_endpoint:
                return self.forward(self.emulator.invoke_endpoint, body)
            error = json.dumps({"Type": "User", "message": f"Function not found: {name}"}).encode()
            return self.reply(404, error, [("Content-Type", "application/json"), ("x-amzn-ErrorType", "ResourceNotFoundException")])
        return self.forward(self.emulator.upstream, body)

    def invoke(self, function, body):
        headers = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", "$LATEST")]
        if self.headers.get("X-Amz-Invocation-Type", "RequestResponse") == "Event":
            threading.Thread(target=function.invoke, args=(body, self.emulator.timeout), daemon=True).start()
            return self.reply(202, b"", headers)
        started = time.monotonic()
        invocation = function.invoke(body, self.emulator.timeout)
        outcome = "error" if invocation.error else "ok"
        log(f"invoke {function.name} {invocation.request_id}: {outcome} in {time.monotonic() - started:.2f}s")
        if invocation.error:
            headers.append(("X-Amz-Function-Error", "Unhandled"))
        self.reply(200, invocation.body, headers)

    def forward(self, base_url, body):
        target = urllib.parse.urlsplit(base_url)
        connection = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=600)
        headers = {name: value for name, value in self.headers.items() if name.lower() not in HOP_BY_HOP}
        headers["Content-Length"] = str(len(body))
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            self.reply(response.status, answer, response.getheaders())
        except OSError as error:
            self.reply(502, json.dumps({"message": f"upstream {base_url}: {error}"}).encode(), [("Content-Type", "application/json")])
        finally:
            connection.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = handle_any


class Emulator:
    def __init__(self, options):
        self.upstream = options.upstream
        self.invoke_endpoint = options.invoke_endpoint
        self.timeout = options.timeout
        self.deadline = options.timeout if options.deadline is None else options.deadline
        self.region = options.region
        self.account = options.account
        self.stopping = False
        settings = {}
        for setting in options.set:
            name, _, assignment = setting.partition(":")
            key, _, value = assignment.partition("=")
            if not key:
                raise SystemExit(f"--set {setting!r}: expected FUNCTION:NAME=VALUE")
            settings.setdefault(name, {})[key] = value
        self.functions = {}
        for spec in options.function:
            name, _, rest = spec.partition("=")
            executable, _, concurrency = rest.partition(":")
            if not name or not executable:
                raise SystemExit(f"--function {spec!r}: expected NAME=EXECUTABLE[:CONCURRENCY]")
            if not os.access(executable, os.X_OK):
                raise SystemExit(f"--function {spec!r}: {executable} is not an executable file")
            log_file = None
            if options.log_dir:
                os.makedirs(options.log_dir, exist_ok=True)
                log_file = open(os.path.join(options.log_dir, f"{name}.log"), "ab")
            self.functions[name] = Function(self, name, os.path.abspath(executable), int(concurrency or 1),
                                            settings.get(name, {}), log_file)
        handler = type("Front", (FrontHandler,), {"emulator": self})
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", options.listen), handler)
        self.server.daemon_threads = True

    def function_arn(self, name):
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"

    def watch_parent(self):
        """Stops when the process that started the emulator is gone (a test
        that was killed), so no sandbox outlives it."""
        parent = os.getppid()
        while not self.stopping:
            time.sleep(1)
            if os.getppid() != parent:
                log("parent process gone; stopping")
                self.stop()

    def run(self):
        threading.Thread(target=self.watch_parent, daemon=True).start()
        for function in self.functions.values():
            function.start()
        counts = ", ".join(f"{name} x{len(f.sandboxes)}" for name, f in self.functions.items())
        print(f"ready on 127.0.0.1:{self.server.server_address[1]} ({counts}; upstream {self.upstream})", flush=True)
        self.server.serve_forever()

    def stop(self, *_):
        self.stopping = True
        for function in self.functions.values():
            for sandbox in function.sandboxes:
                sandbox.kill()
        threading.Thread(target=self.server.shutdown, daemon=True).start()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", type=int, required=True, help="port on 127.0.0.1 (moto's MOTO_PORT)")
    parser.add_argument("--upstream", required=True, help="moto's URL, for every request that is not an emulated Invoke")
    parser.add_argument("--function", action="append", default=[], help="NAME=EXECUTABLE[:CONCURRENCY]")
    parser.add_argument("--set", action="append", default=[], help="FUNCTION:NAME=VALUE, an environment variable of one function")
    parser.add_argument("--invoke-endpoint", help="forward Invoke of other functions here (e.g. http://127.0.0.1:9000)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds an invocation may run (default 900)")
    parser.add_argument("--deadline", type=float, help="seconds from handing out an invocation to the deadline its function is told "
                        "(Lambda-Runtime-Deadline-Ms; default --timeout; negative: passed already, for tests)")
    parser.add_argument("--log-dir", help="write each function's output to DIR/NAME.log")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    parser.add_argument("--account", default="123456789012")
    emulator = Emulator(parser.parse_args())
    signal.signal(signal.SIGTERM, emulator.stop)
    signal.signal(signal.SIGINT, emulator.stop)
    emulator.run()


if __name__ == "__main__":
    main()

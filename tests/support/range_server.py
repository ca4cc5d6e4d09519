#!/usr/bin/env python3
"""A tiny HTTP/1.1 file server with Range support and fault injection, for the download tests.

    range_server.py --root DIR [--port 0]

Prints "PORT <n>" on its first line once it listens on 127.0.0.1. Python's http.server has no Range
support, so it is done here: "Range: bytes=N-" (and N-M) answers 206 with Content-Range.

GET /files/<path under DIR>[?options]   the file (404 when missing)
    drop_after=N    a request starting at byte 0 sends the headers with the full Content-Length and
                    bytes [0, N), then closes the connection (an interrupted download); a request
                    with a Range starting after 0 is served normally, so resuming succeeds
    drop_always=N   every request stops after N bytes of body (the download can never finish)
    ignore_range=1  answer 200 with the whole file even when a Range was asked for
    rate=B          send at about B bytes per second (progress and cancel tests)
    truncate=N      serve only the first N bytes, with a Content-Length of N (a short file)
GET /log          JSON list of the requests so far: {"path", "query", "range"}
"""
import argparse
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LOG = []
LOG_LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    root = "."

    def log_message(self, fmt, *args):  # quiet: the test prints what matters
        pass

    def send_body(self, data, rate):
        chunk = 16384
        for i in range(0, len(data), chunk):
            self.wfile.write(data[i:i + chunk])
            if rate:
                time.sleep(len(data[i:i + chunk]) / rate)

    def do_GET(self):
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        range_header = self.headers.get("Range")
        with LOG_LOCK:
            LOG.append({"path": url.path, "query": url.query, "range": range_header})
        if url.path == "/log":
            with LOG_LOCK:
                body = json.dumps(LOG).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        rel = url.path[len("/files/"):] if url.path.startswith("/files/") else None
        path = os.path.realpath(os.path.join(self.root, rel)) if rel else None
        if not path or not path.startswith(os.path.realpath(self.root)) or not os.path.isfile(path):
            body = b"not found\n"
            self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        with open(path, "rb") as f:
            data = f.read()
        if "truncate" in query:
            data = data[: int(query["truncate"])]
        size = len(data)
        rate = float(query.get("rate", 0))
        start, end = 0, size - 1
        partial = False
        m = re.match(r"bytes=(\d+)-(\d*)$", range_header or "")
        if m and query.get("ignore_range") != "1":
            start = int(m.group(1))
            if m.group(2):
                end = min(int(m.group(2)), size - 1)
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % size)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            partial = True
        body = data[start:end + 1]
        self.send_response(206 if partial else 200)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        if partial:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.end_headers()
        drop = None
        if "drop_always" in query:
            drop = int(query["drop_always"])
        elif "drop_after" in query and start == 0:
            drop = int(query["drop_after"])
        if drop is not None and drop < len(body):
            self.send_body(body[:drop], rate)
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)  # SHUT_RDWR: the client sees the connection break off
            return
        self.send_body(body, rate)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up (a cancelled download) are expected, not worth a traceback


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    Handler.root = args.root
    server = Server(("127.0.0.1", args.port), Handler)
    print("PORT %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

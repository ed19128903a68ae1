"""
A stand-in workspace for the browser tests: listens on 127.0.0.1:GPUHUB_PORT,
refuses requests without the hub's workspace token, and answers every GET
with a small HTML page naming the session, so a test can open it through the
hub's proxy. Extra command-line arguments are ignored (the test passes a run
id so that it can find and end its own workspaces).
"""

import html
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ["GPUHUB_PORT"])
WANT = "token " + os.environ.get("GPUHUB_WORKSPACE_TOKEN", "")
SESSION = os.environ.get("GPUHUB_SESSION_NAME", "?")
USER = os.environ.get("GPUHUB_USER", "?")
GPUS = os.environ.get("CUDA_VISIBLE_DEVICES", "none")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.headers.get("Authorization") != WANT:
            self.send_error(403, "workspace token required")
            return
        body = ("<!doctype html><html><head><meta charset=utf-8><title>workspace %s</title></head>"
                "<body><h1>Test workspace %s of %s</h1><p id=path>%s</p>"
                "<p id=gpus>CUDA_VISIBLE_DEVICES=%s</p></body></html>" % (
                    html.escape(SESSION), html.escape(SESSION), html.escape(USER),
                    html.escape(self.path), html.escape(GPUS))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()

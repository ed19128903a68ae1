"""
A stand-in workspace for proxy tests: it listens where the hub says
(GPUHUB_PORT on 127.0.0.1), refuses any request without the hub's
workspace token, answers GET with what it received (JSON), and echoes
WebSocket text messages (a small RFC 6455 server from the standard library).
WebSocket paths with a word in them change what it does: .../refuse is
answered 404 instead of 101; .../greet sends "hello" and then "g0" to "g49"
right after its 101 (.../greet-N after N microseconds);
.../bye closes the connection after its first echo. The text message
"flood:N:SIZE" is answered with N binary messages of SIZE bytes, each
starting with its number (8 bytes, big-endian), then "flood done"; on
.../bye it then closes the connection.
"""

import base64
import hashlib
import json
import os
import socketserver
import struct
import time

PORT = int(os.environ["GPUHUB_PORT"])
WANT = "token " + os.environ["GPUHUB_WORKSPACE_TOKEN"]
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def read_frame(rfile):
    head = rfile.read(2)
    if len(head) < 2:
        return None, None
    opcode = head[0] & 0x0F
    n = head[1] & 0x7F
    if n == 126:
        n = struct.unpack("!H", rfile.read(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", rfile.read(8))[0]
    mask = rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
    data = bytearray(rfile.read(n))
    for i in range(len(data)):
        data[i] ^= mask[i % 4]
    return opcode, bytes(data)


def send_frame(wfile, opcode, data):
    n = len(data)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    wfile.write(head + data)
    wfile.flush()


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            line = self.rfile.readline()
            if not line:
                return
            method, path, _ = line.decode("latin-1").split(" ", 2)
            headers = {}
            while True:
                h = self.rfile.readline().decode("latin-1").strip()
                if not h:
                    break
                k, v = h.split(":", 1)
                headers[k.strip().lower()] = v.strip()
            body = b""
            if "content-length" in headers:
                body = self.rfile.read(int(headers["content-length"]))
            if headers.get("authorization") != WANT:
                self.reply(403, {"error": "missing or wrong workspace token"})
                continue
            if headers.get("upgrade", "").lower() == "websocket":
                if "/refuse" in path:
                    # an answer like any other: the connection stays open
                    # for the next request, as a keep-alive server's does
                    self.reply(404, {"error": "no such channel"})
                    continue
                return self.websocket(headers, path)
            self.reply(200, {"method": method, "path": path, "headers": headers,
                             "body": body.decode("utf-8", "replace")})

    def reply(self, status, obj, close=False):
        b = json.dumps(obj).encode()
        self.wfile.write(b"HTTP/1.1 %d X\r\ncontent-type: application/json\r\n%s"
                         b"content-length: %d\r\n\r\n" % (status, b"connection: close\r\n" if close else b"",
                                                           len(b)) + b)
        self.wfile.flush()

    def websocket(self, headers, path):
        if headers.get("origin") not in (None, "http://127.0.0.1:%d" % PORT):
            self.reply(403, {"error": "cross-origin websocket refused"}, close=True)
            return
        accept = base64.b64encode(hashlib.sha1((headers["sec-websocket-key"] + GUID)
                                               .encode()).digest()).decode()
        self.wfile.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n" % accept)
                         .encode())
        self.wfile.flush()
        if "/greet" in path:
            tail = path.split("/greet", 1)[1]
            if tail.startswith("-"):
                end = time.perf_counter() + int(tail[1:].split("/")[0].split("?")[0]) / 1e6
                while time.perf_counter() < end:
                    pass
            send_frame(self.wfile, 1, b"hello")
            for i in range(50):
                send_frame(self.wfile, 1, b"g%d" % i)
        while True:
            op, data = read_frame(self.rfile)
            if op is None or op == 8:
                return
            if op == 9:
                send_frame(self.wfile, 10, data)
            elif op == 1 and data.startswith(b"flood:"):
                n, size = (int(x) for x in data.split(b":")[1:])
                for i in range(n):
                    send_frame(self.wfile, 2, struct.pack("!Q", i) + b"x" * (size - 8))
                send_frame(self.wfile, 1, b"flood done")
                if "/bye" in path:
                    return
            elif op in (1, 2):
                send_frame(self.wfile, op, b"echo:" + data)
                if "/bye" in path:
                    return


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


Server(("127.0.0.1", PORT), Handler).serve_forever()

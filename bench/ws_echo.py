#!/usr/bin/python3
"""
ws_echo.py — the upstream of proxy_bench.py's WebSocket round trips: a
Tornado server on 127.0.0.1:$GPUHUB_PORT (or argv[1]) answering GET / with
"ok" and echoing every message on /echo.
"""
import os
import sys

import tornado.ioloop
import tornado.web
import tornado.websocket


class Echo(tornado.websocket.WebSocketHandler):
    def check_origin(self, origin):
        return True

    def on_message(self, message):
        self.write_message(message, binary=isinstance(message, bytes))


class Ok(tornado.web.RequestHandler):
    def get(self):
        self.write("ok")


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ["GPUHUB_PORT"])
    app = tornado.web.Application([(r"/", Ok), (r"/echo", Echo)])
    app.listen(port, address="127.0.0.1")
    tornado.ioloop.IOLoop.current().start()

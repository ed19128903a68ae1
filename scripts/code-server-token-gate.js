// The workspace token gate preloaded into code-server (scripts/install-deps
// copies it next to the install; docs/workspaces.md explains it).
'use strict';
// Every HTTP request and WebSocket upgrade to a TCP listener must carry
// "Authorization: token $GPUHUB_WORKSPACE_TOKEN"; without a token set,
// nothing is served there. Unix-socket listeners (code-server's session
// socket in the user data dir) are left to their file permissions.
const http = require('http');
const crypto = require('crypto');
const tok = process.env.GPUHUB_WORKSPACE_TOKEN || '';
const want = Buffer.from('token ' + tok);
// In the server process (forked by code-server's wrapper, which passes
// CODE_SERVER_PARENT_PID), drop the token and this preload from the
// environment that terminals and extension hosts inherit.
if (process.env.CODE_SERVER_PARENT_PID) {
  delete process.env.GPUHUB_WORKSPACE_TOKEN;
  const rest = String(process.env.NODE_OPTIONS || '').split(/\s+/)
    .filter((o) => o && !o.endsWith('/token-gate.js')).join(' ');
  if (rest) process.env.NODE_OPTIONS = rest; else delete process.env.NODE_OPTIONS;
}
function allowed(req) {
  const got = Buffer.from(String(req.headers.authorization || ''));
  return tok.length > 0 && got.length === want.length && crypto.timingSafeEqual(got, want);
}
function tcp(server) {
  const a = server.address();
  return a === null || typeof a !== 'string';
}
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (ev, req, res) {
  if ((ev !== 'request' && ev !== 'upgrade') || !tcp(this)) return emit.apply(this, arguments);
  if (ev === 'request' && !allowed(req)) {
    res.writeHead(403, { 'Content-Type': 'text/plain', 'Connection': 'close' });
    res.end('workspace token required\n');
    return true;
  }
  if (ev === 'upgrade' && !allowed(req)) {
    res.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return true;
  }
  return emit.apply(this, arguments);
};

#!/usr/bin/python3
"""A stand-in AMD KDS on loopback for test_attestd_kds.sh: serves files laid out as KDS
URLs (ROOT/vcek/v1/<product>/cert_chain, ROOT/vcek/v1/<product>/<hwid>/<query>, the query
of /vcek/v1/<product>/<hwid>?blSPL=..) and logs every request as "status path" to LOG.

usage: kds_standin.py PORTFILE ROOT LOG MODE
  MODE: ok | 429:N (the first N requests get 429 with Retry-After: 1) | 500 (always)
"""
import http.server, os, sys

PORTFILE, ROOT, LOG, MODE = sys.argv[1:5]
count = 0


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def answer(self, code, body=b"", extra=()):
        with open(LOG, "a") as f:
            f.write("%d %s\n" % (code, self.path))
        self.send_response(code)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        global count
        count += 1
        if MODE == "500":
            return self.answer(500, b"internal error")
        if MODE.startswith("429:") and count <= int(MODE[4:]):
            return self.answer(429, b"slow down", [("Retry-After", "1")])
        path, _, query = self.path.partition("?")
        rel = os.path.normpath(path.lstrip("/") + ("/" + query if query else ""))
        f = os.path.join(ROOT, rel)
        if rel.startswith("..") or not os.path.isfile(f):
            return self.answer(404, b"not found")
        self.answer(200, open(f, "rb").read(), [("Content-Type", "application/octet-stream")])


srv = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()

import http.server, os

class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"hello\n")

http.server.HTTPServer(("", int(os.environ.get("PORT", "8000"))), Hello).serve_forever()

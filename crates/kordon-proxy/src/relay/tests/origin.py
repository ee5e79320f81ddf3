# The origin server of the HTTP exchange tests: Python's http.server with one path per
# behaviour the proxy must forward. Prints its port, then serves until killed.
import hashlib, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Origin(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def reply(self, code, body, fields=()):
        self.send_response(code)
        for name, value in fields:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Upstream-Port", str(self.client_address[1]))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        path = self.path
        if path.startswith("/hello"):
            self.reply(200, b"hello " + path.encode(), [("Connection", "X-Private"), ("X-Private", "1"), ("Keep-Alive", "timeout=5")])
        elif path == "/echo":
            self.reply(200, self.read_body())
        elif path == "/echo-chunked":
            body = self.read_body()
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Trailer", "X-Sha256")
            self.end_headers()
            for at in range(0, len(body), 65536):
                piece = body[at:at + 65536]
                self.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\nX-Sha256: %s\r\n\r\n" % hashlib.sha256(body).hexdigest().encode())
        elif path.startswith("/big/"):
            body = os.urandom(int(path[5:]))
            self.reply(200, body, [("X-Sha256", hashlib.sha256(body).hexdigest())])
        elif path.startswith("/status/"):
            self.send_response(int(path[8:]))
            self.send_header("ETag", '"v1"')
            self.send_header("X-Upstream-Port", str(self.client_address[1]))
            self.end_headers()
        elif path == "/close":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"until the end" * 1000)
            self.close_connection = True
        elif path == "/malformed":
            self.wfile.write(b"HTTP/1.1 2OO Fine\r\nContent-Length: 2\r\n\r\nok")
            self.close_connection = True
        elif path == "/silent":
            self.close_connection = True
        elif path == "/upgrade":
            self.send_response(101)
            self.send_header("Upgrade", "echo")
            self.send_header("Connection", "Upgrade")
            self.end_headers()
            self.wfile.flush()
            while True:
                data = self.connection.recv(65536)
                if not data:
                    break
                self.connection.sendall(data.upper())
            self.close_connection = True
        else:
            self.reply(404, b"no such path")

    do_POST = do_PUT = do_HEAD = do_GET


server = ThreadingHTTPServer(("127.0.0.1", 0), Origin)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()

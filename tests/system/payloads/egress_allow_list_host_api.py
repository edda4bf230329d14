# expect: {"phase": ["succeeded"], "egress": {"mode": "allow_list", "allow": ["localhost:{API_PORT}"]}, "stdout": "refused", "notStdout": "ESCAPED", "deniedReason": "internal_address"}
# An allow-list that names the host's own API (a name resolving to loopback) gains nothing: the
# proxy resolves it, refuses the internal address and audits it — through a plain proxied GET
# and through a CONNECT tunnel alike.
import os, socket, urllib.request

port = int(os.environ["API_PORT"])
proxy = os.environ.get("HTTP_PROXY", "http://127.0.0.1:3128").split("//")[-1].rstrip("/")
ph, pp = proxy.rsplit(":", 1)
try:
    body = urllib.request.urlopen(f"http://localhost:{port}/v1/healthz", timeout=5).read()
    print("ESCAPED via GET:", body[:60])
except Exception as e:
    print("refused GET:", type(e).__name__)
try:
    s = socket.create_connection((ph, int(pp)), timeout=5)
    s.sendall(f"CONNECT localhost:{port} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n".encode())
    head = s.recv(200)
    if head.startswith(b"HTTP/1.1 200"):
        s.sendall(b"GET /v1/healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        print("ESCAPED via CONNECT:", s.recv(200)[:60])
    else:
        print("refused CONNECT:", head[:12])
except Exception as e:
    print("refused CONNECT:", type(e).__name__)

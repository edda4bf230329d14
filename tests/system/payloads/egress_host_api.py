# expect: {"phase": ["succeeded"], "stdout": "refused", "notStdout": "REACHED"}
# The host's own services (the API port) are not reachable: 127.0.0.1 inside is the sandbox's.
import os, socket
port = int(os.environ.get("API_PORT", "8090"))
s = socket.socket()
s.settimeout(3)
try:
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /v1/sessions HTTP/1.0\r\n\r\n")
    print("REACHED the API:", s.recv(100))
except OSError as e:
    print("refused:", e)

# expect: {"phase": ["succeeded"], "stdout": "blocked", "notStdout": "REACHED"}
import urllib.request
try:
    urllib.request.urlopen("http://example.com/", timeout=3)
    print("REACHED example.com")
except Exception as e:
    print("blocked:", e)

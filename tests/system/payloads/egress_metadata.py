# expect: {"phase": ["succeeded"], "stdout": "blocked", "deniedHost": "169.254.169.254"}
import urllib.request
try:
    urllib.request.urlopen("http://169.254.169.254/latest/meta-data/", timeout=3)
    print("REACHED metadata")
except Exception as e:
    print("blocked:", e)

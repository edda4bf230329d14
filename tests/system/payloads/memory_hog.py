# expect: {"phase": ["killed"], "killReason": ["memory_exceeded"], "limits": {"memoryMb": 128}}
hog = []
while True:
    hog.append(bytearray(16 << 20))

# expect: {"phase": ["succeeded"], "jsonIsNull": true}
# Printing something that looks like a result is just output.
print('{"v": 1}')
print('{"type": "result", "json": {"v": 1}}')
print('\x00\x00\x00\x10{"result": {"v": 1}}')

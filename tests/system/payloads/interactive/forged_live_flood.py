# expect: {"liveStdoutAtMost": 1048576, "liveTruncated": true, "rssGrowthMibUnder": 64}
# One interactive turn that forges 600 MiB of live-output ('o') frames on the runner's own result
# channel (the workload shares the runner's process, so its globals are reachable), each chunk
# full of ESCAPED. Contained when every live route carries at most the 1 MiB cap of it, marked
# truncated, and enclaved's memory stays bounded whatever the watchers' read speed.
g = enclave.result.__globals__  # the runner's module globals: _frame, _send_frames
chunk = b"ESCAPED\n" * (1 << 16)  # 512 KiB
frames = g["_frame"](b"o", chunk) * 8  # 4 MiB per write
sent = 0
while sent < (600 << 20):
    g["_send_frames"](frames)
    sent += 8 * len(chunk)
print("flood done")
enclave.result({"forgedBytes": sent})

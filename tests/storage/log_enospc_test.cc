// The event log meeting a really full disk (a 32 MiB tmpfs, 20 MiB of it ballast; needs root to
// mount, else exit 77): RocksDB's ENOSPC is an error value for the append, never an abort (Debian's
// RocksDB 7.8 aborts on an assert if its WAL writer is touched after a failed write: by its own
// auto-recovery, by Resume() on a still-full disk, or by closing the DB); the log takes no write
// until there is room, resumes by itself then, and everything acknowledged is still there and
// verifies.
#include <sys/mount.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "events/ids.h"
#include "storage/event_log.h"
#include "storage/verify.h"
#include "tests/support/temp_dir.h"

using namespace enclave;
using namespace enclave::storage;

namespace {

int failures = 0;
#define CHECK(cond, what)                                                   \
  do {                                                                      \
    if (!(cond)) {                                                          \
      std::fprintf(stderr, "FAILED %s:%d: %s\n", __FILE__, __LINE__, what); \
      ++failures;                                                           \
    }                                                                       \
  } while (0)

events::Envelope big_event(const std::string& stream, uint64_t seq, size_t bytes) {
  events::Envelope e;
  e.set_stream(stream);
  e.set_seq(seq);
  e.set_at_ms(1000 + seq);
  e.set_org_id("acme");
  e.mutable_egress_denied()->set_host(std::string(bytes, static_cast<char>('a' + seq % 26)));
  return e;
}

// Unmounts the tmpfs however the test ends.
struct Mount {
  std::string path;
  bool mounted = false;
  ~Mount() {
    if (mounted) ::umount2(path.c_str(), MNT_DETACH);
  }
};

}  // namespace

int main() {
  TempDir tmp;
  Mount mnt{tmp.path()};
  if (::mount("tmpfs", mnt.path.c_str(), "tmpfs", 0, "size=32m") != 0) {
    std::perror("mount tmpfs (skipping: needs root)");
    return 77;
  }
  mnt.mounted = true;
  const std::string dir = mnt.path + "/data";
  const std::string ballast = mnt.path + "/ballast";
  {  // 20 MiB that can be given back later, as an operator freeing space would
    std::ofstream b(ballast, std::ios::binary);
    std::string mib(1 << 20, 'b');
    for (int i = 0; i < 20; ++i) b << mib;
  }
  const std::string s = new_stream_id();
  uint64_t acknowledged = 0;
  {
    auto opened = EventLog::open(dir, OpenMode::kReadWrite);
    if (!opened) {
      std::fprintf(stderr, "FAILED: open: %s\n", opened.error().message.c_str());
      return 1;
    }
    auto log = std::move(*opened);
    log->set_free_space([] { return std::optional<uint64_t>(); });  // no room check: hit ENOSPC
    Error first_error;
    bool failed = false;
    for (int i = 0; i < 200 && !failed; ++i) {
      auto r = log->append({{s, acknowledged, {big_event(s, acknowledged + 1, 256 << 10)}}});
      if (r.ok()) {
        ++acknowledged;
      } else {
        failed = true;
        first_error = r.error();
      }
    }
    CHECK(failed, "12 MiB of room took 50 MiB of appends");
    CHECK(first_error.code == ErrorCode::kUnavailable && first_error.reason == "log_unavailable",
          ("the failure is log_unavailable: " + first_error.reason + " " + first_error.message)
              .c_str());
    CHECK(!log->writable(), "unwritable after a failed write");
    std::printf("acknowledged %llu events of 256 KiB before ENOSPC: %s\n",
                static_cast<unsigned long long>(acknowledged), first_error.message.c_str());
    // More appends on the failed log: values, not an abort.
    for (int i = 0; i < 3; ++i)
      CHECK(!log->append({{s, acknowledged, {big_event(s, acknowledged + 1, 1000)}}}).ok(),
            "an append while unwritable fails");
    // The real room check again (the default): no Resume() on a full disk.
    log->set_free_space([dir] {
      auto sp = std::filesystem::space(dir);
      return std::optional<uint64_t>(sp.available);
    });
    CHECK(!log->probe_writable(), "still full: not writable");
    std::filesystem::remove(ballast);
    // 20 MiB freed: room for the memtables' flush (~ what the WAL took) and the reserve.
    CHECK(log->probe_writable(),
          ("resumed once there is room: " + log->unwritable_reason()).c_str());
    auto r = log->append({{s, acknowledged, {big_event(s, acknowledged + 1, 1000)}}});
    CHECK(r.ok(), "an append after resuming lands");
    if (r.ok()) ++acknowledged;
    CHECK(log->writable(), "writable after resuming");
  }  // closing: a log still unwritable is left open on purpose (never an abort)
  auto log = EventLog::open(dir, OpenMode::kReadOnly);
  CHECK(log.ok(), "the data dir opens after the episode");
  if (log.ok()) {
    auto head = (*log)->head(s);
    CHECK(head && head->seq == acknowledged, "every acknowledged event is there, nothing more");
    auto report = verify_log(**log);
    CHECK(report.ok, ("verify: " + report.problem).c_str());
  }
  if (failures == 0) std::printf("ok: ENOSPC was a value, the log verified afterwards\n");
  return failures == 0 ? 0 : 1;
}

// File operations beneath a session's working directory (backends/session_files.h) against what a
// hostile workload plants there: symlinks to `/`, to a directory outside (the data dir), to
// another session's directory, to /proc/self, a FIFO, and a directory swapped for a symlink
// while the operations run. Each hostile case sits beside a clean one that must keep working.
#define BOOST_TEST_MODULE session_files
#include "backends/session_files.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/support/temp_dir.h"

using namespace enclave;
namespace sf = enclave::backends::files;
namespace fs = std::filesystem;

namespace {

files::SessionPath P(const std::string& p) {
  auto r = files::parse_session_path(p);
  BOOST_REQUIRE_MESSAGE(r.ok(), p);
  return *r;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void spit(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

// A working dir with what a hostile workload plants, beside a data dir and another session.
struct Planted {
  TempDir tmp;
  std::string root, outside, other;
  sf::Fd fd;
  Planted() {
    root = tmp.path() + "/session/home";
    outside = tmp.path() + "/data";  // stands for the server's data dir
    other = tmp.path() + "/other/home";
    fs::create_directories(root);
    fs::create_directories(outside);
    fs::create_directories(other);
    spit(outside + "/secret", "DATA-DIR-SECRET");
    spit(other + "/theirs", "OTHER-SESSION");
    spit(root + "/clean.txt", "clean");
    fs::create_directory_symlink("/", root + "/root");
    fs::create_directory_symlink(outside, root + "/data");
    fs::create_directory_symlink(other, root + "/other");
    fs::create_directory_symlink("/proc/self", root + "/me");
    fs::create_symlink(outside + "/secret", root + "/secretlink");
    ::mkfifo((root + "/fifo").c_str(), 0644);
    auto r = sf::open_root(root);
    BOOST_REQUIRE(r.ok());
    fd = std::move(*r);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(session_files)

BOOST_AUTO_TEST_CASE(upload_download_list_in_a_clean_dir) {
  Planted t;
  auto w = sf::write_file(t.fd.get(), P("/home/user/in/deep/data.csv"), "a,b\n1,2\n",
                          sf::Owner{::getuid(), ::getgid()});
  BOOST_REQUIRE(w.ok());
  BOOST_CHECK_EQUAL(w->size, 8u);
  BOOST_CHECK_EQUAL(w->sha256.size(), 64u);
  BOOST_CHECK_EQUAL(slurp(t.root + "/in/deep/data.csv"), "a,b\n1,2\n");
  auto f = sf::open_file(t.fd.get(), P("/home/user/in/deep/data.csv"));
  BOOST_REQUIRE(f.ok());
  BOOST_CHECK_EQUAL(f->size, 8u);
  BOOST_CHECK_EQUAL(read_all(f->fd.get()), "a,b\n1,2\n");
  auto l = sf::list_dir(t.fd.get(), P("/home/user"), 1);
  BOOST_REQUIRE(l.ok());
  std::map<std::string, std::string> types;
  for (const auto& e : l->entries) types[e.name] = e.type;
  BOOST_CHECK_EQUAL(types["in"], "dir");
  BOOST_CHECK_EQUAL(types["clean.txt"], "file");
  BOOST_CHECK_EQUAL(types["root"], "symlink");  // listed, never followed
  BOOST_CHECK_EQUAL(types["data"], "symlink");
  BOOST_CHECK(types.count("secret") == 0);  // nothing of the data dir shows up
  auto deep = sf::list_dir(t.fd.get(), P("/home/user/in"), 2);
  BOOST_REQUIRE(deep.ok());
  BOOST_CHECK_EQUAL(deep->entries.size(), 2u);  // deep, deep/data.csv
  BOOST_CHECK(!sf::make_dir(t.fd.get(), P("/home/user/new/dir")).has_value());
  BOOST_CHECK(fs::is_directory(t.root + "/new/dir"));
  BOOST_CHECK_EQUAL(sf::make_dir(t.fd.get(), P("/home/user/new"))->reason, "already_exists");
  BOOST_CHECK(
      !sf::move_path(t.fd.get(), P("/home/user/clean.txt"), P("/home/user/new/c.txt")).has_value());
  BOOST_CHECK_EQUAL(slurp(t.root + "/new/c.txt"), "clean");
  BOOST_CHECK(!sf::remove_path(t.fd.get(), P("/home/user/new")).has_value());
  BOOST_CHECK(!fs::exists(t.root + "/new"));
  BOOST_CHECK_EQUAL(sf::remove_path(t.fd.get(), P("/home/user"))->reason, "path_forbidden");
}

BOOST_AUTO_TEST_CASE(planted_symlinks_never_lead_outside) {
  Planted t;
  const sf::Owner me{::getuid(), ::getgid()};
  // Reads through every planted link are refused; the clean file next to them still reads.
  for (const char* p :
       {"/home/user/root/etc/hostname", "/home/user/data/secret", "/home/user/other/theirs",
        "/home/user/me/environ", "/home/user/secretlink"}) {
    auto f = sf::open_file(t.fd.get(), P(p));
    BOOST_TEST_CONTEXT(p) {
      BOOST_REQUIRE(!f.ok());
      BOOST_CHECK_EQUAL(f.error().reason, "path_forbidden");
    }
  }
  auto clean = sf::open_file(t.fd.get(), P("/home/user/clean.txt"));
  BOOST_REQUIRE(clean.ok());
  BOOST_CHECK_EQUAL(read_all(clean->fd.get()), "clean");
  // Writes through a linked directory are refused and create nothing outside.
  for (const char* p : {"/home/user/data/pwned", "/home/user/other/pwned",
                        "/home/user/root/tmp/enclave-pwned", "/home/user/data/new/pwned"}) {
    auto w = sf::write_file(t.fd.get(), P(p), "pwned", me);
    BOOST_TEST_CONTEXT(p) { BOOST_CHECK(!w.ok()); }
  }
  BOOST_CHECK(!fs::exists(t.outside + "/pwned"));
  BOOST_CHECK(!fs::exists(t.outside + "/new"));
  BOOST_CHECK(!fs::exists(t.other + "/pwned"));
  BOOST_CHECK(!fs::exists("/tmp/enclave-pwned"));
  // A write AT a symlink replaces the link; the file it pointed to keeps its bytes.
  auto w = sf::write_file(t.fd.get(), P("/home/user/secretlink"), "mine", me);
  BOOST_REQUIRE(w.ok());
  BOOST_CHECK_EQUAL(slurp(t.outside + "/secret"), "DATA-DIR-SECRET");
  BOOST_CHECK(!fs::is_symlink(t.root + "/secretlink"));
  BOOST_CHECK_EQUAL(slurp(t.root + "/secretlink"), "mine");
  // Listing, stat, mkdir, move and remove through links: refused, nothing outside touched.
  BOOST_CHECK(!sf::list_dir(t.fd.get(), P("/home/user/data"), 1).ok());
  BOOST_CHECK(!sf::list_dir(t.fd.get(), P("/home/user/root"), 1).ok());
  BOOST_CHECK(!sf::stat_path(t.fd.get(), P("/home/user/data/secret")).ok());
  BOOST_CHECK(sf::make_dir(t.fd.get(), P("/home/user/data/d"), me).has_value());
  BOOST_CHECK(sf::move_path(t.fd.get(), P("/home/user/data/secret"), P("/home/user/stolen"), me)
                  .has_value());
  BOOST_CHECK(sf::move_path(t.fd.get(), P("/home/user/clean.txt"), P("/home/user/data/planted"), me)
                  .has_value());
  BOOST_CHECK(sf::remove_path(t.fd.get(), P("/home/user/data/secret")).has_value());
  BOOST_CHECK_EQUAL(slurp(t.outside + "/secret"), "DATA-DIR-SECRET");
  BOOST_CHECK(!fs::exists(t.outside + "/planted"));
  // Removing a link removes the link only, never what it points to.
  BOOST_CHECK(!sf::remove_path(t.fd.get(), P("/home/user/data")).has_value());
  BOOST_CHECK(!fs::exists(fs::symlink_status(t.root + "/data")));
  BOOST_CHECK_EQUAL(slurp(t.outside + "/secret"), "DATA-DIR-SECRET");
  // A FIFO is refused at once (the server never blocks in open()).
  auto fifo = sf::open_file(t.fd.get(), P("/home/user/fifo"));
  BOOST_REQUIRE(!fifo.ok());
  BOOST_CHECK_EQUAL(fifo.error().reason, "not_a_file");
}

BOOST_AUTO_TEST_CASE(a_link_swapped_between_check_and_use_changes_nothing_outside) {
  Planted t;
  const sf::Owner me{::getuid(), ::getgid()};
  fs::create_directory(t.root + "/d");
  spit(t.root + "/d/mine", "MINE");
  fs::create_directory_symlink(t.outside, t.root + "/swap");
  std::atomic<bool> stop{false};
  // The workload flips `d` between its own directory and a link to the data dir, as fast as it
  // can (RENAME_EXCHANGE: atomic), while the API uploads into and reads from `d`.
  std::thread flipper([&] {
    while (!stop) {
      (void)::syscall(SYS_renameat2, AT_FDCWD, (t.root + "/d").c_str(), AT_FDCWD,
                      (t.root + "/swap").c_str(), 2 /* RENAME_EXCHANGE */);
    }
  });
  int wrote = 0, read_mine = 0;
  for (int i = 0; i < 2000; ++i) {
    if (sf::write_file(t.fd.get(), P("/home/user/d/pwned"), "pwned", me).ok()) ++wrote;
    auto f = sf::open_file(t.fd.get(), P("/home/user/d/secret"));
    BOOST_REQUIRE_MESSAGE(!f.ok(), "read the data dir's secret through a swapped link");
    auto m = sf::open_file(t.fd.get(), P("/home/user/d/mine"));
    if (m.ok()) {
      BOOST_REQUIRE_EQUAL(read_all(m->fd.get()), "MINE");
      ++read_mine;
    }
  }
  stop = true;
  flipper.join();
  BOOST_CHECK(!fs::exists(t.outside + "/pwned"));
  BOOST_CHECK_EQUAL(slurp(t.outside + "/secret"), "DATA-DIR-SECRET");
  BOOST_TEST_MESSAGE(
      "uploads that landed in the session's own dir: " << wrote << ", clean reads: " << read_mine);
  BOOST_CHECK_GT(wrote + read_mine, 0);  // the clean sibling kept working through the race
}

BOOST_AUTO_TEST_CASE(uploads_are_bounded_and_leave_nothing_when_refused) {
  Planted t;
  auto u =
      sf::Upload::begin(t.fd.get(), P("/home/user/big.bin"), 10, sf::Owner{::getuid(), ::getgid()});
  BOOST_REQUIRE(u.ok());
  BOOST_CHECK(!(*u)->write("12345", 5).has_value());
  auto e = (*u)->write("123456", 6);
  BOOST_REQUIRE(e.has_value());
  BOOST_CHECK_EQUAL(e->reason, "too_large");
  u->reset();  // refused: the temporary file goes
  for (const auto& ent : fs::directory_iterator(t.root))
    BOOST_CHECK_MESSAGE(ent.path().filename().string().rfind(".enclave-upload", 0) != 0,
                        "left behind " << ent.path());
  BOOST_CHECK(!fs::exists(t.root + "/big.bin"));
}

BOOST_AUTO_TEST_CASE(a_full_working_dir_is_insufficient_storage) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/home";
  fs::create_directory(dir);
  if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=1m") != 0) {
    BOOST_TEST_MESSAGE("cannot mount a tmpfs here (not root?): skipped");
    return;
  }
  {
    auto root = sf::open_root(dir);
    BOOST_REQUIRE(root.ok());
    std::string mib(1 << 20, 'x');
    auto w = sf::write_file(root->get(), P("/home/user/a"), mib + mib);
    BOOST_REQUIRE(!w.ok());
    BOOST_CHECK_EQUAL(w.error().reason, "insufficient_storage");
    BOOST_CHECK_EQUAL(w.error().field, "limits.diskMb");
    auto small = sf::write_file(root->get(), P("/home/user/b"), "fits");
    BOOST_CHECK(small.ok());  // the failed upload's bytes were freed
  }
  ::umount2(dir.c_str(), MNT_DETACH);
}

BOOST_AUTO_TEST_CASE(artifacts_are_regular_files_within_bounds) {
  Planted t;
  fs::create_directory(t.root + "/out");
  spit(t.root + "/out/r.txt", "HELLO");
  spit(t.root + "/out/big.txt", std::string(100, 'b'));
  spit(t.root + "/out/skip.png", "png");
  fs::create_symlink(t.outside + "/secret", t.root + "/out/leak.txt");
  ::mkfifo((t.root + "/out/fifo.txt").c_str(), 0644);
  auto c = sf::collect_artifacts(t.fd.get(), {"out/*.txt", "data/*"}, 10, 50, 1000);
  BOOST_REQUIRE_EQUAL(c.files.size(), 1u);
  BOOST_CHECK_EQUAL(c.files[0].path, "/home/user/out/r.txt");
  BOOST_CHECK_EQUAL(c.files[0].content, "HELLO");
  BOOST_CHECK_EQUAL(c.files[0].facts.size, 5u);
  BOOST_CHECK_EQUAL(c.skipped.size(), 1u);  // big.txt: over max_each
}

BOOST_AUTO_TEST_SUITE_END()

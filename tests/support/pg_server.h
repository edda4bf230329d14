// A throwaway PostgreSQL 15 for a test process: a cluster (initdb'd once per machine into
// /tmp/enclave-pg15-template, then copied) in a temp dir owned by `postgres` (initdb refuses root),
// started with pg_ctl on a free port with its unix socket in that dir and no TCP listener, and a
// database `enclave`. Started once per process (the first call), stopped (immediate) and removed at
// exit. conninfo() is what --store postgres: takes.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace enclave::test {

class PgServer {
 public:
  static PgServer& get() {
    static PgServer server;
    return server;
  }
  const std::string& conninfo() const { return conninfo_; }
  // A fresh empty database on the same server (each test case its own log).
  std::string fresh_db() {
    const std::string name = "t" + std::to_string(++dbs_);
    run(bin_ + "/createdb -h " + dir_ + " -p " + std::to_string(port_) + " " + name);
    return "host=" + dir_ + " port=" + std::to_string(port_) + " dbname=" + name + " user=postgres";
  }
  // Runs SQL on database `enclave` as postgres (psql), e.g. to force a lease's expiry.
  void sql(const std::string& conninfo, const std::string& statement) {
    run("psql -q -v ON_ERROR_STOP=1 '" + conninfo + "' -c \"" + statement + "\"");
  }

 private:
  PgServer() {
    if (!std::filesystem::exists(bin_ + "/initdb"))
      throw std::runtime_error("postgresql-15 is not installed (scripts/install-deps)");
    std::string tmpl = (std::filesystem::temp_directory_path() / "enclave-pg-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    passwd* pw = ::getpwnam("postgres");
    if (!pw) throw std::runtime_error("no postgres user (postgresql-15 creates it)");
    if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0 || ::chmod(dir_.c_str(), 0755) != 0)
      throw std::runtime_error("cannot hand " + dir_ + " to postgres");
    port_ = free_port();
    // initdb takes seconds on a busy machine; every test process copies one made once instead
    // (made under a lock, by whichever process comes first; a fresh cluster, never started).
    const std::string tmpl_dir = "/tmp/enclave-pg15-template";
    if (!std::filesystem::exists(tmpl_dir + "/PG_VERSION"))
      run("flock " + tmpl_dir + ".lock sh -c 'test -f " + tmpl_dir + "/PG_VERSION || (rm -rf " +
          tmpl_dir + ".new && mkdir " + tmpl_dir + ".new && chown postgres " + tmpl_dir +
          ".new && " + as_pg(bin_ + "/initdb -N -D " + tmpl_dir + ".new -A trust") +
          " >/dev/null && mv " + tmpl_dir + ".new " + tmpl_dir + ")'");
    run("cp -a " + tmpl_dir + " " + dir_ + "/db");
    run(as_pg(bin_ + "/pg_ctl -D " + dir_ + "/db -o \"-p " + std::to_string(port_) + " -k " + dir_ +
              " -c listen_addresses='' -c fsync=on\" -l " + dir_ + "/log -w start") +
        " >/dev/null");
    started_ = true;
    run(bin_ + "/createdb -h " + dir_ + " -p " + std::to_string(port_) + " -U postgres enclave");
    conninfo_ = "host=" + dir_ + " port=" + std::to_string(port_) + " dbname=enclave user=postgres";
    ::setenv("PGUSER", "postgres", 1);
  }
  ~PgServer() {
    if (started_)
      (void)std::system(
          (as_pg(bin_ + "/pg_ctl -D " + dir_ + "/db -m immediate stop") + " >/dev/null 2>&1")
              .c_str());
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  static std::string as_pg(const std::string& cmd) { return "runuser -u postgres -- " + cmd; }
  static void run(const std::string& cmd) {
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
  }
  static int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin_port);
    ::close(fd);
    return port;
  }

  std::string bin_ = "/usr/lib/postgresql/15/bin";
  std::string dir_, conninfo_;
  int port_ = 0;
  int dbs_ = 0;
  bool started_ = false;
};

}  // namespace enclave::test

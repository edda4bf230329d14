#include "storage/images/debian_build.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>

#include "events/codec/sha256.h"
#include "storage/images/run_tool.h"
#include "storage/images/tree_digest.h"

namespace enclave::images {
namespace fs = std::filesystem;
namespace {

Error bad(const std::string& field, const std::string& message) {
  return make_error(ErrorCode::kInvalidArgument, "invalid_argument", message, field);
}

// Paths and URLs that go into mmdebstrap's shell hooks: nothing a shell would interpret.
bool shell_safe(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("/._-:+", c) != nullptr;
  });
}

std::vector<std::string> package_set(const DebianBuild& b) {
  std::set<std::string> s(b.packages.begin(), b.packages.end());
  s.insert("python3");
  return {s.begin(), s.end()};
}

std::optional<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string data(64 * 1024 + 1, '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<size_t>(in.gcount()));
  if (data.size() > 64 * 1024) return std::nullopt;
  return data;
}

}  // namespace

bool valid_debian_package(const std::string& n) {
  if (n.size() < 2 || n.size() > 100) return false;
  auto ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!ok(n[0])) return false;
  return std::all_of(n.begin(), n.end(),
                     [&](char c) { return ok(c) || c == '+' || c == '.' || c == '-'; });
}

std::string build_inputs(const DebianBuild& b) {
  std::string text = "enclave-image-v1\nsuite " + b.suite + "\nmirror " + b.mirror + "\n";
  for (const auto& p : package_set(b)) text += "package " + p + "\n";
  return "sha256:" + sha256_hex(text);
}

Result<api::Image> build_debian_image(Store& store, const DebianBuild& b, std::ostream& log) {
  if (!valid_image_name(b.name) || b.name == kDefaultImage)
    return bad("name", "image names are [a-z0-9][a-z0-9._-]{0,62} and not \"default\"");
  if (b.packages.empty()) return bad("debian-packages", "give at least one Debian package");
  for (const auto& p : b.packages)
    if (!valid_debian_package(p)) return bad("debian-packages", "not a Debian package name: " + p);
  if (!shell_safe(b.suite) || !shell_safe(b.mirror) || !shell_safe(b.cache_dir))
    return bad("suite/mirror/cache-dir",
               "suite, mirror and cache dir must be plain [A-Za-z0-9/._-:+]");
  const std::string inputs = build_inputs(b);

  // Cached: an image built from these inputs is in the store (under this name or another).
  if (auto same = store.find_by_inputs(inputs)) {
    log << "images build: cached (" << same->digest() << ")\n";
    if (same->name() == b.name) return *same;
    same->set_name(b.name);
    same->set_created_at(now_rfc3339());
    return store.name_existing(std::move(*same));
  }

  std::error_code ec;
  const std::string debs = b.cache_dir + "/debs";
  const std::string cached = b.cache_dir + "/trees/" + inputs.substr(7);
  fs::create_directories(debs, ec);
  if (ec) return make_error(ErrorCode::kInternal, "io", "create " + debs + ": " + ec.message());
  auto work = store.make_work_dir();
  if (!work) return work.error();
  const std::string tree = *work + "/rootfs";

  // Built before, in another data dir: a hard-linked copy of the cached tree (read-only to every
  // sandbox, so sharing inodes is safe) under the manifest it was built with.
  auto text = read_small_file(cached + "/manifest.json");
  if (text && fs::is_directory(cached + "/rootfs", ec)) {
    auto m = parse_manifest(*text);
    if (m && m->inputs() == inputs &&
        run_tool({"/bin/cp", "-al", cached + "/rootfs", tree}, {}) == 0) {
      log << "images build: from the cache " << cached << " (" << m->digest() << ")\n";
      m->set_name(b.name);
      m->set_created_at(now_rfc3339());
      auto installed = store.install(tree, std::move(*m));
      fs::remove_all(*work, ec);
      return installed;
    }
    fs::remove_all(tree, ec);
  }
  std::string include;
  for (const auto& p : package_set(b)) include += (include.empty() ? "" : ",") + p;
  const std::vector<std::string> argv = {
      b.mmdebstrap, "--mode=root", "--variant=essential", "--format=directory",
      "--aptopt=Apt::Install-Recommends \"false\"", "--include=" + include,
      // The .deb cache: copied in before the download, the downloads copied back out after.
      "--skip=download/empty", "--skip=essential/unlink",
      "--setup-hook=mkdir -p \"$1\"/var/cache/apt/archives/",
      "--setup-hook=sync-in " + debs + " /var/cache/apt/archives/",
      "--customize-hook=sync-out /var/cache/apt/archives " + debs,
      // Mount points of the runner's files (the root is read-only in the sandbox).
      "--customize-hook=mkdir -p \"$1\"/opt/enclave \"$1\"/opt/enclave-io", b.suite, tree,
      b.mirror};
  log << "images build: mmdebstrap " << include << " (" << b.suite << ", " << b.mirror << ")\n";
  log.flush();
  // SOURCE_DATE_EPOCH: mmdebstrap's reproducible mode, and byte-identical .pyc files.
  const int rc = run_tool(argv, {"SOURCE_DATE_EPOCH=1700000000", "LC_ALL=C.UTF-8"});
  if (rc != 0) {
    fs::remove_all(*work, ec);
    return make_error(ErrorCode::kInternal, "build_failed",
                      "mmdebstrap failed (exit " + std::to_string(rc) + ")");
  }
  for (const char* volatile_dir : {"var/cache/apt/archives", "var/log"}) {
    // Download leftovers and logs with timestamps: not the image's content.
    for (auto& e : fs::directory_iterator(tree + "/" + volatile_dir, ec))
      if (e.is_regular_file()) fs::remove(e.path(), ec);
  }
  auto digest = digest_tree(tree);
  if (!digest) {
    fs::remove_all(*work, ec);
    return digest.error();
  }
  api::Image m;
  m.set_name(b.name);
  m.set_digest(digest->digest);
  m.set_size_bytes(static_cast<double>(digest->size_bytes));
  for (const auto& l : languages_in(tree)) m.add_languages(l);
  m.set_created_at(now_rfc3339());
  for (const auto& p : package_set(b)) m.add_debian_packages(p);
  m.set_inputs(inputs);
  ::chmod(tree.c_str(), 0755);
  // Into the shared cache first (hard links), for the next data dir; a failure only costs speed.
  fs::remove_all(cached, ec);
  fs::create_directories(cached, ec);
  if (!ec && run_tool({"/bin/cp", "-al", tree, cached + "/rootfs"}, {}) == 0) {
    std::ofstream(cached + "/manifest.json", std::ios::trunc) << manifest_json(m);
  } else {
    log << "images build: could not cache the tree in " << cached << "\n";
  }
  auto installed = store.install(tree, std::move(m));
  fs::remove_all(*work, ec);
  return installed;
}

}  // namespace enclave::images

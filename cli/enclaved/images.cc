// `enclaved images build|import|list|remove`: the image store of a data dir (issue 21), offline
// like `keys` (a server running on the same data dir sees a new image at its next request).
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

#include "cli/enclaved/commands.h"
#include "storage/images/debian_build.h"
#include "storage/images/oci_import.h"
#include "storage/images/store.h"

namespace enclave::enclaved {
namespace {

std::string option_or_env(const cli::Options& o, const std::string& flag, const char* env,
                          const std::string& dflt) {
  if (o.has(flag)) return o.get(flag);
  if (const char* v = std::getenv(env); v && *v) return v;
  return dflt;
}

void print_image(const api::Image& m) {
  std::string langs;
  for (const auto& l : m.languages()) langs += (langs.empty() ? "" : ",") + l;
  std::cout << std::left << std::setw(20) << m.name() << " " << std::setw(78) << m.digest() << " "
            << std::setw(8) << (static_cast<uint64_t>(m.size_bytes()) >> 20) << " MiB  "
            << (langs.empty() ? "-" : langs) << "\n";
}

}  // namespace

int images_main(const std::vector<std::string>& words) {
  if (words.empty()) usage_error("images: expected build, import, list or remove");
  const std::string verb = words[0];
  const std::vector<std::string> rest(words.begin() + 1, words.end());
  if (verb == "build") {
    ::umask(022);  // an image's files are public software the sandbox user must read
    auto o =
        parse_or_exit(rest, {"data-dir", "debian-packages", "suite", "mirror", "cache-dir"}, {});
    if (o.positional.size() != 1) usage_error("images build: expected exactly one NAME");
    images::DebianBuild b;
    b.name = o.positional[0];
    b.packages = cli::split_list(o.get("debian-packages"));
    b.suite = option_or_env(o, "suite", "ENCLAVE_IMAGE_SUITE", b.suite);
    b.mirror = option_or_env(o, "mirror", "ENCLAVE_IMAGE_MIRROR", b.mirror);
    b.cache_dir = option_or_env(o, "cache-dir", "ENCLAVE_IMAGE_CACHE_DIR", b.cache_dir);
    images::Store store(data_dir_of(o));
    const auto started = std::chrono::steady_clock::now();
    auto r = images::build_debian_image(store, b, std::cerr);
    if (!r) {
      std::cerr << "enclaved images build: " << r.error().message
                << (r.error().field.empty() ? "" : " (" + r.error().field + ")") << "\n";
      return 1;
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
    print_image(*r);
    std::cerr << "enclaved images build: " << r->name() << " ready in " << ms << " ms\n";
    return 0;
  }
  if (verb == "import") {
    ::umask(022);  // as build: the sandbox user must read the image's files
    auto o =
        parse_or_exit(rest, {"data-dir", "max-archive-mb", "max-file-mb", "max-unpacked-mb"}, {});
    if (o.positional.size() != 2) usage_error("images import: expected NAME FILE");
    images::OciImport in;
    in.name = o.positional[0];
    in.archive = o.positional[1];
    auto mib = [&o](const std::string& flag, uint64_t dflt) -> uint64_t {
      if (!o.has(flag)) return dflt;
      const std::string v = o.get(flag);
      if (v.empty() || v.size() > 7 || v.find_first_not_of("0123456789") != std::string::npos ||
          std::stoull(v) == 0)
        usage_error("images import: --" + flag + " takes a number of MiB, 1..9999999");
      return std::stoull(v) << 20;
    };
    in.max_archive_bytes = mib("max-archive-mb", in.max_archive_bytes);
    in.limits.max_file_bytes = mib("max-file-mb", in.limits.max_file_bytes);
    in.limits.max_total_bytes = mib("max-unpacked-mb", in.limits.max_total_bytes);
    images::Store store(data_dir_of(o));
    const auto started = std::chrono::steady_clock::now();
    auto r = images::import_oci_image(store, in, std::cerr);
    if (!r) {
      std::cerr << "enclaved images import: " << r.error().message << "\n";
      return 1;
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
    print_image(*r);
    std::cerr << "enclaved images import: " << r->name() << " ready in " << ms << " ms\n";
    return 0;
  }
  if (verb == "list") {
    auto o = parse_or_exit(rest, {"data-dir"}, {"json"});
    if (!o.positional.empty()) usage_error("images list: unexpected argument " + o.positional[0]);
    const auto catalog = images::Store(data_dir_of(o)).catalog();
    if (o.flag("json")) {
      std::string out = "[";
      for (const auto& [name, m] : catalog.by_name)
        out += (out.size() > 1 ? "," : "") + images::manifest_json(m);
      std::cout << out << "]\n";
      return 0;
    }
    for (const auto& [name, m] : catalog.by_name) print_image(m);
    return 0;
  }
  if (verb == "remove") {
    auto o = parse_or_exit(rest, {"data-dir"}, {});
    if (o.positional.size() != 1) usage_error("images remove: expected exactly one NAME");
    images::Store store(data_dir_of(o));
    if (auto e = store.remove(o.positional[0])) {
      std::cerr << "enclaved images remove: " << e->message << "\n";
      return 1;
    }
    return 0;
  }
  usage_error("images: unknown verb '" + verb + "' (build, import, list, remove)");
}

}  // namespace enclave::enclaved

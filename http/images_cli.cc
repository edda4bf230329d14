#include "http/images_cli.h"

#include <chrono>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "images/debian_build.h"
#include "images/store.h"

namespace enclave::http {
namespace {

constexpr const char* kImagesUsage =
    R"(usage: enclaved images build NAME --debian-packages P1,P2,… [--data-dir DIR]
                     [--suite bookworm] [--mirror URL] [--cache-dir DIR]
       enclaved images list [--data-dir DIR] [--json]
       enclaved images remove NAME [--data-dir DIR]
Images are root filesystems sessions run on (`image` in CreateSessionRequest), content-addressed
and read-only, stored in DIR/images. `build` runs mmdebstrap (root); downloaded .debs are kept in
--cache-dir (ENCLAVE_IMAGE_CACHE_DIR, default /var/cache/enclave) with every finished tree, and
a build with the same inputs as an image in the store, or in the cache, takes seconds.
)";

[[noreturn]] void images_usage(const std::string& why) {
  std::cerr << "enclaved images: " << why << "\n\n" << kImagesUsage;
  std::exit(2);
}

struct Parsed {
  std::map<std::string, std::string> flags;
  std::vector<std::string> words;
};

Parsed parse(int argc, char** argv, const std::vector<std::string>& valued,
             const std::vector<std::string>& boolean) {
  Parsed p;
  for (int i = 3; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "-h" || s == "--help") {
      std::cout << kImagesUsage;
      std::exit(0);
    }
    if (s.rfind("--", 0) != 0) {
      p.words.push_back(s);
      continue;
    }
    std::string name = s.substr(2), value;
    const auto eq = name.find('=');
    if (eq != std::string::npos) value = name.substr(eq + 1), name.resize(eq);
    auto in = [&](const std::vector<std::string>& v) {
      for (const auto& x : v)
        if (x == name) return true;
      return false;
    };
    if (in(boolean)) {
      p.flags[name] = "1";
    } else if (in(valued)) {
      if (eq == std::string::npos) {
        if (i + 1 >= argc) images_usage("--" + name + " needs a value");
        value = argv[++i];
      }
      p.flags[name] = value;
    } else {
      images_usage("unknown flag --" + name);
    }
  }
  return p;
}

std::string flag_or_env(const Parsed& p, const std::string& flag, const char* env,
                        const std::string& dflt) {
  if (auto it = p.flags.find(flag); it != p.flags.end()) return it->second;
  if (const char* v = std::getenv(env); v && *v) return v;
  return dflt;
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    if (comma > pos) out.push_back(text.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

void print_image(const api::Image& m) {
  std::string langs;
  for (const auto& l : m.languages()) langs += (langs.empty() ? "" : ",") + l;
  std::cout << std::left << std::setw(20) << m.name() << " " << std::setw(78) << m.digest() << " "
            << std::setw(8) << (static_cast<uint64_t>(m.size_bytes()) >> 20) << " MiB  "
            << (langs.empty() ? "-" : langs) << "\n";
}

}  // namespace

int images_main(int argc, char** argv) {
  if (argc < 3) images_usage("expected build, list or remove");
  const std::string verb = argv[2];
  if (verb == "build") {
    auto p = parse(argc, argv, {"data-dir", "debian-packages", "suite", "mirror", "cache-dir"}, {});
    if (p.words.size() != 1) images_usage("build: expected exactly one NAME");
    images::DebianBuild b;
    b.name = p.words[0];
    b.packages = split(flag_or_env(p, "debian-packages", "ENCLAVE_IMAGE_PACKAGES", ""));
    b.suite = flag_or_env(p, "suite", "ENCLAVE_IMAGE_SUITE", b.suite);
    b.mirror = flag_or_env(p, "mirror", "ENCLAVE_IMAGE_MIRROR", b.mirror);
    b.cache_dir = flag_or_env(p, "cache-dir", "ENCLAVE_IMAGE_CACHE_DIR", b.cache_dir);
    images::Store store(flag_or_env(p, "data-dir", "ENCLAVE_DATA_DIR", "./data"));
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
  if (verb == "list") {
    auto p = parse(argc, argv, {"data-dir"}, {"json"});
    if (!p.words.empty()) images_usage("list: unexpected argument " + p.words[0]);
    images::Store store(flag_or_env(p, "data-dir", "ENCLAVE_DATA_DIR", "./data"));
    const auto catalog = store.catalog();
    if (p.flags.count("json")) {
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
    auto p = parse(argc, argv, {"data-dir"}, {});
    if (p.words.size() != 1) images_usage("remove: expected exactly one NAME");
    images::Store store(flag_or_env(p, "data-dir", "ENCLAVE_DATA_DIR", "./data"));
    if (auto e = store.remove(p.words[0])) {
      std::cerr << "enclaved images remove: " << e->message << "\n";
      return 1;
    }
    return 0;
  }
  images_usage("unknown verb '" + verb + "' (build, list, remove)");
}

}  // namespace enclave::http

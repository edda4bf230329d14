// Builds an image from Debian packages with mmdebstrap (issue 21): `enclaved images build NAME
// --debian-packages p1,p2`. Downloaded .debs are kept in a cache dir shared by every data dir,
// so a rebuild downloads nothing; a build whose inputs (suite, mirror, packages) match an image
// already in the store is answered from it at once.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "events/error.h"
#include "storage/images/store.h"

namespace enclave::images {

struct DebianBuild {
  std::string name;
  // Debian package names; python3 is always added (the in-sandbox runner is Python).
  std::vector<std::string> packages;
  std::string suite = "bookworm";
  std::string mirror = "http://deb.debian.org/debian";
  // Kept across builds and data dirs: downloaded .debs (<cache_dir>/debs) and each finished tree
  // with its manifest (<cache_dir>/trees/<inputs hex>), so a build with the same inputs in
  // another data dir is a hard-linked copy (seconds) instead of an install (minutes). Trusted
  // like the data dir: root's, never a tenant's. Default: /var/cache/enclave.
  std::string cache_dir = "/var/cache/enclave";
  std::string mmdebstrap = "/usr/bin/mmdebstrap";
};

// Debian package names: [a-z0-9][a-z0-9+.-]+ (Debian policy 5.6.1).
bool valid_debian_package(const std::string& name);

// The build's inputs, hashed ("sha256:<hex>"): same inputs, same image.
std::string build_inputs(const DebianBuild& b);

// Builds (or finds) the image and names it. mmdebstrap's output goes to `log`.
[[nodiscard]] Result<api::Image> build_debian_image(Store& store, const DebianBuild& b,
                                                    std::ostream& log);

}  // namespace enclave::images

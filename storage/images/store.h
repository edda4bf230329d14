// The image store in the data dir (issue 21): content-addressed, read-only root filesystems.
//   <data_dir>/images/by-digest/<hex>/rootfs   the tree a sandbox's root is (read-only mount)
//   <data_dir>/images/names/<name>.json        the manifest (api::Image) naming a digest
// Everything read back from here is hostile input: names and digests are checked before they
// become paths, a malformed manifest is skipped.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "events/error.h"
#include "events/requests/image_catalog.h"

namespace enclave::images {

// <data_dir>/images.
std::string images_dir(const std::string& data_dir);
// The root filesystem of a built digest ("sha256:<hex>") under `images_dir`; "" if the digest
// is not of that shape (then it names no directory).
std::string rootfs_dir(const std::string& images_dir, const std::string& digest);

// Which of the known languages a root filesystem can run: python (usr/bin/python3), javascript
// (usr/bin/node), bash (usr/bin/bash, driven by the Python runner, so python3 too).
std::vector<std::string> languages_in(const std::string& root);

// `default`: the host's /usr. Its digest is "host:" + SHA-256 of the host's dpkg status (which
// packages, at which versions, the host's /usr holds); its languages are those found on the host.
api::Image host_default_image();

class Store {
 public:
  explicit Store(std::string data_dir);

  // default + every valid manifest. Re-read when the names dir changed (a build made while the
  // server runs is seen by the next request).
  Catalog catalog() const;
  // The manifest of `name`, if it exists and is valid.
  std::optional<api::Image> find(const std::string& name) const;
  // Some image built from exactly these inputs whose tree is present (a build can reuse it).
  std::optional<api::Image> find_by_inputs(const std::string& inputs) const;

  // Moves `tree` (a finished root filesystem) to by-digest/<hex>/rootfs unless that digest is
  // already stored (then `tree` is removed), and names it. The manifest is written last
  // (atomically), so a crash never leaves a name without its tree.
  [[nodiscard]] Result<api::Image> install(const std::string& tree, api::Image manifest);
  // Names an existing digest.
  [[nodiscard]] Result<api::Image> name_existing(api::Image manifest);
  // Removes the name, and the tree when no other name refers to it. Sessions running on it
  // lose their root: remove an image only when nothing runs on it.
  [[nodiscard]] std::optional<Error> remove(const std::string& name);

  const std::string& dir() const { return dir_; }
  // A fresh dir for a build in progress, on the store's filesystem (so install is a rename).
  [[nodiscard]] Result<std::string> make_work_dir() const;

 private:
  std::vector<api::Image> read_manifests() const;

  std::string dir_;
  api::Image default_;
  mutable std::mutex mu_;
  mutable int64_t names_mtime_ns_ = -1;
  mutable Catalog cached_;
};

}  // namespace enclave::images

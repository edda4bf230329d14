// A checkpoint image on disk (`runsc checkpoint --image-path DIR` writes DIR/checkpoint.img).
// On restore the image is hostile input (it sat in the data dir): it is measured here, bounded
// and compared with the sha256 recorded when it was taken, before runsc ever reads it.
#pragma once

#include <cstdint>
#include <string>

namespace enclave::backends::gvisor {

constexpr const char* kImageFile = "checkpoint.img";

struct ImageFacts {
  std::string error;  // "" = measured
  uint64_t bytes = 0;
  std::string sha256;  // hex
};

// Size and SHA-256 of DIR/checkpoint.img, which must be a regular file (not a symlink) of at most
// `max_bytes`; anything else is an error value.
[[nodiscard]] ImageFacts measure_image(const std::string& dir, uint64_t max_bytes);

// "" if DIR holds an image of at most `max_bytes` whose SHA-256 is exactly `sha256`; else why not.
[[nodiscard]] std::string check_image(const std::string& dir, const std::string& sha256,
                                      uint64_t max_bytes);

}  // namespace enclave::backends::gvisor

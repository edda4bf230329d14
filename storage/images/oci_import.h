// Imports an OCI image archive as an image (issue 21): `enclaved images import NAME FILE`. The
// archive is hostile input. The steps, each stopping the import at its first failure:
//   1. FILE is a regular file of at most max_archive_bytes;
//   2. skopeo copies it (oci-archive:) into an OCI layout in a work dir, checking every blob's
//      digest (an image index picks this machine's platform);
//   3. the manifest's layers are scanned header by header (oci_layer_scan.h) — escaping paths,
//      writes through symlinks, device nodes, FIFOs, huge files and entry counts are refused
//      before anything is unpacked;
//   4. umoci unpacks the layers into a tree (whiteouts applied);
//   5. the tree is checked again (no device, FIFO or socket; setuid/setgid bits cleared: nothing
//      in a sandbox gains privileges) and given the runner's mount points;
//   6. it is digested like a built image and named (store.h). The same archive imported again
//      (same manifest digest) is answered from the store.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "events/error.h"
#include "storage/images/oci_layer_scan.h"
#include "storage/images/store.h"

namespace enclave::images {

struct OciImport {
  std::string name;
  std::string archive;  // the OCI image archive (a tar of an OCI image layout)
  uint64_t max_archive_bytes = 4ull << 30;
  LayerLimits limits;
  std::string skopeo = "/usr/bin/skopeo";
  std::string umoci = "/usr/bin/umoci";
};

// Imports (or finds) the image and names it. The tools' output goes to our stderr; progress to
// `log`. Refusals of the archive's content are kInvalidArgument, reason "image_refused".
[[nodiscard]] Result<api::Image> import_oci_image(Store& store, const OciImport& in,
                                                  std::ostream& log);

}  // namespace enclave::images

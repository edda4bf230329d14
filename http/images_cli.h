// `enclaved images build|list|remove`: the image store of a data dir, offline like `keys`
// (a server running on the same data dir sees a new image at its next request).
#pragma once

namespace enclave::http {

// argv[1] is "images". Returns the process exit status (2: usage).
int images_main(int argc, char** argv);

}  // namespace enclave::http

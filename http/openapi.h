// The OpenAPI 3 document of the HTTP API, generated from the route table (http/routes.h) and
// the api.proto descriptors, so it describes exactly what the router serves.
#pragma once

#include <string>

namespace enclave::http {

std::string openapi_json();

}  // namespace enclave::http

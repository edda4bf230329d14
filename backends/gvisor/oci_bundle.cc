#include "backends/gvisor/oci_bundle.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "events/codec/json_string.h"

namespace enclave::backends::gvisor {

namespace {

std::string bind_ro(const std::string& dest, const std::string& src) {
  return "{\"destination\":" + json_quote(dest) +
         ",\"type\":\"bind\",\"source\":" + json_quote(src) +
         ",\"options\":[\"rbind\",\"ro\",\"nosuid\",\"nodev\"]}";
}

}  // namespace

std::string oci_config_json(const BundleSpec& spec) {
  std::string args, env;
  for (const auto& a : spec.args) {
    if (!args.empty()) args += ',';
    args += json_quote(a);
  }
  for (const auto& [k, v] : spec.env) {
    if (!env.empty()) env += ',';
    env += json_quote(k + "=" + v);
  }
  const std::string nproc = std::to_string(spec.nproc);
  std::string j;
  j += "{\"ociVersion\":\"1.0.0\",";
  j += "\"process\":{\"terminal\":false,\"user\":{\"uid\":65534,\"gid\":65534},";
  j += "\"args\":[" + args + "],\"env\":[" + env +
       "],\"cwd\":" + (spec.home_dir.empty() ? "\"/tmp\"" : "\"/home/user\"") + ",";
  j += "\"noNewPrivileges\":true,";
  j += "\"capabilities\":{\"bounding\":[],\"effective\":[],\"inheritable\":[],\"permitted\":[],"
       "\"ambient\":[]},";
  j += "\"rlimits\":[{\"type\":\"RLIMIT_NPROC\",\"hard\":" + nproc + ",\"soft\":" + nproc + "},";
  j += "{\"type\":\"RLIMIT_CORE\",\"hard\":0,\"soft\":0}]},";
  j += "\"root\":{\"path\":" + json_quote(spec.rootfs) + ",\"readonly\":true},";
  j += "\"hostname\":\"enclave\",";
  j += "\"mounts\":[";
  if (spec.bind_host_usr) j += bind_ro("/usr", "/usr") + ",";
  j += "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},";
  j += "{\"destination\":\"/tmp\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":["
       "\"nosuid\",\"nodev\",\"mode=1777\",\"size=" +
       std::to_string(spec.tmp_mb) + "m\"]},";
  j += bind_ro(kRuntimeMount, spec.runtime_dir) + ",";
  j += bind_ro(kSessionMount, spec.session_dir);
  if (!spec.home_dir.empty()) {
    j += ",{\"destination\":\"/home/user\",\"type\":\"bind\",\"source\":" +
         json_quote(spec.home_dir) + ",\"options\":[\"rbind\",\"rw\",\"nosuid\",\"nodev\"]}";
  }
  j += "],";
  j += "\"linux\":{\"cgroupsPath\":" + json_quote(spec.cgroups_path) + ",";
  j += "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},"
       "{\"type\":\"mount\"},{\"type\":\"network\"}]}}";
  return j;
}

std::string pod_init_config_json(const std::string& trace_endpoint) {
  return "{\"trace_session\":{\"name\":\"Default\",\"points\":[{\"name\":\"syscall/connect/enter\","
         "\"context_fields\":[\"container_id\"]}],\"sinks\":[{\"name\":\"remote\",\"config\":{"
         "\"endpoint\":" +
         json_quote(trace_endpoint) + "}}]}}";
}

std::string prepare_rootfs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return "create " + dir + ": " + ec.message();
  for (const char* l : {"bin", "lib", "lib64", "sbin"}) {
    const std::string link = dir + "/" + l;
    std::filesystem::remove(link, ec);  // a dangling symlink is still a file to replace
    std::filesystem::create_symlink(std::string("usr/") + l, link, ec);
    if (ec) return "symlink " + link + ": " + ec.message();
  }
  for (std::string m :
       {"usr", "tmp", "proc", "dev", "opt/enclave", "opt/enclave-io", "home/user"}) {
    std::filesystem::create_directories(dir + "/" + m, ec);
    if (ec) return "create " + dir + "/" + m + ": " + ec.message();
  }
  // Mount points the sandbox user must traverse, whatever the server's umask (077) made them.
  for (std::string m :
       {"usr", "tmp", "proc", "dev", "opt", "opt/enclave", "opt/enclave-io", "home", "home/user"}) {
    std::filesystem::permissions(dir + "/" + m, std::filesystem::perms(0755), ec);
    if (ec) return "chmod " + dir + "/" + m + ": " + ec.message();
  }
  std::filesystem::permissions(dir, std::filesystem::perms(0755), ec);
  return "";
}

}  // namespace enclave::backends::gvisor

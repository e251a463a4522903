#include "http/http.h"

#include <fmt/format.h>

#include <filesystem>

#include "util/error.h"
#include "util/shared_library.h"

namespace colshift::http {

// Where `cmake --install` puts the module, relative to the executable's
// directory (CMakeLists.txt writes it into generated/http_module_dir.cc).
extern const char kInstalledModuleDir[];

namespace {

std::filesystem::path executable_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : exe.parent_path();
}

const Module& load() {
  const auto dir = executable_dir();
  const std::filesystem::path candidates[] = {dir / kModuleFile,
                                              dir / kInstalledModuleDir / kModuleFile};
  std::string tried;
  for (const auto& path : candidates) {
    if (!std::filesystem::exists(path)) {
      tried += fmt::format("{}{}", tried.empty() ? "" : ", ", path.lexically_normal().string());
      continue;
    }
    const std::string file = path.lexically_normal().string();
    void* handle = open_shared_library(
        file, "colshift's HTTP module, for serve and webhooks",
        "reinstall colshift; the module needs cpp-httplib (Debian: apt-get install "
        "libcpp-httplib0.11)");
    auto entry = reinterpret_cast<ModuleEntry>(shared_library_symbol(handle, kModuleEntry, file));
    const Module* module = entry();
    if (module == nullptr || module->version != kModuleVersion) {
      throw Error(ErrorKind::kChangeFailed,
                  fmt::format("{} is from another version of colshift", file), {},
                  "rebuild or reinstall colshift so the binary and its module match");
    }
    return *module;
  }
  throw Error(ErrorKind::kChangeFailed,
              fmt::format("cannot find colshift's HTTP module, {} (for serve and webhooks); "
                          "looked for {}",
                          kModuleFile, tried),
              {}, "reinstall colshift, or build the colshift_http target beside the binary");
}

const Module& module() {
  static const Module& m = load();
  return m;
}

}  // namespace

PostResult post(const PostRequest& request) { return module().post(request); }

std::unique_ptr<Server> make_server(int threads) {
  return std::unique_ptr<Server>(module().make_server(threads));
}

}  // namespace colshift::http

#include "util/shared_library.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include "util/error.h"

namespace colshift {

void* open_shared_library(const std::string& file, const std::string& what,
                          const std::string& hint) {
  void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    throw Error(ErrorKind::kChangeFailed,
                fmt::format("cannot load {} ({}): {}", file, what, why ? why : "unknown error"), {},
                hint);
  }
  return handle;
}

void* shared_library_symbol(void* handle, const char* symbol, const std::string& file) {
  dlerror();
  void* address = dlsym(handle, symbol);
  if (address == nullptr) {
    const char* why = dlerror();
    throw Error(ErrorKind::kChangeFailed,
                fmt::format("{} has no {}: {}", file, symbol, why ? why : "null symbol"), {},
                "the library is older or other than the one colshift was built against; "
                "install the version your distribution ships");
  }
  return address;
}

}  // namespace colshift

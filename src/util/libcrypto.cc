#include "util/libcrypto.h"

namespace colshift {
namespace {

Libcrypto load() {
  const std::string file = kLibcryptoFile;
  void* handle = open_shared_library(
      file, "OpenSSL 3's libcrypto, for webhook signatures",
      "install OpenSSL 3 (Debian and Ubuntu: apt-get install libssl3; Fedora: dnf install "
      "openssl-libs)");
  Libcrypto table;
  COLSHIFT_LIBCRYPTO_FUNCTIONS(COLSHIFT_RESOLVE_LIBRARY_FUNCTION)
  return table;
}

}  // namespace

const Libcrypto& libcrypto() {
  static const Libcrypto crypto = load();
  return crypto;
}

}  // namespace colshift

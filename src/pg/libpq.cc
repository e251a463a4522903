#include "pg/libpq.h"

namespace colshift::pg {
namespace {

Libpq load() {
  const std::string file = kLibpqFile;
  void* handle = open_shared_library(file, "PostgreSQL's client library, to connect",
                                     "install libpq 5 (Debian and Ubuntu: apt-get install libpq5; "
                                     "Fedora: dnf install libpq)");
  Libpq table;
  COLSHIFT_LIBPQ_FUNCTIONS(COLSHIFT_RESOLVE_LIBRARY_FUNCTION)
  return table;
}

}  // namespace

const Libpq& libpq() {
  static const Libpq pq = load();
  return pq;
}

}  // namespace colshift::pg

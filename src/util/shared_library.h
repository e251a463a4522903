// Libraries colshift opens at run time, on first use, instead of linking them:
// libpq (pg/libpq.h), libcrypto (util/libcrypto.h) and the HTTP module
// (http/http.h). Linked, every process start would pay for them and for what
// they bring (Kerberos, LDAP, GnuTLS, OpenSSL, brotli: about 9,000 of the
// dynamic loader's 11,600 symbol relocations), lint's included, which needs
// none of them (docs/DESIGN-NOTES.md 29).
//
// Handles are never closed: what they hold (libpq's connections, the HTTP
// module's threads) may live until the process exits.
#pragma once

#include <string>

namespace colshift {

// dlopen(file, RTLD_NOW | RTLD_LOCAL). Throws Error(kChangeFailed) "cannot
// load <file> (<what>): <dlerror>" with `hint` when it cannot be opened.
void* open_shared_library(const std::string& file, const std::string& what,
                          const std::string& hint);

// The address of `symbol` in `handle` (from open_shared_library, which named
// `file`). Throws Error(kChangeFailed) when the library has no such symbol.
void* shared_library_symbol(void* handle, const char* symbol, const std::string& file);

// A table of a library's functions from an X-macro list of their names
// (pg/libpq.h): a member per function, typed as the library's header declares
// it,
//   struct Libpq { COLSHIFT_LIBPQ_FUNCTIONS(COLSHIFT_LIBRARY_FUNCTION) };
// each resolved with shared_library_symbol, with `table`, `handle` and `file`
// in scope:
//   COLSHIFT_LIBPQ_FUNCTIONS(COLSHIFT_RESOLVE_LIBRARY_FUNCTION)
#define COLSHIFT_LIBRARY_FUNCTION(name) decltype(&::name) name = nullptr;
#define COLSHIFT_RESOLVE_LIBRARY_FUNCTION(name) \
  table.name = reinterpret_cast<decltype(table.name)>(shared_library_symbol(handle, #name, file));

}  // namespace colshift

// libpq, opened with dlopen when colshift first needs it (a connection, or
// PQconninfoParse checking a connection string), so the commands that never
// connect, lint above all, do not load it and the thirty libraries it brings
// (util/shared_library.h). libpq-fe.h's types are used as they are; only the
// functions come through here:
//
//   const Libpq& pq = libpq();
//   PGconn* conn = pq.PQconnectdbParams(keys, values, 1);
//
// The file is libpq's run-time name, libpq.so.5 (Debian: libpq5), the ABI
// libpq has kept since PostgreSQL 8.2.
#pragma once

#include <libpq-fe.h>

#include "util/shared_library.h"

namespace colshift::pg {

// Every libpq function colshift calls (add one here to call it).
// clang-format off
#define COLSHIFT_LIBPQ_FUNCTIONS(X) \
  X(PQbackendPID) X(PQcancel) X(PQclear) X(PQcmdTuples) X(PQconnectdbParams) \
  X(PQconninfoFree) X(PQconninfoParse) X(PQconsumeInput) X(PQdb) X(PQerrorMessage) \
  X(PQexecParams) X(PQfinish) X(PQfname) X(PQfreeCancel) X(PQfreemem) X(PQgetCancel) \
  X(PQgetResult) X(PQgetisnull) X(PQgetlength) X(PQgetvalue) X(PQhost) X(PQnfields) \
  X(PQnotifies) X(PQntuples) X(PQport) X(PQresultErrorField) X(PQresultErrorMessage) \
  X(PQresultStatus) X(PQsendQuery) X(PQserverVersion) X(PQsetNoticeProcessor) X(PQsocket) \
  X(PQstatus) X(PQuser)
// clang-format on

struct Libpq {
  COLSHIFT_LIBPQ_FUNCTIONS(COLSHIFT_LIBRARY_FUNCTION)
};

inline constexpr const char* kLibpqFile = "libpq.so.5";

// libpq's functions, loaded on the first call (thread-safe). Throws
// Error(kChangeFailed) naming libpq.so.5 and how to install it when it cannot
// be loaded, and again on the next call.
const Libpq& libpq();

}  // namespace colshift::pg

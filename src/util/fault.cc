#include "util/fault.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>

#include "dialect/connection.h"

namespace colshift::fault {
namespace {

thread_local std::string t_scope;

}  // namespace

Scope::Scope(std::string scope) : previous_(std::move(t_scope)) { t_scope = std::move(scope); }
Scope::~Scope() { t_scope = std::move(previous_); }

const std::string& current() { return t_scope; }

void hit(const std::string& where, Connection& conn) {
  static const char* log = std::getenv("COLSHIFT_FAULT_LOG");
  static const char* fault = std::getenv("COLSHIFT_FAULT");
  if (t_scope.empty() || (!log && !fault)) return;
  const std::string point = t_scope + "." + where;
  if (log) std::ofstream(log, std::ios::app) << point << "\n";
  if (!fault) return;
  const std::string spec = fault;
  if (spec == point + "=exit") {
    _exit(137);  // as kill -9: no destructors, no unlock, sockets closed by the kernel
  }
  // Once per process: the retry after a lost connection must be able to succeed.
  static std::atomic<bool> fired{false};
  if (spec == point + "=disconnect" && !fired.exchange(true)) {
    conn.sever();
  }
}

}  // namespace colshift::fault

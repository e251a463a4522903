// Pieces of trace mode shared between trace.cc and trace_concurrent.cc.
#pragma once

#include <string>
#include <vector>

#include "dialect/connection.h"
#include "lint/trace.h"

namespace colshift::lint {

// Where the observed effects differ from the static facts, one sentence each.
std::vector<std::string> compare_facts(const Statement& st, const StatementFacts& facts,
                                       const std::vector<ObservedRelation>& observed);

// Traces a statement that cannot run in a transaction (CREATE INDEX
// CONCURRENTLY on a copy of its table); others are returned as skipped.
// Call it with no transaction open in the database on this session's side:
// a concurrent index build waits for every older snapshot.
TraceStatement trace_outside_transaction(const std::string& conninfo, const FileReport& report,
                                         int index);

}  // namespace colshift::lint

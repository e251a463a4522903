// The planner: Migration + CatalogFacts -> Plan. Pure: no connection, no clock.
#pragma once

#include <string>

#include "dialect/dialect.h"
#include "migration/migration.h"
#include "plan/facts.h"
#include "plan/plan.h"

namespace colshift::plan {

// Builds the plan: every operation's steps grouped by phase (expand, backfill,
// finish, complete), operations in file order within a phase. Throws
// Error(kBadInput) at the operation's file:line:col when a table is missing or
// the operation does not fit the schema.
Plan build_plan(const migration::Migration& m, const CatalogFacts& facts, const Dialect& dialect,
                const std::string& state_schema);

// Fills p.downstream (and slot warnings into p.warnings) from the facts'
// publications, slots and named subscribers (plan/downstream.cc). Online only.
void plan_downstream(const migration::Migration& m, const CatalogFacts& facts,
                     const Dialect& dialect, Plan& p);

}  // namespace colshift::plan

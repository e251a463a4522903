// Hazards: what a raw SQL statement can do to a live table that colshift's
// own operations never do. `colshift plan` labels every raw_sql statement with
// its hazards; `colshift start` refuses a statement whose hazard touches a
// non-empty live table unless the raw_sql operation names the hazard in
// `allow_hazards` (the idea of Stripe's pg-schema-diff --allow-hazards).
//
// A table is live when it exists before the migration (one created earlier in
// the same migration's raw SQL is new and empty); non-empty when its row
// estimate is above zero or unknown.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace colshift::migration {

enum class Hazard {
  kRewritesTable,   // the table is rewritten under ACCESS EXCLUSIVE
  kScansUnderLock,  // every row is read while a lock blocks writes
  kBlocksWrites,    // a lock that blocks writes is held while other work runs
  kDeletesData,     // rows or columns are deleted
  kBreaksOldApp,    // the app version running before the migration stops working
};

struct HazardInfo {
  Hazard hazard;
  const char* name;     // as written in allow_hazards: "rewrites_table"
  const char* meaning;  // one sentence, in the user's words
  const char* instead;  // the safe way, when no more specific advice applies
};

// Every hazard, in the order above.
const std::vector<HazardInfo>& all_hazards();
const HazardInfo& hazard_info(Hazard h);
const char* hazard_name(Hazard h);
// The hazard named `name`; nullopt for an unknown name.
std::optional<Hazard> parse_hazard(std::string_view name);
// Every hazard name, for messages and did-you-mean.
std::vector<std::string> hazard_names();

}  // namespace colshift::migration

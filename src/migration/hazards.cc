#include "migration/hazards.h"

namespace colshift::migration {

const std::vector<HazardInfo>& all_hazards() {
  static const std::vector<HazardInfo> table = {
      {Hazard::kRewritesTable, "rewrites_table",
       "the table is rewritten while an ACCESS EXCLUSIVE lock makes reads and writes wait",
       "use add_column (it never rewrites), or rebuild the table online with pg_repack"},
      {Hazard::kScansUnderLock, "scans_under_lock",
       "every row of the table is read while a lock makes writes wait",
       "add constraints NOT VALID and VALIDATE them in a later phase; build indexes with "
       "create_index (CONCURRENTLY)"},
      {Hazard::kBlocksWrites, "blocks_writes",
       "a lock that makes writes wait is held while other work runs",
       "take strong locks only in statements that finish at once, in a raw_sql of their own"},
      {Hazard::kDeletesData, "deletes_data", "rows or columns of the table are deleted",
       "keep the data until no app version reads it, and back it up first"},
      {Hazard::kBreaksOldApp, "breaks_old_app",
       "the app version running before the migration stops working",
       "deploy an app version that no longer uses the old name first, or keep the old name "
       "working through a view"},
  };
  return table;
}

const HazardInfo& hazard_info(Hazard h) { return all_hazards()[static_cast<size_t>(h)]; }

const char* hazard_name(Hazard h) { return hazard_info(h).name; }

std::optional<Hazard> parse_hazard(std::string_view name) {
  for (const auto& info : all_hazards())
    if (name == info.name) return info.hazard;
  return std::nullopt;
}

std::vector<std::string> hazard_names() {
  std::vector<std::string> out;
  for (const auto& info : all_hazards()) out.emplace_back(info.name);
  return out;
}

}  // namespace colshift::migration

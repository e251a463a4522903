// What a migration file has done so far, as the linter reads it top to bottom,
// plus what the server told us (Catalog, from --db).
//
// Rules ask it: was this table created earlier in the file (so it is not live
// yet)? Is this column already proven NOT NULL by a validated CHECK? Which
// lock_timeout is in force, and is a transaction open? Which locks has the
// open transaction taken, in which order?
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "lint/ast.h"
#include "lint/types.h"

namespace colshift::lint {

struct ColumnInfo {
  ast::TypeInfo type;
  bool not_null = false;
};

// Facts read from a live server (--db); empty when linting offline.
struct Catalog {
  bool loaded = false;
  int server_version = 0;
  std::string timezone;                                                  // SHOW TimeZone
  std::map<std::string, std::map<std::string, ColumnInfo>> columns;      // table -> column -> info
  std::set<std::string> partitioned;                                     // partitioned tables
  std::map<std::string, std::vector<std::vector<std::string>>> indexes;  // table -> key columns
  std::set<std::string> tables;                                          // every ordinary table
  std::map<std::string, std::string> index_tables;                       // index -> its table
};

// "public.t" and "t" name the same table; returns the key used in maps.
std::string table_key(const std::string& name);

class FileState {
 public:
  explicit FileState(const Catalog& catalog) : catalog_(catalog) {}

  bool created_here(const std::string& table) const;
  bool partitioned(const std::string& table) const;
  std::optional<ColumnInfo> column(const std::string& table, const std::string& col) const;
  // A validated CHECK (col IS NOT NULL) exists, or the column is NOT NULL.
  bool not_null_proven(const std::string& table, const std::string& col) const;
  // Some index (in the catalog or created in this file) starts with `cols`.
  bool has_index_on(const std::string& table, const std::vector<std::string>& cols) const;
  // The indexes of `table` that the catalog knows or the file created.
  std::vector<std::string> indexes_of(const std::string& table) const;
  // The table of index `index` when the catalog knows it; "" otherwise.
  std::string table_of_index(const std::string& index) const;
  // The key columns of index `index` when it was created in this file.
  std::optional<std::vector<std::string>> index_columns(const std::string& index) const;
  // A NOT VALID constraint named `name` on `table` was added earlier in the
  // open transaction (VALIDATE in the same transaction gains nothing).
  bool not_valid_added_in_transaction(const std::string& table, const std::string& name) const;

  // Volatility of the functions the file created so far.
  const ast::UserFunctions& functions() const { return functions_; }
  const std::string& lock_timeout() const;  // effective now; "" when unset
  const std::string& statement_timeout() const;
  // TimeZone set by the file (SET [LOCAL] TimeZone); "" when not set.
  const std::string& timezone() const;
  // The runner wraps the whole file in one transaction: statements run in a
  // transaction block from the start (REQUIRES: before the first apply).
  // `runner` says which ("diesel layout"), for messages.
  void run_in_transaction(const std::string& runner = {});
  // The runner named by run_in_transaction; "" when it does not wrap the file.
  const std::string& runner() const { return runner_; }
  bool in_transaction() const { return in_transaction_; }
  // The open transaction is the runner's, not one the file began.
  bool in_runner_transaction() const { return in_transaction_ && depth_ == 0; }
  int transaction_depth() const { return depth_; }
  Position transaction_start() const { return tx_start_; }
  // Live relations locked (strongly) by the open transaction, in order.
  // Whether the open transaction already holds a strong lock on `table_key`.
  bool transaction_holds(const std::string& table_key) const;
  const std::vector<std::pair<std::string, LockMode>>& transaction_locks() const {
    return tx_locks_;
  }
  // The first earlier transaction that locked `second` before `first`.
  std::optional<Position> opposite_order(const std::string& first, const std::string& second) const;
  // The last statement took an ACCESS EXCLUSIVE lock on a live table in the
  // open explicit transaction: the table it locked.
  const std::string& exclusive_held() const { return exclusive_held_; }

  // Records the effect of `st`. `executes` is false for statements inside a
  // function body, which run when the function is called, not now.
  void apply(const Statement& st, const StatementFacts& facts, bool executes);

 private:
  void apply_create_table(const ast::json& tree);
  void apply_alter_table(const ast::json& tree);
  void apply_set(const ast::json& tree);
  void apply_rename(const ast::json& tree);
  void apply_unparsed(const std::string& text);
  void apply_create_function(const ast::json& tree);
  void end_transaction();
  void record_locks(const Statement& st, const StatementFacts& facts);

  const Catalog& catalog_;
  std::set<std::string> created_;
  std::set<std::string> partitioned_;
  std::map<std::string, std::map<std::string, ColumnInfo>> columns_;
  std::set<std::pair<std::string, std::string>> not_null_checks_;  // (table, column) validated
  std::map<std::pair<std::string, std::string>, std::string>
      pending_checks_;                                          // (table, name) -> col
  std::set<std::pair<std::string, std::string>> tx_not_valid_;  // (table, name) in this tx
  std::map<std::string, std::vector<std::vector<std::string>>> indexes_;
  std::map<std::string, std::vector<std::string>> index_columns_;  // index -> key columns
  std::string lock_timeout_, statement_timeout_;
  std::string local_lock_timeout_, local_statement_timeout_;
  std::string timezone_, local_timezone_;
  bool in_transaction_ = false;
  std::string runner_;
  int depth_ = 0;
  Position tx_start_;
  std::vector<std::pair<std::string, LockMode>> tx_locks_;
  std::map<std::pair<std::string, std::string>, Position> orders_;  // (a, b): a locked before b
  std::map<std::string, std::string> index_tables_;  // index created in this file -> its table
  std::string exclusive_held_;
  ast::UserFunctions functions_;
};

}  // namespace colshift::lint

#include "lint/file_state.h"

#include <algorithm>
#include <cctype>
#include <regex>

namespace colshift::lint {

using ast::json;

std::string table_key(const std::string& name) {
  return name.rfind("public.", 0) == 0 ? name.substr(7) : name;
}

namespace {

// The column name of "col IS NOT NULL", or "".
std::string not_null_test_column(const json& expr) {
  const json* nt = ast::find(expr, "NullTest");
  if (!nt || ast::str(*nt, "nulltesttype") != "IS_NOT_NULL") return {};
  const json* arg = ast::find(*nt, "arg");
  const json* ref = arg ? ast::find(*arg, "ColumnRef") : nullptr;
  if (!ref) return {};
  auto fields = ast::strings(ast::arr(*ref, "fields"));
  return fields.size() == 1 ? fields[0] : std::string();
}

// A SET value as text: '1s', 500, ...; "" for DEFAULT/RESET and for 0 (off).
std::string set_value(const json& tree) {
  std::string kind = ast::str(tree, "kind");
  if (kind != "VAR_SET_VALUE") return {};
  const json* args = ast::find(tree, "args");
  if (!args || args->empty()) return {};
  const json& c = ast::obj((*args)[0], "A_Const");
  std::string v;
  if (const json* i = ast::find(c, "ival"))
    v = std::to_string(i->value("ival", 0));
  else
    v = ast::string_value(c);
  if (v == "0" || v == "0s" || v == "0ms") return {};
  return v;
}

}  // namespace

bool FileState::created_here(const std::string& table) const {
  return created_.count(table_key(table)) > 0;
}

bool FileState::partitioned(const std::string& table) const {
  std::string k = table_key(table);
  return partitioned_.count(k) > 0 || catalog_.partitioned.count(k) > 0;
}

std::optional<ColumnInfo> FileState::column(const std::string& table,
                                            const std::string& col) const {
  std::string k = table_key(table);
  for (const auto* m : {&columns_, &catalog_.columns}) {
    auto t = m->find(k);
    if (t == m->end()) continue;
    auto c = t->second.find(col);
    if (c != t->second.end()) return c->second;
    if (m == &columns_ && created_here(table)) return std::nullopt;
  }
  return std::nullopt;
}

bool FileState::not_null_proven(const std::string& table, const std::string& col) const {
  if (not_null_checks_.count({table_key(table), col})) return true;
  auto c = column(table, col);
  return c && c->not_null;
}

bool FileState::has_index_on(const std::string& table, const std::vector<std::string>& cols) const {
  std::string k = table_key(table);
  for (const auto* m : {&indexes_, &catalog_.indexes}) {
    auto t = m->find(k);
    if (t == m->end()) continue;
    for (const auto& key : t->second) {
      if (key.size() >= cols.size() && std::equal(cols.begin(), cols.end(), key.begin()))
        return true;
    }
  }
  return false;
}

std::vector<std::string> FileState::indexes_of(const std::string& table) const {
  std::string k = table_key(table);
  std::vector<std::string> out;
  for (const auto* m : {&index_tables_, &catalog_.index_tables}) {
    for (const auto& [index, owner] : *m) {
      if (table_key(owner) == k && std::find(out.begin(), out.end(), index) == out.end())
        out.push_back(index);
    }
  }
  return out;
}

std::string FileState::table_of_index(const std::string& index) const {
  if (auto own = index_tables_.find(table_key(index)); own != index_tables_.end()) {
    return own->second;
  }
  auto it = catalog_.index_tables.find(table_key(index));
  return it == catalog_.index_tables.end() ? std::string() : it->second;
}

std::optional<std::vector<std::string>> FileState::index_columns(const std::string& index) const {
  auto it = index_columns_.find(table_key(index));
  if (it == index_columns_.end()) return std::nullopt;
  return it->second;
}

bool FileState::not_valid_added_in_transaction(const std::string& table,
                                               const std::string& name) const {
  return in_transaction_ && tx_not_valid_.count({table_key(table), name}) > 0;
}

const std::string& FileState::lock_timeout() const {
  return !local_lock_timeout_.empty() ? local_lock_timeout_ : lock_timeout_;
}

const std::string& FileState::statement_timeout() const {
  return !local_statement_timeout_.empty() ? local_statement_timeout_ : statement_timeout_;
}

const std::string& FileState::timezone() const {
  return !local_timezone_.empty() ? local_timezone_ : timezone_;
}

std::optional<Position> FileState::opposite_order(const std::string& first,
                                                  const std::string& second) const {
  auto it = orders_.find({second, first});
  if (it == orders_.end()) return std::nullopt;
  return it->second;
}

void FileState::run_in_transaction(const std::string& runner) {
  runner_ = runner;
  in_transaction_ = true;
  depth_ = 0;
}

void FileState::end_transaction() {
  in_transaction_ = false;
  depth_ = 0;
  local_lock_timeout_.clear();
  local_statement_timeout_.clear();
  local_timezone_.clear();
  tx_locks_.clear();
  tx_not_valid_.clear();
  exclusive_held_.clear();
}

void FileState::apply_create_table(const json& tree) {
  std::string table = table_key(ast::relation_name(ast::obj(tree, "relation")));
  created_.insert(table);
  if (ast::find(tree, "partspec")) partitioned_.insert(table);
  auto& cols = columns_[table];
  for (const auto& elt : ast::arr(tree, "tableElts")) {
    if (const json* cd = ast::find(elt, "ColumnDef")) {
      ColumnInfo info;
      info.type = ast::type_info(ast::obj(*cd, "typeName"));
      for (const auto& c : ast::arr(*cd, "constraints")) {
        std::string t = ast::str(ast::obj(c, "Constraint"), "contype");
        if (t == "CONSTR_NOTNULL" || t == "CONSTR_PRIMARY") info.not_null = true;
        if (t == "CONSTR_PRIMARY" || t == "CONSTR_UNIQUE") {
          indexes_[table].push_back({ast::str(*cd, "colname")});
        }
      }
      cols[ast::str(*cd, "colname")] = info;
    } else if (const json* con = ast::find(elt, "Constraint")) {
      std::string t = ast::str(*con, "contype");
      if (t == "CONSTR_PRIMARY" || t == "CONSTR_UNIQUE") {
        auto keys = ast::strings(ast::arr(*con, "keys"));
        indexes_[table].push_back(keys);
        if (t == "CONSTR_PRIMARY") {
          for (const auto& k : keys) cols[k].not_null = true;
        }
      }
    }
  }
}

void FileState::apply_alter_table(const json& tree) {
  std::string table = table_key(ast::relation_name(ast::obj(tree, "relation")));
  for (const auto& item : ast::arr(tree, "cmds")) {
    const json& cmd = ast::obj(item, "AlterTableCmd");
    std::string sub = ast::str(cmd, "subtype");
    const json& def = ast::obj(cmd, "def");
    if (sub == "AT_AddColumn") {
      const json& cd = ast::obj(def, "ColumnDef");
      ColumnInfo info;
      info.type = ast::type_info(ast::obj(cd, "typeName"));
      columns_[table][ast::str(cd, "colname")] = info;
    } else if (sub == "AT_SetNotNull") {
      columns_[table][ast::str(cmd, "name")].not_null = true;
    } else if (sub == "AT_AlterColumnType") {
      auto c = column(table, ast::str(cmd, "name"));
      ColumnInfo info = c.value_or(ColumnInfo{});
      info.type = ast::type_info(ast::obj(ast::obj(def, "ColumnDef"), "typeName"));
      columns_[table][ast::str(cmd, "name")] = info;
    } else if (sub == "AT_AddConstraint") {
      const json& con = ast::obj(def, "Constraint");
      std::string t = ast::str(con, "contype");
      std::string name = ast::str(con, "conname");
      if (t == "CONSTR_CHECK") {
        std::string col = not_null_test_column(ast::obj(con, "raw_expr"));
        bool not_valid = ast::flag(con, "skip_validation");
        if (!col.empty() && !not_valid) not_null_checks_.insert({table, col});
        if (!col.empty() && not_valid) pending_checks_[{table, name}] = col;
      }
      if (ast::flag(con, "skip_validation")) tx_not_valid_.insert({table, name});
      if (t == "CONSTR_PRIMARY" || t == "CONSTR_UNIQUE") {
        indexes_[table].push_back(ast::strings(ast::arr(con, "keys")));
      }
    } else if (sub == "AT_ValidateConstraint") {
      auto it = pending_checks_.find({table, ast::str(cmd, "name")});
      if (it != pending_checks_.end()) not_null_checks_.insert({table, it->second});
    }
  }
}

// A table created in this file keeps being new under its new name.
void FileState::apply_rename(const json& tree) {
  if (ast::str(tree, "renameType") != "OBJECT_TABLE" || !ast::find(tree, "relation")) return;
  std::string from = table_key(ast::relation_name(ast::obj(tree, "relation")));
  if (!created_.count(from)) return;
  std::string to = ast::str(tree, "newname");
  auto dot = from.rfind('.');
  if (dot != std::string::npos) to = from.substr(0, dot + 1) + to;
  to = table_key(to);
  created_.erase(from);
  created_.insert(to);
  if (partitioned_.erase(from)) partitioned_.insert(to);
  if (auto c = columns_.find(from); c != columns_.end()) {
    columns_[to] = std::move(c->second);
    columns_.erase(from);
  }
  if (auto i = indexes_.find(from); i != indexes_.end()) {
    indexes_[to] = std::move(i->second);
    indexes_.erase(from);
  }
}

void FileState::apply_set(const json& tree) {
  std::string name = ast::str(tree, "name");
  bool local = ast::flag(tree, "is_local");
  std::string value = set_value(tree);
  if (ast::str(tree, "kind") == "VAR_RESET_ALL") {
    lock_timeout_.clear();
    statement_timeout_.clear();
    return;
  }
  std::string* target = nullptr;
  if (name == "lock_timeout") target = local ? &local_lock_timeout_ : &lock_timeout_;
  if (name == "statement_timeout") target = local ? &local_statement_timeout_ : &statement_timeout_;
  if (name == "timezone") target = local ? &local_timezone_ : &timezone_;
  // SET LOCAL outside a transaction block has no effect (PostgreSQL warns).
  if (target && (!local || in_transaction_)) *target = value;
}

bool FileState::transaction_holds(const std::string& key) const {
  return std::any_of(tx_locks_.begin(), tx_locks_.end(),
                     [&](const auto& held) { return held.first == key; });
}

void FileState::record_locks(const Statement& st, const StatementFacts& facts) {
  for (const auto& r : facts.relations) {
    if (r.created_here || r.lock < LockMode::kShareRowExclusive) continue;
    std::string key = table_key(r.relation);
    if (transaction_holds(key)) continue;
    for (const auto& [name, mode] : tx_locks_) orders_.emplace(std::make_pair(name, key), st.start);
    tx_locks_.push_back({key, r.lock});
    if (r.lock == LockMode::kAccessExclusive && in_transaction_) exclusive_held_ = key;
  }
}

// CREATE FUNCTION is VOLATILE unless it says otherwise.
void FileState::apply_create_function(const json& tree) {
  auto names = ast::strings(ast::arr(tree, "funcname"));
  if (names.empty()) return;
  ast::Volatility v = ast::Volatility::kVolatile;
  for (const auto& o : ast::arr(tree, "options")) {
    const json& d = ast::obj(o, "DefElem");
    if (ast::str(d, "defname") != "volatility") continue;
    std::string word = ast::string_value(ast::obj(d, "arg"));
    v = word == "volatile" ? ast::Volatility::kVolatile : ast::Volatility::kImmutableOrStable;
  }
  functions_[names.back()] = v;
}

// A statement that did not parse (newer syntax, say) may still create a
// table whose name its head gives: later statements on it are on a new table.
void FileState::apply_unparsed(const std::string& text) {
  static const std::regex head(
      R"(^\s*CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:(?:TEMP|TEMPORARY|UNLOGGED)\s+)?TABLE\s+)"
      R"((?:IF\s+NOT\s+EXISTS\s+)?((?:"[^"]+"|[A-Za-z_][\w$]*)(?:\s*\.\s*(?:"[^"]+"|[A-Za-z_][\w$]*))?))",
      std::regex::icase | std::regex::ECMAScript);
  std::smatch m;
  if (!std::regex_search(text, m, head)) return;
  std::string name;
  bool quoted = false;
  for (char c : m[1].str()) {
    if (c == '"') {
      quoted = !quoted;
    } else if (!std::isspace(static_cast<unsigned char>(c)) || quoted) {
      name += quoted ? c : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  created_.insert(table_key(name));
}

void FileState::apply(const Statement& st, const StatementFacts& facts, bool executes) {
  if (!executes) return;
  if (!st.error.empty()) {
    apply_unparsed(st.text);
    return;
  }
  const json& tree = st.tree;
  if (st.kind == "TransactionStmt") {
    std::string kind = ast::str(tree, "kind");
    if (kind == "TRANS_STMT_BEGIN" || kind == "TRANS_STMT_START") {
      if (!in_transaction_) tx_start_ = st.start;
      in_transaction_ = true;
      ++depth_;
    } else if (kind == "TRANS_STMT_COMMIT" || kind == "TRANS_STMT_ROLLBACK") {
      end_transaction();
    }
    return;
  }
  if (st.kind == "VariableSetStmt") apply_set(tree);
  if (st.kind == "CreateStmt") apply_create_table(tree);
  if (st.kind == "CreateTableAsStmt" || st.kind == "SelectStmt") {
    // CREATE TABLE ... AS and SELECT ... INTO make a new table.
    std::string name = ast::into_table(tree, st.kind == "SelectStmt" ? "intoClause" : "into");
    if (!name.empty()) created_.insert(table_key(name));
  }
  if (st.kind == "RenameStmt") apply_rename(tree);
  if (st.kind == "CreateFunctionStmt") apply_create_function(tree);
  if (st.kind == "AlterTableStmt") apply_alter_table(tree);
  if (st.kind == "IndexStmt") {
    std::string written = ast::relation_name(ast::obj(tree, "relation"));
    std::string table = table_key(written);
    std::vector<std::string> cols;
    for (const auto& p : ast::arr(tree, "indexParams")) {
      cols.push_back(ast::str(ast::obj(p, "IndexElem"), "name"));
    }
    indexes_[table].push_back(cols);
    if (!ast::str(tree, "idxname").empty()) {
      created_.insert(table_key(ast::str(tree, "idxname")));
      index_columns_[table_key(ast::str(tree, "idxname"))] = cols;
      index_tables_[table_key(ast::str(tree, "idxname"))] = written;
    }
  }
  record_locks(st, facts);
  if (!in_transaction_) {
    tx_locks_.clear();
    exclusive_held_.clear();
    tx_not_valid_.clear();
  }
}

}  // namespace colshift::lint

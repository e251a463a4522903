// The migration file model: what a user writes, loaded and validated.
//
// Format (YAML; JSON is accepted since it is YAML too), one migration a file:
//
//   purpose: <why this change exists>                  (required, non-empty)
//   name: <name>                                        (optional; default: file stem)
//   undeclared_writers: guess|old                       (optional; default guess: how
//                                                        the dual-write trigger treats a
//                                                        session declaring no version)
//   subscribers: [<NAME or URL>, ...]                   (optional: the logical replication
//                                                        subscribers of the tables it changes;
//                                                        NAME is an environment variable
//                                                        holding the connection string, so
//                                                        no password is in the file)
//   guards:                                             (optional: what to watch while
//     - name: <name>                                     the migration is in flight and
//       sql: <query returning one number>               what to do when it goes bad;
//       | command: <sh -c text> | [<argv>, ...]          guard/guard.h documents each key)
//       | builtin: rollback_ratio|deadlocks|trigger_failures|lock_waiters|idle_in_transaction
//       max: <number>  min: <number>  max_ratio: <number>  ignore_below: <number>
//       policy: pause|rollback|warn                     (default warn)
//       interval: <duration>  timeout: <duration>       (default 5s each; 500ms, 2s, 1m)
//       breach_after: <N>  fail_after: <N>              (defaults 1 and 3)
//   operations:                                         (required, at least one)
//     - add_column:
//         table: <table> | <schema>.<table>
//         column:
//           name: <column>
//           type: <SQL type>
//           nullable: true|false                        (default true)
//           default: <SQL expression>                   (final default for new rows)
//           check: <SQL boolean expression>             (added NOT VALID, then VALIDATEd)
//         up: <SQL expression over the row's columns>   (fills existing rows and rows
//                                                        written by old app versions)
//     - create_index:
//         name: <index name>
//         table: <table>
//         columns: [<column or expression>, ...]
//         unique: true|false                            (default false)
//         where: <SQL predicate>                        (partial index)
//         method: btree|hash|gist|gin|spgist|brin       (default btree)
//     - raw_sql:
//         up: <SQL statements>
//         down: <SQL statements that undo `up`>         (required)
//         phase: expand|finish|complete                 (default expand)
//         allow_hazards: [<hazard>, ...]               (hazards.h: start refuses a
//                                                        statement whose hazard on a
//                                                        non-empty live table is not
//                                                        listed here)
//
// SQL expressions are the author's code and are inserted as written; names
// are always quoted by colshift. Errors name file:line:col and what is valid;
// an error in an expression points at the expression's own line:col (at the
// offending byte when the scalar is on one line, plain or quoted).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "guard/guard.h"
#include "migration/hazards.h"

namespace colshift::migration {

// A place in a migration file; line and column are 1-based (0 = unknown).
struct SourcePos {
  std::string file;
  int line = 0;
  int column = 0;
  // For a value written on one line (a plain, 'single-' or "double-quoted"
  // scalar): the file column of each byte of the value as loaded (escapes
  // decoded, trimmed). Empty otherwise (block scalars, values spanning lines):
  // then only the start is known.
  std::vector<int> byte_columns;

  // The position of byte `offset` of the value: exact where byte_columns
  // knows it, else the value's start.
  SourcePos at(size_t offset) const;
  // "file:line:col"
  std::string location() const;
};

// A possibly schema-qualified table name as written.
struct TableName {
  std::string schema;  // empty: resolved through the search_path (usually "public")
  std::string name;
  std::string display() const { return schema.empty() ? name : schema + "." + name; }
  bool operator==(const TableName&) const = default;
};

struct ColumnSpec {
  std::string name;
  std::string type;
  bool nullable = true;
  std::optional<std::string> default_expr;
  std::optional<std::string> check;
  SourcePos type_pos;     // where each is written (SourcePos::at maps into it)
  SourcePos default_pos;  // set when default_expr is
  SourcePos check_pos;    // set when check is
};

struct AddColumn {
  TableName table;
  ColumnSpec column;
  std::optional<std::string> up;
  SourcePos pos;     // the operation
  SourcePos up_pos;  // set when up is
};

struct CreateIndex {
  std::string name;
  TableName table;
  std::vector<std::string> columns;
  bool unique = false;
  std::optional<std::string> where;
  std::string method = "btree";
  SourcePos pos;                      // the operation
  std::vector<SourcePos> column_pos;  // one per entry of `columns`
  SourcePos where_pos;                // set when where is
};

enum class RawSqlPhase { kExpand, kFinish, kComplete };

struct RawSql {
  std::string up;
  std::string down;
  RawSqlPhase phase = RawSqlPhase::kExpand;
  std::vector<Hazard> allow_hazards;  // hazards start may run on live tables
  SourcePos pos;
};

using Operation = std::variant<AddColumn, CreateIndex, RawSql>;

struct Migration {
  std::string name;  // default: the file's stem; also the app version it introduces
  std::string purpose;
  // `undeclared_writers: old`: a session that declares no app version is the
  // old version (default `guess`: see the dual-write rules in add_column.cc).
  bool undeclared_writers_old = false;
  // `subscribers`, as written: environment variable names or connection URLs.
  std::vector<std::string> subscribers;
  std::vector<guard::GuardSpec> guards;  // `guards`, as written (no defaults added)
  std::string file;                      // path as given; empty for in-memory text
  std::string checksum;                  // sha256 of the file's bytes, hex
  std::string source;                    // the file's text, quoted by messages; empty when unknown
  std::vector<Operation> operations;
};

// "file:line:col" of `pos`, followed by its source line and a caret under the
// column when `m` holds the file's text (source_excerpt in util/text.h).
std::string excerpt(const Migration& m, const SourcePos& pos);

// Loads and validates a migration file. Throws Error(kBadInput) whose where()
// is "file:line:col" followed by the source line and a caret.
Migration load_migration_file(const std::string& path);

// Same, from text already in memory; `file` is used in messages and for the
// default name.
Migration parse_migration(std::string_view text, const std::string& file);

// Guards given on the command line (`--guard`), each one YAML mapping in the
// syntax of a `guards:` item ("{name: errors, sql: SELECT ..., max: 5,
// policy: rollback}"), added to `m`'s own. Throws Error(kBadInput) naming the
// flag, the position in its value and the field; and for a name the file (or
// another flag) already uses.
void add_flag_guards(Migration& m, const std::vector<std::string>& values);

// The operation's kind as written in files: "add_column", ...
std::string_view operation_kind(const Operation& op);
const SourcePos& operation_pos(const Operation& op);

// Lists the migration files (*.yaml, *.yml, *.json) of a directory in
// file-name order. Throws Error(kBadInput) when the directory is missing.
std::vector<std::string> list_migration_files(const std::string& dir);

// Hex sha256 of bytes.
std::string sha256_hex(std::string_view bytes);

}  // namespace colshift::migration

// How a migration runner runs a file: in one transaction or statement by
// statement, and whether the file is a `down` migration.
//
// Most runners wrap each file in a transaction (diesel, sqlx, golang-migrate's
// multi-statement exec, Flyway on PostgreSQL, pop/popx, Prisma, dbmate,
// goose); psql -f and hand-run scripts do not. The linter needs to know: a
// statement in the runner's transaction is undone when a later one fails
// (prefer-robust-stmts does not apply), CREATE INDEX CONCURRENTLY fails there,
// and a lock is held until the file ends.
#pragma once

#include <optional>
#include <string>

namespace colshift::lint {

enum class TransactionMode {
  kAuto,     // per-file where the file's layout names a runner that wraps files, else none
  kNone,     // every statement commits on its own (psql -f)
  kPerFile,  // the runner runs each file in one transaction
};

// "auto", "none", "per-file", or a runner preset ("diesel", "sqlx",
// "golang-migrate", "flyway", "pop", "prisma", "dbmate", "goose": per-file;
// "psql": none). nullopt for anything else.
std::optional<TransactionMode> parse_transaction_mode(const std::string& text);
// The accepted words, for messages and --help.
const char* transaction_mode_words();

// What to do with the findings of a down migration (down.sql, *.down.sql,
// Flyway's U<version>__*.sql), which restores an old shape on purpose.
enum class DownMode {
  kInfo,  // report them at info severity (the default)
  kLint,  // lint them like any other file
  kSkip,  // do not report them at all
};
std::optional<DownMode> parse_down_mode(const std::string& text);

struct RunContext {
  bool in_transaction = false;  // the file's statements run in one transaction
  bool down = false;            // a down migration
  // golang-migrate sends a file as one query: a single statement then runs
  // outside any transaction block, while sqlx (same file names) wraps it. With
  // one statement the layout is ambiguous, so no transaction is assumed.
  bool one_statement_autocommits = false;
  std::string why;  // "diesel layout", "-- no-transaction marker", "setting", ...
};

// How `path` (with contents `text`) is run under `mode`. A per-file marker in
// the file always wins: `-- no-transaction` (sqlx), `-- +goose NO
// TRANSACTION`, `transaction:false` (dbmate), or `.autocommit.` in the name.
// kAuto detects diesel (up.sql/down.sql in a folder), golang-migrate and sqlx
// (N_name.up.sql/.down.sql), Flyway (V1__name.sql, U1__name.sql), Prisma
// (migrations/<name>/migration.sql), dbmate (-- migrate:up) and goose
// (-- +goose Up); anything else runs without a transaction.
RunContext run_context(const std::string& path, const std::string& text, TransactionMode mode);

}  // namespace colshift::lint

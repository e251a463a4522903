// Linting colshift's own YAML (or JSON) migration files.
#pragma once

#include <string>

#include "lint/linter.h"

namespace colshift::lint {

// Validates the file with colshift's loader (an error becomes an
// invalid-migration-file finding), checks each operation (add_column without
// a way to fill NOT NULL, type and naming hygiene), and lints every raw_sql
// `up` and `down` as SQL, with positions in the YAML file. colshift runs each
// step with SET LOCAL lock_timeout, so missing-lock-timeout does not apply.
// Findings are not yet settled (ignores/config): lint_file does that.
FileReport lint_migration_file(const std::string& path, const std::string& text,
                               const LintOptions& options);

}  // namespace colshift::lint

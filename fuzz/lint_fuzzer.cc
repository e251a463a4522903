// libFuzzer target over the linter entry point: any bytes, as SQL and as a
// colshift migration file, must lint without crashing, and every output
// format must render. Built two ways (CMakeLists.txt): with clang's libFuzzer
// (-DCOLSHIFT_FUZZ=ON, or the LintFuzzBrief test), and as a plain replay
// binary that runs the seed corpus and the kept crash regressions.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "lint/linter.h"
#include "lint/migration_file.h"
#include "lint/output.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  colshift::lint::LintOptions options;
  options.pg_version = 110000 + static_cast<int>(size % 7) * 10000;  // 11..17
  auto sql = colshift::lint::lint_sql("fuzz.sql", text, options);
  auto yaml = colshift::lint::lint_migration_file("fuzz.yaml", text, options);
  std::ostringstream out;
  colshift::lint::render_text(sql, false, true, out);
  colshift::lint::render_text(yaml, false, false, out);
  // As the command line prints them (invalid UTF-8 replaced, never thrown).
  colshift::lint::write_json({sql, yaml}, nullptr, out);
  out << colshift::lint::render_sarif({sql}).dump(2, ' ', false,
                                                  nlohmann::json::error_handler_t::replace);
  colshift::lint::render_github({sql}, out);
  return 0;
}

// colshift manpages [--out DIR]: write colshift.1 and one colshift-NAME.1 per
// command, generated from the same command table as --help. Hidden from
// --help: the build runs it (CMakeLists.txt) so the installed pages match the
// binary.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/cli.h"
#include "cli/command_docs.h"
#include "util/build_info.h"
#include "util/error.h"

namespace colshift::cli {

CommandRun setup_manpages(CLI::App& sub, const GlobalOptions&) {
  sub.group("");  // hidden
  auto out = std::make_shared<std::string>(".");
  sub.add_option("--out", *out, "directory to write the pages to (created when missing)")
      ->capture_default_str();
  CLI::App* self = &sub;
  return [out, self]() -> int {
    std::error_code ec;
    std::filesystem::create_directories(*out, ec);
    for (const auto& [name, text] : man_pages(*self->get_parent(), build_info::kVersion)) {
      std::string path = (std::filesystem::path(*out) / name).string();
      std::ofstream f(path, std::ios::binary | std::ios::trunc);
      f << text;
      f.close();
      if (!f) throw Error(ErrorKind::kBadInput, fmt::format("cannot write {}", path));
    }
    return 0;
  };
}

}  // namespace colshift::cli

// The command line described as data, for the documents generated from it:
// man pages (colshift.1, colshift-NAME.1) and shell completion scripts. Both
// read the same CLI::App tree as --help (make_cli_app()), so they cannot
// drift from it.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace CLI {
class App;
}

namespace colshift::cli {

struct OptionDoc {
  std::vector<std::string> names;    // "-v", "--verbose"; a positional: its name ("FILE")
  std::string value_name;            // "TEXT", "INT", ...; empty for a flag
  std::vector<std::string> choices;  // from CLI::IsMember, e.g. text, json, sarif
  std::string description;
  std::string default_value;  // empty when none is shown in --help
  bool positional = false;
  bool required = false;
  bool repeated = false;  // takes several values (paths...)
};

struct CommandDoc {
  std::string name;  // "lint"; empty for the root
  std::string summary;
  std::string footer;                  // printed by --help after the options
  std::vector<OptionDoc> options;      // named options, --help included, in --help's order
  std::vector<OptionDoc> positionals;  // in order
  bool hidden = false;                 // not listed by --help (CLI11 group "")
};

// `app`'s own options and positionals (not its parent's).
CommandDoc describe_command(const CLI::App& app);
// The root's subcommands, in command-table order, hidden ones included.
std::vector<CommandDoc> describe_subcommands(const CLI::App& root);

// One man page per visible command plus colshift.1: {file name, roff text}.
// `version` goes in each page's footer ("colshift 0.1.0").
std::vector<std::pair<std::string, std::string>> man_pages(const CLI::App& root,
                                                           const std::string& version);
// roff-escapes text for a man page: backslashes, and a leading '.' or '\''.
std::string roff_escape(const std::string& text);

// The completion script for "bash", "zsh" or "fish"; throws Error(kUsage)
// for another shell.
std::string completion_script(const CLI::App& root, const std::string& shell);

}  // namespace colshift::cli

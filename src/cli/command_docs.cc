#include "cli/command_docs.h"

#include <CLI/CLI.hpp>

namespace colshift::cli {

namespace {

// CLI::IsMember adds ":{a,b,c}" to an option's type name; that set is the
// option's choices.
std::vector<std::string> choices_of(const std::string& type_name) {
  std::vector<std::string> out;
  auto open = type_name.find('{');
  auto close = type_name.find('}', open == std::string::npos ? 0 : open);
  if (open == std::string::npos || close == std::string::npos) return out;
  std::string set = type_name.substr(open + 1, close - open - 1);
  size_t start = 0;
  while (start <= set.size()) {
    size_t comma = set.find(',', start);
    if (comma == std::string::npos) comma = set.size();
    if (comma > start) out.push_back(set.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

OptionDoc describe_option(const CLI::Option& opt) {
  OptionDoc d;
  d.positional = !opt.nonpositional();
  if (d.positional) {
    d.names.push_back(opt.get_name(true, false));
  } else {
    for (const auto& s : opt.get_snames()) d.names.push_back("-" + s);
    for (const auto& l : opt.get_lnames()) d.names.push_back("--" + l);
  }
  if (opt.get_type_size() > 0 || d.positional) {
    std::string type = opt.get_type_name();
    d.choices = choices_of(type);
    d.value_name = type.substr(0, type.find(':'));
  }
  d.description = opt.get_description();
  d.default_value = opt.get_default_str();
  d.required = opt.get_required();
  d.repeated = opt.get_items_expected_max() > 1;
  return d;
}

}  // namespace

CommandDoc describe_command(const CLI::App& app) {
  CommandDoc doc;
  doc.name = app.get_name();
  doc.summary = app.get_description();
  doc.footer = app.get_footer();
  doc.hidden = app.get_parent() != nullptr && app.get_group().empty();
  for (const CLI::Option* opt : app.get_options()) {
    OptionDoc d = describe_option(*opt);
    (d.positional ? doc.positionals : doc.options).push_back(std::move(d));
  }
  return doc;
}

std::vector<CommandDoc> describe_subcommands(const CLI::App& root) {
  std::vector<CommandDoc> out;
  for (const CLI::App* sub : root.get_subcommands([](const CLI::App*) { return true; }))
    out.push_back(describe_command(*sub));
  return out;
}

}  // namespace colshift::cli

#include "lint/config.h"

#include <fmt/format.h>
#include <fnmatch.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <regex>

#include "lint/rules.h"
#include "util/error.h"

namespace colshift::lint {

namespace fs = std::filesystem;

namespace {

std::string where(const std::string& path, const YAML::Node& node) {
  const YAML::Mark m = node.Mark();
  return fmt::format("{}:{}:{}", path, m.line + 1, m.column + 1);
}

[[noreturn]] void bad(const std::string& path, const YAML::Node& node, const std::string& msg,
                      const std::string& hint) {
  throw Error(ErrorKind::kBadInput, msg, where(path, node), hint);
}

void load_rules(LintConfig& config, const YAML::Node& rules) {
  if (!rules.IsMap())
    bad(config.path, rules, "lint.rules must be a map of rule id to setting",
        "e.g. rules: {prefer-text: off}");
  for (const auto& kv : rules) {
    std::string id = kv.first.as<std::string>();
    if (!find_rule(id)) {
      bad(config.path, kv.first, fmt::format("unknown rule '{}' in lint.rules", id),
          "run 'colshift lint --explain all' for the rule ids");
    }
    std::string v = kv.second.IsScalar() ? kv.second.Scalar() : "";
    if (v == "off" || v == "false") {
      config.enabled[id] = false;
    } else if (v == "on" || v == "true") {
      config.enabled[id] = true;
    } else if (auto s = parse_severity(v)) {
      config.enabled[id] = true;
      config.severity[id] = *s;
    } else {
      bad(config.path, kv.second, fmt::format("'{}' is not a rule setting for '{}'", v, id),
          "use off, on, info, warning or error");
    }
  }
}

}  // namespace

bool LintConfig::excluded(const std::string& file) const {
  if (exclude.empty()) return false;  // no getcwd and normalising per file
  std::string abs = fs::absolute(file).lexically_normal().string();
  for (const auto& pattern : exclude) {
    if (fnmatch(pattern.c_str(), abs.c_str(), 0) == 0) return true;
    if (fnmatch((pattern + "/*").c_str(), abs.c_str(), 0) == 0) return true;
  }
  return false;
}

std::optional<std::string> find_config(const std::string& dir) {
  std::error_code ec;
  fs::path p = fs::absolute(dir, ec);
  for (; !p.empty(); p = p.parent_path()) {
    fs::path candidate = p / ".colshift.yaml";
    if (fs::exists(candidate, ec)) return candidate.string();
    if (p == p.root_path()) break;
  }
  return std::nullopt;
}

int parse_pg_version(const std::string& text, const std::string& what) {
  static const std::regex re(R"(^\s*(\d+)(?:\.(\d+))?\s*$)");
  std::smatch m;
  int version = 0;
  if (std::regex_match(text, m, re)) {
    long long major = std::stoll(m[1].str());
    int minor = m[2].matched ? std::stoi(m[2].str()) : 0;
    version = major >= 10000 ? static_cast<int>(major) : static_cast<int>(major * 10000 + minor);
  }
  if (version < 100000 || version >= 180000) {
    throw Error(ErrorKind::kUsage,
                fmt::format("{}: '{}' is not a PostgreSQL version colshift knows", what, text), {},
                "give a major version from 11 to 17, optionally with a minor: 15, 14.2");
  }
  return version;
}

LintConfig load_config(const std::string& path) {
  LintConfig config;
  config.path = path;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw Error(ErrorKind::kBadInput, e.msg,
                fmt::format("{}:{}:{}", path, e.mark.line + 1, e.mark.column + 1));
  }
  YAML::Node lint = root.IsMap() ? root["lint"] : YAML::Node();
  if (!lint || lint.IsNull()) return config;
  if (!lint.IsMap()) bad(path, lint, "'lint' must be a map", "see docs/lint/README.md");
  fs::path base = fs::absolute(path).parent_path();
  for (const auto& kv : lint) {
    std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (key == "pg_version") {
      try {
        config.pg_version = parse_pg_version(v.Scalar(), "lint.pg_version");
      } catch (const Error& e) {
        bad(path, v, e.what(), e.hint());
      }
    } else if (key == "timezone") {
      config.timezone = v.Scalar();
    } else if (key == "assume_lock_timeout") {
      config.assume_lock_timeout = v.as<bool>(false);
    } else if (key == "transactions") {
      auto mode = parse_transaction_mode(v.Scalar());
      if (!mode) {
        bad(path, v, fmt::format("'{}' is not a lint.transactions setting", v.Scalar()),
            std::string("use ") + transaction_mode_words());
      }
      config.transactions = mode;
    } else if (key == "down") {
      auto mode = parse_down_mode(v.Scalar());
      if (!mode)
        bad(path, v, fmt::format("'{}' is not a lint.down setting", v.Scalar()),
            "use info, lint or skip");
      config.down = mode;
    } else if (key == "rules") {
      load_rules(config, v);
    } else if (key == "exclude") {
      if (!v.IsSequence())
        bad(path, v, "lint.exclude must be a list of paths", "e.g. exclude: [legacy/*]");
      for (const auto& e : v)
        config.exclude.push_back((base / e.Scalar()).lexically_normal().string());
    } else {
      bad(path, kv.first, fmt::format("unknown setting 'lint.{}'", key),
          "known: pg_version, timezone, assume_lock_timeout, transactions, down, rules, exclude");
    }
  }
  return config;
}

}  // namespace colshift::lint

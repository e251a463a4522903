// What ships with the binary: --version, `colshift completion SHELL`, and the
// man pages, all generated from the command table that drives --help.
#include <gtest/gtest.h>
#include <pg_query.h>
#include <sys/wait.h>

#include <CLI/CLI.hpp>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "cli/cli.h"
#include "cli/command_docs.h"
#include "cli/version.h"
#include "util/build_info.h"
#include "util/error.h"

namespace colshift::cli {
namespace {

namespace fs = std::filesystem;

struct Run {
  int exit_code = -1;
  std::string out;
};

// Runs `command` with /bin/sh; stdout captured, stderr to stdout too.
Run sh(const std::string& command) {
  Run r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string temp_dir(const std::string& name) {
  fs::path d =
      fs::temp_directory_path() / ("colshift_ship_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string kBinary = COLSHIFT_BINARY;

// ---- --version

TEST(ShipVersion, SaysVersionCommitAndParser) {
  std::string v = version_text();
  std::istringstream lines(v);
  std::string l1, l2, l3, extra;
  std::getline(lines, l1);
  std::getline(lines, l2);
  std::getline(lines, l3);
  EXPECT_FALSE(std::getline(lines, extra)) << v;
  EXPECT_EQ(l1, std::string("colshift ") + build_info::kVersion);
  EXPECT_TRUE(std::regex_match(l1, std::regex(R"(colshift [0-9]+\.[0-9]+\.[0-9]+)"))) << l1;
  EXPECT_EQ(l2, std::string("commit ") + build_info::kCommit);
  EXPECT_TRUE(std::regex_match(l2, std::regex(R"(commit ([0-9a-f]{40}(-dirty)?|unknown))"))) << l2;
  EXPECT_EQ(l3, std::string("PostgreSQL parser ") + PG_VERSION + " (libpg_query, PG_VERSION_NUM " +
                    std::to_string(PG_VERSION_NUM) + ")");
  // The binary prints exactly this.
  auto r = sh(quote(kBinary) + " --version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, v + "\n");
}

TEST(ShipVersion, CommitIsTheSourceTreesHead) {
  auto head = sh("git -C " + quote(COLSHIFT_SOURCE_DIR) + " rev-parse HEAD");
  if (head.exit_code != 0) GTEST_SKIP() << "the source tree is not a git work tree";
  std::string commit = head.out.substr(0, head.out.find('\n'));
  // The build embeds HEAD at build time; -dirty when tracked files differed.
  EXPECT_EQ(std::string(build_info::kCommit).substr(0, 40), commit)
      << "rebuilt since the last commit? kCommit=" << build_info::kCommit;
}

// cmake/build_info.cmake: the commit of the tree it is given, "unknown"
// outside git, and -DCOMMIT wins.
TEST(ShipVersion, BuildInfoScriptOutsideGitInsideGitAndOverride) {
  std::string script = std::string(COLSHIFT_SOURCE_DIR) + "/cmake/build_info.cmake";
  std::string dir = temp_dir("buildinfo");
  auto gen = [&](const std::string& source, const std::string& extra) {
    std::string out = dir + "/out.cc";
    fs::remove(out);
    auto r = sh(quote(COLSHIFT_CMAKE_COMMAND) + " -DSOURCE_DIR=" + quote(source) +
                " -DOUT=" + quote(out) + " -DVERSION=9.8.7 " + extra + " -P " + quote(script));
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return read(out);
  };
  std::string plain = dir + "/tarball";
  fs::create_directories(plain);
  std::string text = gen(plain, "");
  EXPECT_NE(text.find("kVersion[] = \"9.8.7\";"), std::string::npos) << text;
  EXPECT_NE(text.find("kCommit[] = \"unknown\";"), std::string::npos) << text;
  EXPECT_NE(gen(plain, "-DCOMMIT=abc123").find("kCommit[] = \"abc123\";"), std::string::npos);

  if (sh("git --version").exit_code != 0) GTEST_SKIP() << "no git";
  std::string repo = dir + "/repo";
  fs::create_directories(repo);
  auto init = sh("cd " + quote(repo) +
                 " && git init -q && echo a > f && git add f && git -c user.name=t "
                 "-c user.email=t@t commit -qm one && git rev-parse HEAD");
  ASSERT_EQ(init.exit_code, 0) << init.out;
  std::string head = init.out.substr(0, 40);
  EXPECT_NE(gen(repo, "").find("kCommit[] = \"" + head + "\";"), std::string::npos);
  std::ofstream(repo + "/f") << "changed\n";
  EXPECT_NE(gen(repo, "").find("kCommit[] = \"" + head + "-dirty\";"), std::string::npos);
  // A directory inside someone else's repository is not a build of that commit.
  fs::create_directories(repo + "/sub");
  EXPECT_NE(gen(repo + "/sub", "").find("kCommit[] = \"unknown\";"), std::string::npos);
  fs::remove_all(dir);
}

// ---- completion

std::vector<std::string> visible_commands() {
  std::vector<std::string> out;
  for (const auto& c : command_table())
    if (std::string(c.name) != "manpages") out.push_back(c.name);
  return out;
}

class ShipCompletion : public ::testing::Test {
 protected:
  void SetUp() override {
    cli_ = make_cli_app();
    dir_ = temp_dir("completion");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string script(const std::string& shell) { return completion_script(*cli_->app, shell); }
  // What bash offers for the words typed so far (the last one is being typed).
  std::string bash_complete(const std::vector<std::string>& words) {
    std::string file = dir_ + "/colshift.bash";
    std::ofstream(file) << script("bash");
    std::string array;
    for (const auto& w : words) array += " " + quote(w);
    std::string cmd = "cd " + quote(dir_) + " && bash -c " +
                      quote("source colshift.bash && COMP_WORDS=(" + array +
                            ") && COMP_CWORD=" + std::to_string(words.size() - 1) +
                            "; _colshift; for w in \"${COMPREPLY[@]}\"; do echo \"$w\"; done | "
                            "sort | tr '\\n' ' '");
    auto r = sh(cmd);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return r.out;
  }
  std::unique_ptr<CliApp> cli_;
  std::string dir_;
};

TEST_F(ShipCompletion, BashCompletesCommandsOptionsAndChoices) {
  EXPECT_EQ(bash_complete({"colshift", "l"}), "lint ");
  EXPECT_EQ(bash_complete({"colshift", "co"}), "complete completion ");
  EXPECT_EQ(bash_complete({"colshift", "lint", "--format", ""}),
            "github gitlab json markdown sarif text ");
  EXPECT_EQ(bash_complete({"colshift", "--json", "completion", ""}), "bash fish zsh ");
  EXPECT_EQ(bash_complete({"colshift", "plan", "--off"}), "--offline ");
  // Global options after the command, as the parser accepts them.
  EXPECT_EQ(bash_complete({"colshift", "status", "--lock-t"}), "--lock-timeout ");
  // Positional files.
  std::ofstream(dir_ + "/0001_x.yaml") << "purpose: p\n";
  EXPECT_EQ(bash_complete({"colshift", "plan", "0001"}), "0001_x.yaml ");
  // The hidden build helper is not offered.
  EXPECT_EQ(bash_complete({"colshift", "man"}), "");
  std::string all = bash_complete({"colshift", ""});
  for (const auto& c : visible_commands()) EXPECT_NE(all.find(c + " "), std::string::npos) << c;
}

TEST_F(ShipCompletion, ZshAndFishNameEveryCommandAndOption) {
  std::string zsh = script("zsh");
  std::string fish = script("fish");
  EXPECT_EQ(zsh.rfind("#compdef colshift\n", 0), 0u);
  for (const auto& c : visible_commands()) {
    EXPECT_NE(zsh.find("\n    '" + c + ":"), std::string::npos) << c;
    EXPECT_NE(fish.find("-a " + c + " -d "), std::string::npos) << c;
  }
  EXPECT_NE(zsh.find("'--format[text, json, sarif, gitlab (code quality report) or github (--json "
                     "means json); markdown with --explain]:TEXT:(text json sarif gitlab github "
                     "markdown)'"),
            std::string::npos)
      << zsh;
  EXPECT_NE(zsh.find("'1:SHELL:(bash zsh fish)'"), std::string::npos);
  EXPECT_NE(fish.find("complete -c colshift -n '__fish_seen_subcommand_from lint' -l format -x -a "
                      "'text json sarif gitlab github markdown' -d "),
            std::string::npos)
      << fish;
  EXPECT_NE(fish.find("complete -c colshift -s v -l verbose -d "), std::string::npos);
  // A quote in a description is escaped for each shell ("colshift's own schema").
  EXPECT_NE(zsh.find("colshift'\\''s own schema"), std::string::npos);
  EXPECT_NE(fish.find("colshift\\'s own schema"), std::string::npos);
  EXPECT_EQ(zsh.find("manpages"), std::string::npos);
  EXPECT_EQ(fish.find("manpages"), std::string::npos);
  // Syntax, where the shells are installed.
  for (const auto& [shell, text] : {std::pair{"zsh", zsh}, std::pair{"fish", fish}}) {
    if (sh(std::string("command -v ") + shell).exit_code != 0) continue;
    std::string file = dir_ + "/script." + shell;
    std::ofstream(file) << text;
    auto r = sh(std::string(shell) + " -n " + quote(file));
    EXPECT_EQ(r.exit_code, 0) << shell << ": " << r.out;
  }
}

TEST_F(ShipCompletion, TheCommandPrintsTheScriptAndRefusesOtherShells) {
  for (const char* shell : {"bash", "zsh", "fish"}) {
    auto r = sh(quote(kBinary) + " completion " + shell);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_EQ(r.out, script(shell)) << shell;
  }
  auto bad = sh(quote(kBinary) + " completion tcsh");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.out.find("tcsh not in {bash,zsh,fish}"), std::string::npos) << bad.out;
  EXPECT_THROW(script("tcsh"), Error);
  auto help = sh(quote(kBinary) + " --help");
  EXPECT_NE(help.out.find("completion"), std::string::npos) << help.out;
  EXPECT_EQ(help.out.find("manpages"), std::string::npos) << help.out;
}

// ---- man pages

TEST(ShipManPages, OnePagePerCommandWithEveryOptionOfItsHelp) {
  auto cli = make_cli_app();
  auto pages = man_pages(*cli->app, build_info::kVersion);
  std::map<std::string, std::string> by_name(pages.begin(), pages.end());
  ASSERT_EQ(pages.size(), visible_commands().size() + 1);
  ASSERT_TRUE(by_name.count("colshift.1"));
  for (const auto& spec : command_table()) {
    std::string name = spec.name;
    if (name == "manpages") {
      EXPECT_FALSE(by_name.count("colshift-manpages.1"));
      continue;
    }
    std::string page = by_name["colshift-" + name + ".1"];
    ASSERT_FALSE(page.empty()) << name;
    EXPECT_NE(page.find(".TH COLSHIFT\\-"), std::string::npos);
    EXPECT_NE(
        page.find("\n.SH NAME\ncolshift\\-" + name + " \\- " + roff_escape(spec.summary) + "\n"),
        std::string::npos)
        << page;
    EXPECT_NE(by_name["colshift.1"].find(".BR colshift\\-" + name + " (1)"), std::string::npos);
    // Every option --help shows for the command, with its description.
    CLI::App* sub = cli->app->get_subcommand(name);
    for (const CLI::Option* opt : sub->get_options()) {
      for (const auto& l : opt->get_lnames()) {
        std::string roffed;
        for (char c : "--" + l) roffed += c == '-' ? std::string("\\-") : std::string(1, c);
        EXPECT_NE(page.find("\\fB" + roffed + "\\fR"), std::string::npos) << name << " " << l;
      }
      std::string desc = opt->get_description();
      if (!desc.empty()) {
        EXPECT_NE(page.find(roff_escape(desc)), std::string::npos) << name << ": " << desc;
      }
    }
    // The global options too.
    EXPECT_NE(page.find("\\fB\\-\\-lock\\-timeout\\fR \\fITEXT\\fR"), std::string::npos) << name;
  }
  std::string lint = by_name["colshift-lint.1"];
  EXPECT_NE(lint.find("One of: text, json, sarif, gitlab, github, markdown."), std::string::npos);
  EXPECT_NE(lint.find("Default: text."), std::string::npos);
  EXPECT_NE(by_name["colshift.1"].find("\n.SH EXIT STATUS\n"), std::string::npos);
}

TEST(ShipManPages, RoffEscaping) {
  EXPECT_EQ(roff_escape(".starts with a dot\n'and a quote\nback\\slash"),
            "\\&.starts with a dot\n\\&'and a quote\nback\\eslash");
  EXPECT_EQ(roff_escape("mid. dot's fine"), "mid. dot's fine");
}

TEST(ShipManPages, TheBinaryWritesThemAndManRendersThem) {
  std::string dir = temp_dir("man");
  auto r = sh(quote(kBinary) + " manpages --out " + quote(dir));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto cli = make_cli_app();
  size_t files = 0;
  for (const auto& [name, text] : man_pages(*cli->app, build_info::kVersion)) {
    EXPECT_EQ(read(dir + "/" + name), text) << name;
    ++files;
  }
  EXPECT_EQ(
      static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator())),
      files);
  if (sh("command -v groff").exit_code == 0) {
    // -ww: every warning; a page with bad roff says so on stderr.
    auto page = sh("groff -man -Tutf8 -ww -z " + quote(dir + "/colshift-lint.1"));
    EXPECT_EQ(page.exit_code, 0);
    EXPECT_EQ(page.out, "");
    auto text = sh("groff -man -Tascii -P-cbou " + quote(dir + "/colshift-lint.1"));
    EXPECT_NE(text.out.find("colshift-lint - check migration files"), std::string::npos)
        << text.out;
    EXPECT_NE(text.out.find("--format TEXT"), std::string::npos) << text.out;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace colshift::cli

// A recording fake Connection for fast unit tests of control flow (retries,
// transactions, the order of statements): it answers from rules the test
// gives, records every statement with its parameters, and never talks to a
// server. Beside, not instead of, the real-server integration tests: it
// checks what colshift sends and how it reacts, not what the server does.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dialect/connection.h"

namespace colshift::testing {

class RecordingConnection final : public Connection {
 public:
  struct Call {
    std::string sql;
    Params params;
  };
  // What a rule does with a statement it matches: return a result, or throw.
  using Answer = std::function<QueryResult(const Call&)>;

  // Statements starting with `prefix` get `answer`; the newest matching rule
  // wins, and statements no rule matches return an empty result.
  void on(std::string prefix, Answer answer) {
    rules_.insert(rules_.begin(), {std::move(prefix), std::move(answer)});
  }
  // Statements starting with `prefix` fail with SQLSTATE `code` of class
  // `cls` the first `times` times they run, then get an empty result.
  void fail(std::string prefix, std::string code, DbErrorClass cls, int times) {
    auto left = std::make_shared<int>(times);
    on(std::move(prefix), [=](const Call& c) -> QueryResult {
      if (*left > 0) {
        --*left;
        throw DbError("injected " + code, code, cls, c.sql);
      }
      return {};
    });
  }
  // One row of one column.
  static QueryResult value(std::string v) {
    return QueryResult({"v"}, {{Param(std::move(v))}}, -1);
  }

  QueryResult exec(std::string_view sql, const Params& params = {}) override {
    calls_.push_back({std::string(sql), params});
    if (!alive_) throw DbError("connection lost", "08006", DbErrorClass::kConnectionLost, "");
    for (const auto& [prefix, answer] : rules_)
      if (calls_.back().sql.rfind(prefix, 0) == 0) return answer(calls_.back());
    return {};
  }
  void exec_script(std::string_view sql) override { exec(sql); }
  int server_version() const override { return 150000; }
  int backend_pid() const override { return 4242; }
  std::string describe() const override { return "fake@recording/test"; }
  bool alive() const override { return alive_; }
  void cancel() override { ++cancels_; }
  void sever() override { alive_ = false; }
  std::vector<std::string> wait_notifications(std::chrono::milliseconds) override { return {}; }

  const std::vector<Call>& calls() const { return calls_; }
  // The statements run so far, in order.
  std::vector<std::string> statements() const {
    std::vector<std::string> out;
    for (const auto& c : calls_) out.push_back(c.sql);
    return out;
  }
  int count(const std::string& prefix) const {
    int n = 0;
    for (const auto& c : calls_) n += c.sql.rfind(prefix, 0) == 0;
    return n;
  }
  void clear() { calls_.clear(); }

 private:
  std::vector<std::pair<std::string, Answer>> rules_;
  std::vector<Call> calls_;
  bool alive_ = true;
  int cancels_ = 0;
};

}  // namespace colshift::testing

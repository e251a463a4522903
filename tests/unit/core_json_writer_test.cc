// JsonWriter must print exactly what nlohmann::json::dump prints for the same
// document (lint --format json was first defined as that dump), and must
// never throw on bytes that are not UTF-8.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "util/json_writer.h"

namespace colshift::util {
namespace {

using json = nlohmann::json;

// Writes `j` with JsonWriter, members in the order std::map keeps them.
void write(JsonWriter& w, const json& j) {
  if (j.is_object()) {
    w.begin_object();
    for (const auto& [k, v] : j.items()) {
      w.key(k);
      write(w, v);
    }
    w.end_object();
  } else if (j.is_array()) {
    w.begin_array();
    for (const auto& v : j) write(w, v);
    w.end_array();
  } else if (j.is_string()) {
    w.value(j.get<std::string>());
  } else if (j.is_boolean()) {
    w.value(j.get<bool>());
  } else if (j.is_number_unsigned()) {
    w.value(j.get<unsigned long long>());
  } else if (j.is_number_integer()) {
    w.value(j.get<long long>());
  } else {
    w.null();
  }
}

TEST(JsonWriter, MatchesNlohmannDumpByteForByte) {
  json doc = {
      {"empty_object", json::object()},
      {"empty_array", json::array()},
      {"strings",
       {"plain", "quote \" backslash \\ slash /", "ctl \b\f\n\r\t \x01 \x1f \x7f",
        "utf-8: é ü 漢字 🐘", ""}},
      {"numbers", {0, -1, 42, 9223372036854775807LL, 18446744073709551615ULL}},
      {"bools", {true, false, nullptr}},
      {"nested", {{"a", {{"b", json::array({json::object(), json::array({1})})}}}}},
  };
  for (int indent : {2, 4, -1}) {
    std::string out;
    JsonWriter w(out, indent);
    write(w, doc);
    EXPECT_EQ(out, doc.dump(indent)) << "indent " << indent;
  }
}

TEST(JsonWriter, RawValuesAreReindentedToTheirDepth) {
  json inner = {{"x", {1, 2}}};
  json doc = {{"a", 1}, {"inner", inner}};
  std::string out;
  JsonWriter w(out, 2);
  w.begin_object().member("a", 1).key("inner").raw(inner.dump(2)).end_object();
  EXPECT_EQ(out, doc.dump(2));
}

TEST(JsonWriter, InvalidUtf8IsReplacedNotThrown) {
  std::string out;
  JsonWriter::escape(std::string("ok \xff end \xc3"), out);
  EXPECT_EQ(out, "\"ok \xEF\xBF\xBD end \xEF\xBF\xBD\"");
  EXPECT_TRUE(json::accept(out));
  out.clear();
  JsonWriter::escape("\xed\xa0\x80", out);  // an encoded surrogate
  EXPECT_EQ(out, "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

}  // namespace
}  // namespace colshift::util

// What colshift tells the user without a database: connection strings with
// every password form redacted.
#include <gtest/gtest.h>

#include "pg/pg_connection.h"

namespace colshift {
namespace {

TEST(CoreRedact, EveryPasswordFormIsRedacted) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      // keyword strings: spaces around '=', quotes, escapes, any case
      {"host=db password = s3cret dbname=prod", "host=db password = **** dbname=prod"},
      {"host=db password= 'a b' dbname=prod", "host=db password= **** dbname=prod"},
      {"host=db password ='a b'", "host=db password =****"},
      {"host=db PASSWORD=s3cret", "host=db PASSWORD=****"},
      {"host=db Password=s3cret dbname=prod", "host=db Password=**** dbname=prod"},
      {"password='it\\'s' host=db", "password=**** host=db"},
      {"password=s3\\ cret host=db", "password=**** host=db"},
      {"  password=s3cret", "  password=****"},
      {"host=db\tpassword=s3cret\tdbname=prod", "host=db\tpassword=****\tdbname=prod"},
      // an unquoted password with a space: libpq reads "cret" as the next
      // keyword; the whole intended password is hidden
      {"host=db password=s3 cret dbname=prod", "host=db password=**** dbname=prod"},
      {"host=db password=", "host=db password=****"},
      {"host=db passfile=/x/pgpass dbname=prod", "host=db passfile=/x/pgpass dbname=prod"},
      {"host=db dbname=password", "host=db dbname=password"},
      // URLs: user:password, percent-encoded, unencoded '@' or '/', query parameters
      {"postgresql://app:s3cret@db.example:5432/prod",
       "postgresql://app:****@db.example:5432/prod"},
      {"postgresql://app%40corp:p%40ss%3Aw0rd@db:5432/prod",
       "postgresql://app%40corp:****@db:5432/prod"},
      {"postgresql://app:p@ss@db/prod", "postgresql://app:****@db/prod"},
      {"postgresql://app:pa/ss@db/prod", "postgresql://app:****@db/prod"},
      {"postgres://app:s3cret@h1:5432,h2:5433/prod", "postgres://app:****@h1:5432,h2:5433/prod"},
      {"postgresql://app@db/prod?sslmode=require&password=s3cret",
       "postgresql://app@db/prod?sslmode=require&password=****"},
      {"postgresql://app@db/prod?password=s3cret&sslmode=require",
       "postgresql://app@db/prod?password=****&sslmode=require"},
      {"postgresql://app@db/prod?pass%77ord=s3cret", "postgresql://app@db/prod?pass%77ord=****"},
      {"postgresql://app@db/prod?PASSWORD=s3cret", "postgresql://app@db/prod?PASSWORD=****"},
      {"postgresql://app:x@db/prod?password=y", "postgresql://app:****@db/prod?password=****"},
      {"postgresql://app@db.example:5432/prod", "postgresql://app@db.example:5432/prod"},
      {"postgresql://db.example:5432/prod", "postgresql://db.example:5432/prod"},
      {"postgresql:///prod?host=/run/pg", "postgresql:///prod?host=/run/pg"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(pg::redact_conninfo(in), want) << in;
}

TEST(CoreRedact, LibpqParseErrorsNeverEchoAPasswordFragment) {
  for (const char* conninfo :
       {"host=db password=s3cr3t w0rd", "host=db PASSWORD=s3cr3t", "postgresql://u:s3cr3t%zz@db/x",
        "postgresql://u:s3cr3t/w0rd@db/x", "postgresql://u@db/x?password=s3cr3t&w0rd"}) {
    SCOPED_TRACE(conninfo);
    try {
      pg::check_conninfo(conninfo);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
      std::string text = e.render();
      EXPECT_EQ(text.find("s3cr3t"), std::string::npos) << text;
      EXPECT_EQ(text.find("w0rd"), std::string::npos) << text;
    }
  }
}

}  // namespace
}  // namespace colshift

// Zero downtime under live writes: an application thread that only knows the
// old shape keeps inserting, updating and deleting rows while `start` runs;
// a few writes of the new app version set the column explicitly.
#include <random>
#include <set>

#include "core_helpers.h"

namespace colshift::testing {
namespace {

class CoreLiveWrites : public CoreTest {};

// ids 1..kExplicitRange are only ever written by the "new app version"
// (setting the column explicitly); the old app version writes the rest.
constexpr long long kRows = 50'000;
constexpr long long kExplicitRange = 500;

TEST_F(CoreLiveWrites, OldShapeWritesDuringStartAreFilledExplicitWritesKept) {
  make_users("users", kRows);
  // The new app version declares itself (SET LOCAL colshift.version, which
  // works through any pooler); every other session is the old version.
  auto file = migration("0001_users_domain",
                        "purpose: per-domain analytics\n"
                        "undeclared_writers: old\n"
                        "operations:\n"
                        "  - add_column:\n"
                        "      table: users\n"
                        "      column: { name: email_domain, type: text, nullable: false }\n"
                        "      up: split_part(email, '@', 2)\n");

  std::atomic<bool> stop{false};
  std::atomic<long long> old_writes{0}, explicit_writes{0}, errors{0};
  std::string first_error;
  std::thread writer([&, conn = connect()] {
    std::mt19937_64 rng(42);
    long long next_id = 10'000'000;
    while (!stop) {
      try {
        long long id =
            kExplicitRange + 1 + static_cast<long long>(rng() % (kRows - kExplicitRange));
        switch (rng() % 6) {
          case 0:
          case 1:  // old shape UPDATE of the value `up` reads
            conn->exec(
                "UPDATE users SET email = 'moved' || $1::text || '@m' || ($1::bigint % 11) || "
                "'.example' "
                "WHERE id = $1::bigint",
                {std::to_string(id)});
            break;
          case 2:  // old shape UPDATE of another column
            conn->exec("UPDATE users SET n = n + 1 WHERE id = $1", {std::to_string(id)});
            break;
          case 3:  // old shape INSERT
            conn->exec(
                "INSERT INTO users (id, email) VALUES ($1::bigint, 'new' || $1::text || "
                "'@fresh.example')",
                {std::to_string(next_id++)});
            break;
          case 4:  // old shape DELETE
            conn->exec("DELETE FROM users WHERE id = $1", {std::to_string(id)});
            break;
          case 5: {  // the new app version sets the column itself (once it exists)
            long long eid = 1 + static_cast<long long>(rng() % kExplicitRange);
            try {
              conn->exec("BEGIN");
              conn->exec("SET LOCAL colshift.version = '0001_users_domain'");
              if (rng() % 2) {
                // A new value each time: a row trigger cannot tell "set to
                // the value it already had" from "not named in SET".
                conn->exec(
                    "UPDATE users SET email = 'e' || $1::text || '@explicit.example', "
                    "email_domain = 'explicit-' || $2::text WHERE id = $1::bigint",
                    {std::to_string(eid), std::to_string(explicit_writes.load())});
              } else {
                conn->exec(
                    "INSERT INTO users (id, email, email_domain) VALUES ($1, 'x@ignored.example', "
                    "'explicit-new')",
                    {std::to_string(-eid - 1000 * (explicit_writes + 1))});
              }
              conn->exec("COMMIT");
              ++explicit_writes;
            } catch (const DbError& e) {
              conn->exec("ROLLBACK");
              if (e.code() != "42703") throw;  // the column is not there yet
            }
            break;
          }
        }
        ++old_writes;
      } catch (const std::exception& e) {
        if (errors++ == 0) first_error = e.what();
      }
    }
  });

  auto r = colshift({"start", file, "--batch-size", "500"});
  // Keep writing a little after start, through the trigger alone.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  writer.join();
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(errors, 0) << first_error;
  EXPECT_GT(old_writes, 200) << "the writer barely ran: the test proves nothing";
  EXPECT_GT(explicit_writes, 5);

  // Explicit writes keep their value; every other row is up(current values).
  EXPECT_EQ(scalar_int("SELECT count(*) FROM users WHERE email LIKE '%@explicit.example' OR "
                       "email = 'x@ignored.example'"),
            scalar_int("SELECT count(*) FROM users WHERE email_domain LIKE 'explicit-%'"));
  EXPECT_EQ(mismatches("users", "email_domain", "split_part(email, '@', 2)",
                       "email_domain NOT LIKE 'explicit-%'"),
            0);
  EXPECT_EQ(scalar_int("SELECT count(*) FROM users WHERE email_domain IS NULL"), 0);
  EXPECT_GT(scalar_int("SELECT count(*) FROM users WHERE email LIKE 'moved%'"), 0);

  ok({"complete", "--force"});
  EXPECT_TRUE(column_not_null("users", "email_domain"));
  EXPECT_EQ(mismatches("users", "email_domain", "split_part(email, '@', 2)",
                       "email_domain NOT LIKE 'explicit-%'"),
            0);
}

}  // namespace
}  // namespace colshift::testing

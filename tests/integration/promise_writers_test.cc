// The promise, part 1 (issue 8 §1–2): the dual-write trigger knows which app
// version writes, never changes a value an app wrote, and never fails an
// app's write. Each test reproduces a defect found on main.
#include "core_helpers.h"

namespace colshift::testing {
namespace {

class PromiseWriters : public CoreTest {
 protected:
  // A session of the app version `version` (application_name in the URL, as
  // an app's connection string would say it).
  std::unique_ptr<pg::PgConnection> app(const std::string& version) {
    return pg::PgConnection::connect({url_ + "?application_name=colshift:" + version});
  }
};

// D1: a volatile value is computed once per row and never again on UPDATE,
// and an UPDATE that does not touch the column is not an old-version write.
TEST_F(PromiseWriters, VolatileValuesAreComputedOnceNeverOnUpdate) {
  struct Case {
    const char* type;
    const char* expr;
  };
  sql("CREATE SEQUENCE ticket_seq");
  const Case cases[] = {{"uuid", "gen_random_uuid()"},
                        {"double precision", "random()"},
                        {"timestamptz", "clock_timestamp()"},
                        {"bigint", "nextval('ticket_seq')"}};
  int n = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.expr);
    const std::string table = "accounts" + std::to_string(n);
    const std::string name = "000" + std::to_string(n + 1) + "_" + table + "_token";
    ++n;
    sql("CREATE TABLE " + table + " (id bigint PRIMARY KEY, qty int NOT NULL)");
    sql("INSERT INTO " + table + " SELECT g, 0 FROM generate_series(1, 300) g");
    auto f = migration(name,
                       "purpose: a token per account\noperations:\n  - add_column:\n"
                       "      table: " +
                           table + "\n      column: { name: api_token, type: " + c.type +
                           ", nullable: false, default: \"" + c.expr + "\" }\n");
    ok({"start", f});
    auto before = scalar_text("SELECT string_agg(api_token::text, ',' ORDER BY id) FROM " + table);
    // The old app (declaring nothing) and an old version that declares itself.
    sql("UPDATE " + table + " SET qty = qty + 1 WHERE id <= 150");
    app("0000_older")->exec("UPDATE " + table + " SET qty = qty + 1 WHERE id > 150");
    EXPECT_EQ(scalar_text("SELECT string_agg(api_token::text, ',' ORDER BY id) FROM " + table),
              before)
        << "an UPDATE regenerated the volatile value";
    // A new row gets one value, kept by later updates.
    sql("INSERT INTO " + table + " (id, qty) VALUES (1000, 0)");
    auto fresh = scalar_text("SELECT api_token::text FROM " + table + " WHERE id = 1000");
    EXPECT_FALSE(fresh.empty());
    sql("UPDATE " + table + " SET qty = 5 WHERE id = 1000");
    EXPECT_EQ(scalar_text("SELECT api_token::text FROM " + table + " WHERE id = 1000"), fresh);
    // The undeclared UPDATEs were not counted as old-version writes: only
    // the declared old version's and the INSERT were.
    auto r = colshift({"complete"});
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_NE(r.err.find("(151 such writes in all)"), std::string::npos) << r.err;
    ok({"complete", "--force"});
    EXPECT_TRUE(column_not_null(table, "api_token"));
  }
}

// D2: a value the new version wrote is never overwritten by the trigger.
TEST_F(PromiseWriters, NewVersionValuesAreNeverOverwritten) {
  sql("CREATE TABLE order_lines (order_id bigint PRIMARY KEY, qty int NOT NULL)");
  sql("INSERT INTO order_lines SELECT g, 1 FROM generate_series(1, 500) g");
  const std::string version = "0002_order_lines_source";
  auto f =
      migration(version,
                "purpose: attribute orders to a source\noperations:\n  - add_column:\n"
                "      table: order_lines\n"
                "      column: { name: source, type: text, nullable: false, default: "
                "\"'organic'\" }\n"
                "      up: \"CASE WHEN order_id % 10 = 0 THEN 'campaign' ELSE 'organic' END\"\n");
  ok({"start", f});
  auto status = ok({"status"});
  EXPECT_NE(status.out.find("application_name=colshift:" + version), std::string::npos)
      << status.out;

  auto fresh = app(version);
  fresh->exec("INSERT INTO order_lines VALUES (1001, 1, 'newsletter'), (1010, 1, 'newsletter')");
  fresh->exec("UPDATE order_lines SET source = 'newsletter' WHERE order_id IN (20, 21)");
  // The new version's INSERT without the column gets the new shape's default.
  fresh->exec("INSERT INTO order_lines (order_id, qty) VALUES (1020, 1)");
  EXPECT_EQ(scalar_text("SELECT source FROM order_lines WHERE order_id = 1020"), "organic");

  // Old-version writes of other columns, declared and undeclared.
  sql("UPDATE order_lines SET qty = 2");
  app("0001_older")->exec("UPDATE order_lines SET qty = 3");
  EXPECT_EQ(scalar_int("SELECT count(*) FROM order_lines WHERE source = 'newsletter'"), 4);
  // An undeclared session that sets the column is never overwritten either.
  sql("INSERT INTO order_lines VALUES (1030, 1, 'partner')");
  sql("UPDATE order_lines SET qty = 9 WHERE order_id = 1030");
  EXPECT_EQ(scalar_text("SELECT source FROM order_lines WHERE order_id = 1030"), "partner");
  // Old-version rows got 'up'.
  sql("INSERT INTO order_lines (order_id, qty) VALUES (1040, 1)");
  EXPECT_EQ(scalar_text("SELECT source FROM order_lines WHERE order_id = 1040"), "campaign");
  EXPECT_EQ(mismatches("order_lines", "source",
                       "CASE WHEN order_id % 10 = 0 THEN 'campaign' ELSE 'organic' END",
                       "order_id NOT IN (20, 21, 1001, 1010, 1020, 1030)"),
            0);
  ok({"complete", "--force"});
  EXPECT_EQ(scalar_int("SELECT count(*) FROM order_lines WHERE source = 'newsletter'"), 4);
}

// An old-version UPDATE that changes what `up` reads re-derives the column
// (the declared old version, and every undeclared session with
// undeclared_writers: old); the guess mode leaves the value.
TEST_F(PromiseWriters, OldVersionUpdatesRederiveOnlyWhenUpsInputsChange) {
  make_users("users", 300);
  auto f = migration("0001_users_domain",
                     "purpose: domains\nundeclared_writers: old\noperations:\n  - add_column:\n"
                     "      table: users\n"
                     "      column: { name: email_domain, type: text, nullable: false }\n"
                     "      up: split_part(email, '@', 2)\n");
  ok({"start", f});
  app("0001_users_domain")
      ->exec("UPDATE users SET email_domain = 'kept.example' WHERE id IN (1, 2)");
  sql("UPDATE users SET n = n + 1");  // undeclared = old: nothing up reads changed
  EXPECT_EQ(scalar_int("SELECT count(*) FROM users WHERE email_domain = 'kept.example'"), 2);
  sql("UPDATE users SET email = 'x@moved.example' WHERE id IN (2, 3)");
  EXPECT_EQ(scalar_text("SELECT email_domain FROM users WHERE id = 2"), "moved.example");
  EXPECT_EQ(scalar_text("SELECT email_domain FROM users WHERE id = 3"), "moved.example");
  EXPECT_EQ(scalar_text("SELECT email_domain FROM users WHERE id = 1"), "kept.example");
  ok({"rollback"});
}

// The default (guess), as `./run demo` runs it: the old app declares
// nothing and changes emails. Before the fix an undeclared UPDATE never
// re-derived a value, so a domain colshift had derived kept the old email's
// (557 wrong rows in the demo's final check). Now colshift's own values
// follow `up`, and a value any writer set — in the same statement or an
// earlier one, even one equal to what `up` gives — stays.
TEST_F(PromiseWriters, UndeclaredUpdatesFollowColshiftsValuesAndKeepWritersValues) {
  make_users("users", 300);
  ok({"start", domain_migration("0001_users_domain", "users", "email_domain")});
  auto domain = [&](int id) {
    return scalar_text("SELECT email_domain FROM users WHERE id = " + std::to_string(id));
  };
  // The backfill's value follows the old app's email change.
  sql("UPDATE users SET email = 'y@elsewhere.example' WHERE id = 5");
  EXPECT_EQ(domain(5), "elsewhere.example") << "a value colshift derived must follow 'up'";
  // So does the trigger's own (an old-app INSERT, then its email change).
  sql("INSERT INTO users (id, email) VALUES (1000, 'a@first.example')");
  sql("UPDATE users SET email = 'a@second.example' WHERE id = 1000");
  EXPECT_EQ(domain(1000), "second.example");
  // An update that does not change what `up` reads keeps the value.
  sql("UPDATE users SET n = n + 1 WHERE id = 5");
  EXPECT_EQ(domain(5), "elsewhere.example");

  // Undeclared writers that set the column: their value stays through a
  // later email change ...
  sql("UPDATE users SET email_domain = 'custom.example' WHERE id = 7");
  sql("UPDATE users SET email = 'q@moved.example' WHERE id = 7");
  EXPECT_EQ(domain(7), "custom.example");
  // ... also when it equals what `up` gives (it was still a writer's) ...
  sql("INSERT INTO users (id, email, email_domain) VALUES (1001, 'b@same.example', "
      "'same.example')");
  sql("UPDATE users SET email = 'b@other.example' WHERE id = 1001");
  EXPECT_EQ(domain(1001), "same.example");
  sql("UPDATE users SET email_domain = 'd8.example', email = 'c@changed.example' WHERE id = 8");
  EXPECT_EQ(domain(8), "d8.example") << "SET named the column, keeping its value";
  sql("UPDATE users SET email = 'c@again.example' WHERE id = 8");
  EXPECT_EQ(domain(8), "d8.example") << "and it stays a writer's value afterwards";
  // A session that declares an older version is old: its change re-derives.
  sql("UPDATE users SET email_domain = 'set.example' WHERE id = 6");
  app("0000_older")->exec("UPDATE users SET email = 'z@declared.example' WHERE id = 6");
  EXPECT_EQ(domain(6), "declared.example");
  // A declared new version is never touched, and records nothing.
  app("0001_users_domain")->exec("UPDATE users SET email = 'n@new.example' WHERE id = 9");
  EXPECT_EQ(domain(9), "d9.example");

  // What the guess records lives only while the migration is in flight.
  EXPECT_EQ(scalar_int("SELECT count(*) FROM pg_class c JOIN pg_namespace s ON s.oid = "
                       "c.relnamespace WHERE s.nspname = 'colshift' AND c.relkind = 'r' AND "
                       "c.relname LIKE 'colshift_wr_%'"),
            1);
  // complete counts exactly the writes that left the column to colshift:
  // the email changes of ids 5 and 1000, the INSERT of 1000, and the older
  // version's UPDATE of 6 (not the kept values, not the new version).
  auto refused = colshift({"complete"});
  EXPECT_EQ(refused.exit_code, 1) << describe(refused);
  EXPECT_NE(refused.err.find("(4 such writes in all)"), std::string::npos) << refused.err;
  ok({"complete", "--force"});
  EXPECT_EQ(scalar_int("SELECT count(*) FROM pg_class WHERE relname LIKE 'colshift_wr_%'"), 0);
  EXPECT_EQ(scalar_int("SELECT count(*) FROM pg_proc WHERE proname LIKE 'colshift_dn_%'"), 0);
  EXPECT_EQ(
      scalar_int("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'colshift_%' AND tgname <> "
                 "'colshift_backfill_milestone'"),
      0);
}

// D3: a NULL or an error from `up` inside the trigger never fails the app's
// statement; the row is counted, and complete fills or names it.
TEST_F(PromiseWriters, BadUpNeverFailsAnAppWrite) {
  sql("CREATE TABLE orders (id bigint PRIMARY KEY, note text, legacy_code text)");
  sql("INSERT INTO orders SELECT g, 'n' || g, g::text FROM generate_series(1, 400) g");
  auto f = migration("0001_orders_derived",
                     "purpose: derived columns\noperations:\n"
                     "  - add_column:\n      table: orders\n"
                     "      column: { name: note_upper, type: text, nullable: false }\n"
                     "      up: upper(note)\n"
                     "  - add_column:\n      table: orders\n"
                     "      column: { name: code, type: int, nullable: false }\n"
                     "      up: legacy_code::int\n"
                     "  - add_column:\n      table: orders\n"
                     "      column: { name: inv, type: int, nullable: false }\n"
                     "      up: 1/(id % 100000)\n");
  ok({"start", f});
  EXPECT_EQ(scalar_int("SELECT count(*) FROM pg_constraint WHERE conrelid = 'orders'::regclass"), 1)
      << "only the primary key: no constraint an app write could violate before complete";
  // Each of these failed inside the trigger before the fix.
  sql("INSERT INTO orders (id, note, legacy_code) VALUES (100000, NULL, 'N/A')");
  sql("UPDATE orders SET legacy_code = 'N/A' WHERE id = 7");
  sql("INSERT INTO orders (id, note, legacy_code) VALUES (1000, 'fine', '1000')");
  EXPECT_TRUE(sql("SELECT note_upper FROM orders WHERE id = 100000").at(0, 0) == std::nullopt);
  EXPECT_EQ(scalar_text("SELECT note_upper FROM orders WHERE id = 1000"), "FINE");
  auto status = ok({"status"});
  EXPECT_NE(status.out.find("with a failed 'up'"), std::string::npos) << status.out;

  // complete names the row it cannot fill and leaves the migration active.
  auto r = colshift({"complete", "--force"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("(id)=(100000)"), std::string::npos) << r.err;
  EXPECT_EQ(phase_of("0001_orders_derived"), "active");
  EXPECT_EQ(scalar_int("SELECT count(*) FROM pg_constraint WHERE conrelid = 'orders'::regclass"),
            1);
  // Fixing the row's data lets the trigger derive it; complete then works.
  sql("UPDATE orders SET note = 'late', legacy_code = '5' WHERE id = 100000");
  EXPECT_EQ(scalar_text("SELECT note_upper || code || coalesce(inv::text, '-') FROM orders WHERE "
                        "id = 100000"),
            "LATE5-")
      << "1/(100000 % 100000) still fails: inv stays NULL";
  r = colshift({"complete", "--force"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("'up' of orders.inv fails for the row (id)=(100000): division by zero"),
            std::string::npos)
      << r.err;
  sql("DELETE FROM orders WHERE id = 100000");
  sql("UPDATE orders SET legacy_code = '7' WHERE id = 7");
  ok({"complete", "--force"});
  EXPECT_TRUE(column_not_null("orders", "code"));
}

// D3: a bad `up` is refused before anything changes, naming the row.
TEST_F(PromiseWriters, PreflightRefusesABadUpNamingTheRow) {
  sql("CREATE TABLE orders (id bigint PRIMARY KEY, note text, legacy_code text)");
  sql("INSERT INTO orders SELECT g, CASE WHEN g = 77 THEN NULL ELSE 'n' || g END, "
      "CASE WHEN g = 250 THEN 'N/A' ELSE g::text END FROM generate_series(1, 400) g");
  const std::string before = schema_dump();
  auto upper = add_column_file("0001_orders_upper", "orders",
                               "{ name: note_upper, type: text, nullable: false }", "upper(note)");
  auto r = colshift({"start", upper});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("pre-flight: 'up' gives NULL for NOT NULL column orders.note_upper at the "
                       "row (id)=(77)"),
            std::string::npos)
      << r.err;
  auto code = add_column_file("0001_orders_code", "orders",
                              "{ name: code, type: int, nullable: false }", "legacy_code::int");
  r = colshift({"start", code});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("for the row (id)=(250): invalid input syntax for type integer: \"N/A\""),
            std::string::npos)
      << r.err;
  EXPECT_EQ(migration_rows(), 0);
  EXPECT_EQ(schema_dump(), before);
}

// D4: two NOT NULL columns on one table in one migration, one backfill pass.
TEST_F(PromiseWriters, TwoNotNullColumnsOnOneTableFillInOnePass) {
  make_users("users", 2000);
  auto f = migration("0001_users_two",
                     "purpose: two derived columns\noperations:\n"
                     "  - add_column:\n      table: users\n"
                     "      column: { name: domain, type: text, nullable: false }\n"
                     "      up: split_part(email, '@', 2)\n"
                     "  - add_column:\n      table: users\n"
                     "      column: { name: local, type: text, nullable: false }\n"
                     "      up: split_part(email, '@', 1)\n");
  auto plan = ok({"plan", f});
  EXPECT_NE(plan.out.find("in one pass of primary-key batches"), std::string::npos) << plan.out;
  ok({"start", f, "--batch-size", "300"});
  EXPECT_EQ(scalar_int("SELECT count(*) FROM colshift.backfill"), 1);
  EXPECT_EQ(scalar_int("SELECT rows_done FROM colshift.backfill"), 2000);
  EXPECT_EQ(mismatches("users", "domain", "split_part(email, '@', 2)"), 0);
  EXPECT_EQ(mismatches("users", "local", "split_part(email, '@', 1)"), 0);
  ok({"complete", "--quiet-period", "0s"});
  EXPECT_TRUE(column_not_null("users", "domain"));
  EXPECT_TRUE(column_not_null("users", "local"));
}

// An app role with rights on its tables only keeps writing through the
// trigger (which bumps counters in colshift's schema).
TEST_F(PromiseWriters, AnAppRoleWithoutRightsOnColshiftsSchemaKeepsWriting) {
  make_users("users", 100);
  const std::string role = "app_" + dbname_;
  sql("CREATE ROLE " + role + " LOGIN");
  sql("GRANT SELECT, INSERT, UPDATE, DELETE ON users TO " + role);
  ok({"start", domain_migration("0001_users_domain", "users", "email_domain")});
  auto appconn =
      pg::PgConnection::connect({"postgresql://" + role + "@" + url_.substr(url_.find('@') + 1)});
  appconn->exec("INSERT INTO users (id, email) VALUES (500, 'a@role.example')");
  appconn->exec("UPDATE users SET n = 1 WHERE id = 1");
  EXPECT_EQ(scalar_text("SELECT email_domain FROM users WHERE id = 500"), "role.example");
  appconn.reset();
  ok({"rollback"});
  sql("DROP OWNED BY " + role);
  sql("DROP ROLE " + role);
}

// Names colshift creates never collide: table a_b column c and table a
// column b_c, and a table whose name holds the dollar-quote tag.
TEST_F(PromiseWriters, SimilarNamesNeverCollide) {
  sql("CREATE TABLE a_b (id int PRIMARY KEY, v int)");
  sql("CREATE TABLE a (id int PRIMARY KEY, v int)");
  sql("CREATE TABLE \"t$colshift$x\" (id int PRIMARY KEY, v int)");
  for (const char* t : {"a_b", "a", "\"t$colshift$x\""})
    sql(std::string("INSERT INTO ") + t + " SELECT g, g FROM generate_series(1, 50) g");
  auto f = migration("0001_names",
                     "purpose: names that look alike\noperations:\n"
                     "  - add_column:\n      table: a_b\n"
                     "      column: { name: c, type: int, nullable: false }\n      up: v * 2\n"
                     "  - add_column:\n      table: a\n"
                     "      column: { name: b_c, type: int, nullable: false }\n      up: v * 3\n"
                     "  - add_column:\n      table: \"t$colshift$x\"\n"
                     "      column: { name: c, type: text, nullable: false }\n"
                     "      up: \"'$colshift$' || v\"\n");
  ok({"start", f});
  sql("INSERT INTO a_b (id, v) VALUES (100, 1)");
  sql("INSERT INTO a (id, v) VALUES (100, 1)");
  sql("INSERT INTO \"t$colshift$x\" (id, v) VALUES (100, 1)");
  EXPECT_EQ(scalar_int("SELECT c FROM a_b WHERE id = 100"), 2);
  EXPECT_EQ(scalar_int("SELECT b_c FROM a WHERE id = 100"), 3);
  EXPECT_EQ(scalar_text("SELECT c FROM \"t$colshift$x\" WHERE id = 100"), "$colshift$1");
  ok({"rollback"});
  EXPECT_EQ(phase_of("0001_names"), "rolled_back");
  EXPECT_EQ(scalar_int("SELECT count(*) FROM pg_proc WHERE proname LIKE 'colshift%' AND "
                       "pronamespace <> 'colshift'::regnamespace"),
            0);
}

}  // namespace
}  // namespace colshift::testing

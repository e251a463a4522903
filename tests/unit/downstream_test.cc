// Downstream safety (issue 14 §2), planned from hand-made facts: which
// subscribers must get a column first, what start refuses and why, column
// lists, row filters and slots that hold WAL back.
#include <gtest/gtest.h>

#include "dialect/dialect.h"
#include "docs/docs.h"
#include "migration/migration.h"
#include "plan/planner.h"
#include "util/error.h"

namespace colshift {
namespace {

// Whether `text` holds `piece`; on failure, says which and shows the text.
::testing::AssertionResult has(const std::string& text, const std::string& piece) {
  if (text.find(piece) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "missing \"" << piece << "\" in:\n" << text;
}

constexpr const char* kAddDomain =
    "purpose: per-domain analytics\n"
    "operations:\n"
    "  - add_column:\n"
    "      table: users\n"
    "      column: { name: email_domain, type: text }\n"
    "      up: split_part(email, '@', 2)\n";

// The one line of `lines`, or what is there instead.
std::string only(const std::vector<std::string>& lines) {
  if (lines.size() == 1) return lines[0];
  std::string out = std::to_string(lines.size()) + " lines:";
  for (const auto& l : lines) out += "\n" + l;
  return out;
}

plan::PublicationFacts publication(const std::string& name, const std::string& via = "table") {
  plan::PublicationFacts p;
  p.name = name;
  p.table = "public.users";
  p.via = via;
  return p;
}

plan::SlotImpact slot(const std::string& name, bool active, long long lag = 0,
                      const std::string& plugin = "pgoutput") {
  return {name, "logical", plugin, active, lag, active ? name : ""};
}

// A published users table, one pgoutput slot streaming to users_sub.
plan::CatalogFacts facts(std::vector<plan::PublicationFacts> pubs = {publication("users_pub")},
                         std::vector<plan::SlotImpact> slots = {slot("users_sub", true)}) {
  plan::CatalogFacts f;
  f.offline = false;
  plan::TableFacts t;
  t.schema = "public";
  t.name = "users";
  t.columns = {{"id", "bigint", true}, {"email", "text", true}, {"n", "integer", true}};
  t.primary_key = {"id"};
  t.primary_key_types = {"bigint"};
  t.row_estimate = 1000;
  f.tables["users"] = t;
  plan::TableImpact im;
  im.table = "public.users";
  im.slots = std::move(slots);
  f.impact.push_back(im);
  f.publications = std::move(pubs);
  return f;
}

plan::SubscriberFacts subscriber(bool present, const std::string& type = "text",
                                 bool compatible = true) {
  plan::SubscriberFacts s;
  s.label = "SUB_URL";
  s.subscriptions.push_back({"users_sub", "users_sub", {"users_pub"}, true, 0, 0});
  s.columns.push_back(
      {"public.users", "email_domain", true, present, present ? type : "", present && compatible});
  return s;
}

plan::Plan make_plan(const plan::CatalogFacts& f, const std::string& yaml = kAddDomain) {
  auto m = migration::parse_migration(yaml, "m/0001_users_domain.yaml");
  return plan::build_plan(m, f, postgres_dialect(), "colshift");
}

// The refusal `start` gives, as the user reads it.
std::string refusal(const plan::Plan& p, ErrorKind kind) {
  try {
    plan::refuse_downstream(p);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e.render();
  }
  return "";
}

TEST(Downstream, UncheckedSubscriberIsNamedAndRefused) {
  auto p = make_plan(facts());
  ASSERT_EQ(p.downstream.columns.size(), 1u);
  EXPECT_EQ(p.downstream.columns[0].publications, std::vector<std::string>{"users_pub"});
  EXPECT_EQ(p.downstream.columns[0].subscriber_sql,
            "ALTER TABLE \"public\".\"users\" ADD COLUMN IF NOT EXISTS \"email_domain\" text");
  ASSERT_EQ(p.downstream.subscribers.size(), 1u);
  EXPECT_EQ(p.downstream.subscribers[0].state, plan::SubscriberState::kUnchecked);
  EXPECT_EQ(
      refusal(p, ErrorKind::kConflict),
      "m/0001_users_domain.yaml: error: refusing to start: public.users is published by "
      "users_pub, and PostgreSQL does not replicate DDL; subscription users_sub (slot users_sub) "
      "is unchecked. Adding the column here first would stop their replication ('missing "
      "replicated column') while WAL piles up on this server; nothing was changed\n"
      "  hint: add the column on each subscriber first (ALTER TABLE \"public\".\"users\" ADD "
      "COLUMN IF NOT EXISTS \"email_domain\" text); name the subscriber with --subscriber URL (or "
      "'subscribers:' in the file) so colshift checks it, and add --prepare-subscribers to let "
      "colshift add it there; or, when the subscribers are ready and not reachable from here, "
      "--subscribers-ready");
  auto text = plan::render_plan_text(p);
  EXPECT_TRUE(has(text,
                  "downstream (logical replication; PostgreSQL does not replicate DDL)\n"
                  "  public.users.email_domain (text): replicated by users_pub\n"
                  "    subscribers first: ALTER TABLE \"public\".\"users\" ADD COLUMN IF NOT "
                  "EXISTS \"email_domain\" text\n"
                  "  subscriber users_sub (slot users_sub, active): unchecked: name its "
                  "connection (--subscriber URL or subscribers:) so colshift checks it, or "
                  "--subscribers-ready\n"));
  EXPECT_TRUE(has(text,
                  "warning: 'colshift start' will refuse this migration until every "
                  "subscriber"));
}

TEST(Downstream, CheckedSubscriberWithTheColumnIsReady) {
  auto f = facts();
  f.subscribers.push_back(subscriber(true));
  auto p = make_plan(f);
  ASSERT_EQ(p.downstream.subscribers.size(), 1u);
  EXPECT_EQ(p.downstream.subscribers[0].state, plan::SubscriberState::kReady);
  EXPECT_EQ(p.downstream.subscribers[0].connection, "SUB_URL");
  EXPECT_EQ(p.downstream.subscribers[0].detail, "has public.users.email_domain text");
  EXPECT_NO_THROW(plan::refuse_downstream(p));
}

TEST(Downstream, MissingAndIncompatibleColumnsAreNotAcknowledgedAway) {
  auto f = facts();
  f.subscribers.push_back(subscriber(false));
  auto p = make_plan(f);
  EXPECT_EQ(p.downstream.subscribers[0].state, plan::SubscriberState::kMissing);
  plan::acknowledge_subscribers(p.downstream, "ops");
  EXPECT_EQ(p.downstream.subscribers[0].state, plan::SubscriberState::kMissing);
  EXPECT_TRUE(has(refusal(p, ErrorKind::kConflict),
                  "subscription users_sub (slot users_sub) on SUB_URL is missing: lacks "
                  "public.users.email_domain"));

  f.subscribers = {subscriber(true, "integer", false)};
  p = make_plan(f);
  EXPECT_EQ(p.downstream.subscribers[0].state, plan::SubscriberState::kIncompatible);
  EXPECT_EQ(p.downstream.subscribers[0].detail,
            "type does not fit: public.users.email_domain is integer there, the publisher adds "
            "text");
}

TEST(Downstream, AcknowledgedSubscribersAreRecorded) {
  auto p = make_plan(facts());
  plan::acknowledge_subscribers(p.downstream, "alice (alice@host)");
  EXPECT_NO_THROW(plan::refuse_downstream(p));
  auto back = plan::plan_from_json(plan::plan_to_json(p));
  EXPECT_TRUE(back.downstream.acknowledged);
  EXPECT_EQ(back.downstream.acknowledged_by, "alice (alice@host)");
  ASSERT_EQ(back.downstream.subscribers.size(), 1u);
  EXPECT_EQ(back.downstream.subscribers[0].state, plan::SubscriberState::kAcknowledged);
  EXPECT_TRUE(
      has(plan::render_plan_text(back), "acknowledged: --subscribers-ready by alice (alice@host)"));
  // docs of the applied migration show the section as it was planned.
  EXPECT_TRUE(has(docs::migration_page(back, std::nullopt),
                  "## Downstream\n\nLogical replication subscribers (PostgreSQL does not "
                  "replicate DDL), as they were when it was planned:\n\n```\n"
                  "public.users.email_domain (text): replicated by users_pub\n"));
}

TEST(Downstream, UnreachableSubscriberIsNotConfirmation) {
  auto f = facts();
  plan::SubscriberFacts down;
  down.label = "postgresql://app:xxxxx@sub/app";
  down.error = "connection refused";
  f.subscribers.push_back(down);
  auto p = make_plan(f);
  ASSERT_EQ(p.downstream.subscribers.size(), 2u);
  EXPECT_EQ(p.downstream.subscribers[1].state, plan::SubscriberState::kUnreachable);
  EXPECT_TRUE(has(refusal(p, ErrorKind::kConflict),
                  "postgresql://app:xxxxx@sub/app is unreachable: could not be read: "
                  "connection refused"));
}

TEST(Downstream, ColumnListLeavesTheNewColumnOut) {
  auto pub = publication("users_pub");
  pub.column_list = true;
  pub.columns = {"id", "email"};
  auto p = make_plan(facts({pub}));
  ASSERT_EQ(p.downstream.columns.size(), 1u);
  EXPECT_TRUE(p.downstream.columns[0].publications.empty());
  EXPECT_TRUE(p.downstream.subscribers.empty());
  EXPECT_NO_THROW(plan::refuse_downstream(p));
  EXPECT_EQ(only(p.downstream.notes),
            "users_pub publishes public.users with a column list (id, email) that leaves "
            "email_domain out: the new column is not replicated at all; once subscribers have "
            "it, add it with ALTER PUBLICATION users_pub SET TABLE public.users (id, email, "
            "email_domain)");
}

TEST(Downstream, AllTablesAndSchemaPublicationsReplicateIt) {
  auto p = make_plan(
      facts({publication("everything", "all tables"), publication("app", "schema public")}));
  ASSERT_EQ(p.downstream.columns.size(), 1u);
  EXPECT_EQ(p.downstream.columns[0].publications,
            (std::vector<std::string>{"everything (FOR ALL TABLES)",
                                      "app (FOR TABLES IN SCHEMA public)"}));
  EXPECT_EQ(p.downstream.subscribers.size(), 1u);
}

TEST(Downstream, NoSlotNoSubscriberToPrepare) {
  auto p = make_plan(facts({publication("users_pub")}, {}));
  EXPECT_TRUE(p.downstream.subscribers.empty());
  EXPECT_NO_THROW(plan::refuse_downstream(p));
  EXPECT_TRUE(has(only(p.downstream.notes), "no logical slot of this database streams"));
}

TEST(Downstream, UnpublishedTableHasNoDownstream) {
  auto p = make_plan(facts({}, {slot("users_sub", true)}));
  EXPECT_TRUE(p.downstream.empty());
  EXPECT_EQ(plan::render_plan_text(p).find("downstream ("), std::string::npos);
}

TEST(Downstream, InactiveSlotWithLargeLagWarns) {
  auto p = make_plan(
      facts({publication("users_pub")}, {slot("cdc", false, 80LL * 1024 * 1024, "wal2json")}));
  EXPECT_EQ(only(p.downstream.slot_warnings),
            "logical slot cdc is inactive and holds back 80 MB of WAL; the backfill's WAL adds "
            "to it while nothing consumes it, and the publisher keeps all of it: bring its "
            "consumer back before start, or drop the slot if the consumer is gone (SELECT "
            "pg_drop_replication_slot('cdc'))");
  // A wal2json slot is change-data capture, not a subscriber to prepare.
  EXPECT_TRUE(p.downstream.subscribers.empty());
  // A small lag is no warning.
  auto quiet = make_plan(facts({publication("users_pub")}, {slot("cdc", false, 1024)}));
  EXPECT_TRUE(quiet.downstream.slot_warnings.empty());
}

constexpr const char* kDropN =
    "purpose: n is unused\n"
    "operations:\n"
    "  - raw_sql:\n"
    "      up: ALTER TABLE users DROP COLUMN n\n"
    "      down: ALTER TABLE users ADD COLUMN n int\n"
    "      allow_hazards: [deletes_data, breaks_old_app]\n";

TEST(Downstream, DropOfAColumnInAColumnListIsRefusedWithTheFix) {
  auto pub = publication("users_pub");
  pub.column_list = true;
  pub.columns = {"id", "email", "n"};
  auto p = make_plan(facts({pub}), kDropN);
  ASSERT_EQ(p.downstream.refusals.size(), 1u);
  EXPECT_EQ(refusal(p, ErrorKind::kBadInput),
            "m/0001_users_domain.yaml:4:7: error: refusing raw_sql: it drops column n of "
            "public.users, and publication users_pub's column list (id, email, n) names it: "
            "PostgreSQL refuses the drop, and DROP ... CASCADE takes public.users out of "
            "users_pub (replication of the table stops); nothing was changed\n"
            "  hint: first take the column out of the publication in a migration of its own "
            "(raw_sql: ALTER PUBLICATION users_pub SET TABLE public.users (id, email)), once no "
            "subscriber needs it; then drop it");
}

TEST(Downstream, RenameOfAColumnInARowFilterIsRefused) {
  auto pub = publication("users_pub");
  pub.row_filter = "(n > 0)";
  auto p = make_plan(facts({pub}),
                     "purpose: clearer name\n"
                     "operations:\n"
                     "  - raw_sql:\n"
                     "      up: ALTER TABLE users RENAME COLUMN n TO score\n"
                     "      down: ALTER TABLE users RENAME COLUMN score TO n\n"
                     "      allow_hazards: [breaks_old_app]\n");
  ASSERT_EQ(p.downstream.refusals.size(), 1u);
  EXPECT_EQ(p.downstream.refusals[0].reason,
            "it renames column n of public.users to score, and publication users_pub's row "
            "filter (WHERE (n > 0)) names it: the publisher then replicates n under its new "
            "name, which subscribers do not have, and their apply stops");
  // A column the filter does not name (email) is no refusal.
  auto other = make_plan(facts({pub}),
                         "purpose: clearer name\n"
                         "operations:\n"
                         "  - raw_sql:\n"
                         "      up: ALTER TABLE users RENAME COLUMN email TO mail\n"
                         "      down: ALTER TABLE users RENAME COLUMN mail TO email\n"
                         "      allow_hazards: [breaks_old_app]\n");
  EXPECT_TRUE(other.downstream.refusals.empty());
  EXPECT_TRUE(has(only(other.downstream.notes), "renaming public.users.email to mail"));
}

TEST(Downstream, LoaderReadsSubscribers) {
  auto m = migration::parse_migration(
      std::string("subscribers: [REPLICA_URL, 'postgresql://r2/app']\n") + kAddDomain, "m.yaml");
  EXPECT_EQ(m.subscribers, (std::vector<std::string>{"REPLICA_URL", "postgresql://r2/app"}));
  try {
    migration::parse_migration(std::string("subscribers: REPLICA_URL\n") + kAddDomain, "m.yaml");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "'subscribers' must be a list");
  }
}

}  // namespace
}  // namespace colshift

#include <gtest/gtest.h>

#include "cli/cli.h"
#include "util/error.h"

namespace colshift {

TEST(Durations, ParsesUnits) {
  EXPECT_EQ(cli::parse_duration("500ms", "--x").count(), 500);
  EXPECT_EQ(cli::parse_duration("2s", "--x").count(), 2000);
  EXPECT_EQ(cli::parse_duration("5m", "--x").count(), 300000);
  EXPECT_EQ(cli::parse_duration("250", "--x").count(), 250);
  EXPECT_THROW(cli::parse_duration("soon", "--x"), Error);
}

}  // namespace colshift

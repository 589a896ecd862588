// OneNET's data-point times (history-datapoints' `at`): China Standard Time text, both ways.
#include <doctest/doctest.h>

#include <cstdint>

#include "onenet/provision/api_client.hpp"

using onenet::provision::china_time_text;
using onenet::provision::parse_china_time;

TEST_CASE("china time: the instant OneNET gave beside its text, both ways") {
  // From an answer captured from OneNET: "at":"2026-09-30 21:38:13","at_timestamp":1790775493000.
  CHECK(china_time_text(1790775493000, false) == "2026-09-30 21:38:13");
  CHECK(china_time_text(1790775493000, true) == "2026-09-30 21:38:13.000");
  int64_t ms = 0;
  REQUIRE(parse_china_time("2026-09-30 21:38:13", &ms));
  CHECK(ms == 1790775493000);
  REQUIRE(parse_china_time("2026-09-30T21:38:13.250", &ms));
  CHECK(ms == 1790775493250);
  // The epoch is 08:00 in Beijing; a day's and a leap year's edges.
  CHECK(china_time_text(0, true) == "1970-01-01 08:00:00.000");
  CHECK(china_time_text(-1, true) == "1970-01-01 07:59:59.999");
  CHECK(china_time_text(951782400000 - 8 * 3600000, false) == "2000-02-29 00:00:00");
  CHECK(china_time_text(4107542399999 - 8 * 3600000, true) == "2100-02-28 23:59:59.999");
  // Every second of a leap day and its neighbours, and a few across centuries, read back.
  for (int64_t t = 951696000000; t < 951955200000; t += 997 * 1000 + 1) {
    CAPTURE(t);
    REQUIRE(parse_china_time(china_time_text(t, true), &ms));
    CHECK(ms == t);
  }
  for (const int64_t t : {int64_t{0}, int64_t{946684800000}, int64_t{4102444800000},
                          int64_t{1700000000123}}) {
    REQUIRE(parse_china_time(china_time_text(t, true), &ms));
    CHECK(ms == t);
  }
}

TEST_CASE("china time: text that is not a time is refused") {
  int64_t ms = 42;
  for (const char* text :
       {"", "2026-09-30", "2026-09-30 21:38", "2026-09-30 21:38:13Z", "2026-09-30 21:38:13.5",
        "2026-09-30 21:38:13.2500", "2026/09/30 21:38:13", "2026-09-30_21:38:13",
        "2026-13-01 00:00:00", "2026-00-01 00:00:00", "2026-02-29 00:00:00", "2100-02-29 00:00:00",
        "2026-04-31 00:00:00", "2026-09-30 24:00:00", "2026-09-30 23:60:00",
        "2026-09-30 23:59:60", "+026-09-30 21:38:13", "2026-09-30 2a:38:13"}) {
    CAPTURE(text);
    CHECK_FALSE(parse_china_time(text, &ms));
  }
  CHECK(ms == 42);  // untouched
  CHECK(parse_china_time("2000-02-29 00:00:00", &ms));  // a leap year (by 400)
  CHECK(parse_china_time("2024-02-29 00:00:00", &ms));
}

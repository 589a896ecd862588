// Status sentences: what users read in logs and error lines. -Wswitch (with -Werror) already
// makes to_string name every enumerator; this checks that no two share a sentence (a case
// copied and not rewritten) and that a number outside the enum is said to be unknown.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "onenet/status.hpp"

using onenet::Status;

TEST_CASE("every status has a sentence of its own; other numbers are unknown") {
  std::map<std::string, int> first_with;
  int named = 0;
  for (int value = 0; value < 1000; ++value) {
    const std::string sentence = onenet::to_string(static_cast<Status>(value));
    if (sentence == "unknown status") continue;
    ++named;
    CAPTURE(value);
    CHECK(sentence.size() >= 2);
    // Not a structured binding: clang 14 lets no lambda (doctest's) capture one.
    const auto inserted = first_with.emplace(sentence, value);
    const int earlier = inserted.first->second;
    CHECK_MESSAGE(inserted.second, "the same sentence as status ", earlier);
  }
  // The enum's ranges: 1xx common ... 7xx provisioning. Each range has statuses.
  for (const int range : {100, 200, 300, 400, 500, 600, 700}) {
    CAPTURE(range);
    bool found = false;
    for (const auto& [sentence, value] : first_with) found |= value / 100 * 100 == range;
    CHECK(found);
  }
  CHECK(named == 87);  // the enumerators of status.hpp: one more needs its count here too
  CHECK(std::string(onenet::to_string(static_cast<Status>(999))) == "unknown status");
}

#include "libs/config/time_of_day.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace sluice::config {

absl::StatusOr<int> ParseTimeOfDay(absl::string_view text) {
  // Strict: "9:30" or "24:00" in a price window is more likely a typo than
  // a time anyone meant, and midnight as an end is "00:00".
  bool shaped = text.size() == 5 && text[2] == ':';
  for (size_t i : {0, 1, 3, 4}) {
    shaped = shaped && absl::ascii_isdigit(text[i]);
  }
  if (shaped) {
    int hours = (text[0] - '0') * 10 + (text[1] - '0');
    int minutes = (text[3] - '0') * 10 + (text[4] - '0');
    if (hours < 24 && minutes < 60) return hours * 60 + minutes;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "expected \"HH:MM\" in UTC (00:00 to 23:59), got \"", text, "\""));
}

}  // namespace sluice::config

#include "io/bad_lines.hpp"

#include <cstdio>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::data {

BadLinePolicy parse_bad_line_policy(const std::string& text) {
  if (text == "fail") return BadLinePolicy::fail;
  if (text == "skip") return BadLinePolicy::skip;
  fail(str("--bad-lines must be fail or skip, got '", text, "'"));
}

void BadLines::reject(const std::string& where, const std::string& why) {
  if (policy_ == BadLinePolicy::fail) fail(str(where, ": ", why));
  const std::lock_guard lock(mutex_);
  ++skipped_;
  if (skipped_ <= kReportedLines)
    std::fprintf(stderr, "mtnlg-data: warning: %s: %s; line skipped (--bad-lines skip)\n", where.c_str(),
                 why.c_str());
  if (skipped_ == kReportedLines)
    std::fprintf(stderr,
                 "mtnlg-data: warning: further bad lines are skipped without a message; the summary "
                 "counts them\n");
}

std::size_t BadLines::skipped() const {
  const std::lock_guard lock(mutex_);
  return skipped_;
}

}  // namespace mtnlg::data

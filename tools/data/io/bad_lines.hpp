#pragma once
// What an mtnlg-data command does with an input line that is not a usable document (not a JSON object, or
// without the string field it reads): stop with FILE:LINE: why (--bad-lines fail, the default: a corpus
// with broken lines usually means a broken export, better found at once), or report it and go on without it
// (--bad-lines skip: web crawls have a few bad lines in terabytes). Skipped lines are reported on stderr
// (the first kReportedLines of them) and counted for the command's summary.
#include <cstddef>
#include <mutex>
#include <string>

namespace mtnlg::data {

enum class BadLinePolicy { fail, skip };

inline constexpr const char* kBadLinesHelp =
    "a line that is not a JSON object with the field read: fail (stop with FILE:LINE) or skip (report it on "
    "stderr, leave it out, count it in the summary)";

// "fail" | "skip"; throws mtnlg::Error naming --bad-lines otherwise.
BadLinePolicy parse_bad_line_policy(const std::string& text);

class BadLines {
 public:
  static constexpr std::size_t kReportedLines = 10;

  explicit BadLines(BadLinePolicy policy = BadLinePolicy::fail) : policy_(policy) {}
  // `where` is FILE:LINE. fail: throws mtnlg::Error "WHERE: WHY". skip: reports and counts it. Thread-safe.
  void reject(const std::string& where, const std::string& why);
  std::size_t skipped() const;
  BadLinePolicy policy() const { return policy_; }

 private:
  BadLinePolicy policy_;
  mutable std::mutex mutex_;
  std::size_t skipped_ = 0;
};

}  // namespace mtnlg::data

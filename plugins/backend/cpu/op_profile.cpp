#include "op_profile.hpp"

#include <algorithm>
#include <cstdio>

namespace mtnlg::cpu {

void OpProfile::add(std::string_view op, std::chrono::steady_clock::duration elapsed) {
  const std::lock_guard lock(mutex_);
  auto it = totals_.find(op);
  if (it == totals_.end()) it = totals_.emplace(std::string(op), Totals{}).first;
  ++it->second.calls;
  it->second.elapsed += elapsed;
}

std::vector<OpProfile::Row> OpProfile::rows() const {
  std::vector<Row> out;
  {
    const std::lock_guard lock(mutex_);
    for (const auto& [op, t] : totals_)
      out.push_back({op, t.calls, std::chrono::duration<double>(t.elapsed).count()});
  }
  std::stable_sort(out.begin(), out.end(), [](const Row& a, const Row& b) { return a.seconds > b.seconds; });
  return out;
}

std::vector<std::string> OpProfile::table() const {
  const std::vector<Row> rows = this->rows();
  double total = 0.0;
  std::int64_t calls = 0;
  for (const Row& r : rows) total += r.seconds, calls += r.calls;
  std::vector<std::string> lines;
  char line[160];
  std::snprintf(line, sizeof line, "%-24s %10s %12s %7s", "op", "calls", "total ms", "%");
  lines.emplace_back(line);
  for (const Row& r : rows) {
    std::snprintf(line, sizeof line, "%-24s %10lld %12.1f %7.1f", r.op.c_str(),
                  static_cast<long long>(r.calls), r.seconds * 1e3,
                  total > 0.0 ? 100.0 * r.seconds / total : 0.0);
    lines.emplace_back(line);
  }
  std::snprintf(line, sizeof line, "%-24s %10lld %12.1f %7.1f", "total", static_cast<long long>(calls),
                total * 1e3, rows.empty() ? 0.0 : 100.0);
  lines.emplace_back(line);
  return lines;
}

}  // namespace mtnlg::cpu

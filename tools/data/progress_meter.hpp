#pragma once
// A one-line progress report on stderr for the mtnlg-data commands that stream large inputs: bytes done, the
// share of the total when the input's size is known, MB/s, an estimate of the time left and a count of
// documents. Redrawn in place (carriage return) at most every kRedrawSeconds, so it costs nothing per
// document; by default only when stderr is a terminal, so logs and CI output stay clean.
#include <chrono>
#include <cstdint>
#include <string>

namespace mtnlg::data {

enum class ProgressMode { automatic, always, never };

// "auto" | "always" | "never"; throws mtnlg::Error naming the option for anything else.
ProgressMode parse_progress_mode(const std::string& text);

class ProgressMeter {
 public:
  // total_bytes 0: unknown (a pipe), shown without a share or time left.
  ProgressMeter(std::string label, std::uint64_t total_bytes, ProgressMode mode);
  ProgressMeter(const ProgressMeter&) = delete;
  ProgressMeter& operator=(const ProgressMeter&) = delete;
  ~ProgressMeter();

  // Absolute counts so far; redraws when enough time has passed since the last line.
  void update(std::uint64_t bytes_done, std::uint64_t documents);
  // Draws the final state and ends the line. Not called (the command failed): the destructor only ends the
  // line, so no final figures appear above the error message.
  void finish();
  bool enabled() const { return enabled_; }

 private:
  void draw(bool final_line);

  std::string label_;
  std::uint64_t total_bytes_;
  bool enabled_;
  bool terminal_;  // redraw in place; otherwise one line per redraw (--progress always into a file)
  bool finished_ = false;
  bool drawn_ = false;
  std::uint64_t bytes_ = 0, documents_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace mtnlg::data

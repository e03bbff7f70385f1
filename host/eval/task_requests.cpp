#include "eval/task_requests.hpp"

#include <algorithm>
#include <fstream>
#include <limits>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::host::eval {

namespace {

// A uniform integer in [0, n) from the 64-bit stream: rejection sampling, because
// std::uniform_int_distribution differs between standard libraries and the draw must be reproducible.
std::uint64_t uniform_below(std::uint64_t n, std::mt19937_64& rng) {
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
  for (;;) {
    const std::uint64_t r = rng();
    if (r < limit) return r % n;
  }
}

}  // namespace

std::vector<TaskDocument> load_task_documents(const tasks::TaskSpec& spec,
                                              const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  MTNLG_CHECK(in.good(), str("cannot open ", file.string()));
  std::vector<nlohmann::json> examples;
  std::vector<std::size_t> lines;
  std::string text;
  for (std::size_t line = 1; std::getline(in, text); ++line) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json example;
    try {
      example = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      fail(str(file.string(), ":", line, ": not valid JSON: ", e.what()));
    }
    MTNLG_CHECK(example.is_object(), str(file.string(), ":", line, ": not a JSON object"));
    examples.push_back(std::move(example));
    lines.push_back(line);
  }
  MTNLG_CHECK(!examples.empty(), str(file.string(), ": no examples (an empty file)"));
  std::vector<std::pair<nlohmann::json, std::size_t>> grouped;
  if (spec.documents != nullptr) {
    try {
      grouped = spec.documents(examples);
    } catch (const Error& e) {
      fail(str(file.string(), ": ", e.what()));
    }
  } else {
    for (std::size_t i = 0; i < examples.size(); ++i) grouped.emplace_back(std::move(examples[i]), i);
  }
  std::vector<TaskDocument> docs;
  for (auto& [doc, first] : grouped) {
    TaskDocument d{std::move(doc), lines[first], {}};
    try {
      d.prompt = spec.prompt(d.doc);
    } catch (const Error& e) {
      fail(str(file.string(), ":", d.line, ": ", e.what()));
    }
    docs.push_back(std::move(d));
  }
  return docs;
}

std::string replace_last_part(const std::string& context, const std::string& part) {
  std::size_t last = std::string::npos;
  for (std::size_t at = context.find("\n\n"); at != std::string::npos; at = context.find("\n\n", at + 2))
    last = at;
  return last == std::string::npos ? part : context.substr(0, last) + "\n\n" + part;
}

std::vector<Request> build_requests(const tasks::TaskPrompt& prompt,
                                    const std::vector<const tasks::TaskPrompt*>& shots) {
  std::string context;
  for (const auto* shot : shots) context += shot->text + shot->target + "\n\n";
  context += prompt.text;
  std::vector<Request> requests;
  for (std::size_t i = 0; i < prompt.choices.size(); ++i) {
    requests.push_back(
        {prompt.choice_texts.empty() ? context : replace_last_part(context, prompt.choice_texts[i]),
         prompt.choices[i]});
  }
  return requests;
}

std::vector<std::size_t> draw_fewshot(const std::vector<TaskDocument>& pool, const nlohmann::json& evaluated,
                                      std::int64_t k, std::mt19937_64& rng,
                                      const std::filesystem::path& pool_file) {
  if (k <= 0) return {};
  // rnd.sample(pool, K + 1): a partial Fisher-Yates shuffle, so the draws are distinct and in drawn order.
  const std::size_t draws = std::min(pool.size(), static_cast<std::size_t>(k) + 1);
  std::vector<std::size_t> order(pool.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::vector<std::size_t> picked;
  for (std::size_t i = 0; i < draws; ++i) {
    const std::size_t j = i + static_cast<std::size_t>(uniform_below(order.size() - i, rng));
    std::swap(order[i], order[j]);
    if (pool[order[i]].doc != evaluated) picked.push_back(order[i]);
  }
  MTNLG_CHECK(picked.size() >= static_cast<std::size_t>(k),
              str("--shots ", k, " but ", pool_file.string(), " has only ", picked.size(),
                  " few-shot documents other than the evaluated one"));
  picked.resize(static_cast<std::size_t>(k));
  return picked;
}

}  // namespace mtnlg::host::eval

// The C++ side of the differential test (differential_test.js): reads a corpus, one JSON string per line, and
// prints each input's ids on a line of their own, separated by spaces. Prints the encode throughput on
// stderr.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tokenizer/gpt2_tokenizer.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " CORPUS.jsonl\n";
    return 2;
  }
  try {
    const auto tokenizer =
        mtnlg::tokenizer::Gpt2Tokenizer::load(mtnlg::tokenizer::Gpt2Tokenizer::default_dir());
    std::vector<std::string> inputs;
    std::ifstream corpus(argv[1]);
    if (!corpus) throw std::runtime_error(std::string(argv[1]) + ": cannot open");
    for (std::string line; std::getline(corpus, line);)
      inputs.push_back(nlohmann::json::parse(line).get<std::string>());

    std::vector<std::vector<std::int32_t>> outputs(inputs.size());
    std::size_t bytes = 0;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      outputs[i] = tokenizer.encode(inputs[i]);
      bytes += inputs[i].size();
    }
    const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;

    std::string out;
    for (const auto& ids : outputs) {
      for (std::size_t k = 0; k < ids.size(); ++k) {
        if (k) out += ' ';
        out += std::to_string(ids[k]);
      }
      out += '\n';
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::cerr << "mtnlg_gpt2_encode: " << inputs.size() << " inputs, " << bytes << " bytes in "
              << seconds.count() << " s: " << double(bytes) / 1e6 / seconds.count() << " MB/s, one thread\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << argv[0] << ": " << e.what() << "\n";
    return 1;
  }
}

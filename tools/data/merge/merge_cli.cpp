// `mtnlg-data merge`: the command line of merge_datasets.hpp.
#include <cstdio>
#include <memory>

#include "data_command.hpp"
#include "merge_datasets.hpp"

namespace mtnlg::data {
namespace {

struct MergeArgs {
  std::vector<std::string> inputs;
  std::string output_prefix;
};

CommandRun setup_merge(CLI::App& sub) {
  auto a = std::make_shared<MergeArgs>();
  sub.add_option("--input", a->inputs, "dataset prefix (PREFIX.bin, PREFIX.idx); repeat, in output order")
      ->required();
  sub.add_option("--output-prefix", a->output_prefix, "the merged dataset's prefix")->required();
  return [a] {
    const std::vector<std::filesystem::path> inputs(a->inputs.begin(), a->inputs.end());
    const MergeReport r = merge_datasets(inputs, a->output_prefix);
    for (const MergeInput& in : r.inputs)
      std::printf("%s: %zu document%s, %zu tokens\n", in.prefix.c_str(), in.documents,
                  in.documents == 1 ? "" : "s", in.tokens);
    std::printf("total: %zu documents, %zu tokens (%s); wrote %s.bin and %s.idx\n", r.documents, r.tokens,
                r.dtype == mtnlg::DType::u16 ? "uint16" : "int32", a->output_prefix.c_str(),
                a->output_prefix.c_str());
    return 0;
  };
}

}  // namespace

MTNLG_DATA_COMMAND(merge, "concatenate Megatron indexed datasets into one, documents in input order",
                   setup_merge);

}  // namespace mtnlg::data

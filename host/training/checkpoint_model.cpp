#include "training/checkpoint_model.hpp"

#include <cstring>
#include <fstream>
#include <map>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"
#include "recipe/load_recipe.hpp"
#include "training/recipe_schema.hpp"

namespace mtnlg::host {

Table single_rank_recipe_of(Registry& registry, const std::filesystem::path& checkpoint) {
  const std::filesystem::path recipe_file = checkpoint / "recipe.toml";
  MTNLG_CHECK(std::filesystem::exists(recipe_file),
              str(checkpoint.string(),
                  " is not an mtnlg checkpoint: no recipe.toml (give the checkpoint directory of a run, e.g. "
                  "runs/tiny/checkpoint)"));
  return resolve_recipe(recipe_file,
                        {"parallel.tensor=1", "parallel.pipeline=1", "parallel.data=1",
                         "parallel.virtual_stages=1", "parallel.stage_layers=[]"},
                        registry);
}

CheckpointModel load_checkpoint_model(Registry& registry, const std::filesystem::path& checkpoint) {
  CheckpointModel model{single_rank_recipe_of(registry, checkpoint), nullptr, {}};
  model.stage = std::make_unique<Stage>(model.recipe, registry, StageOptions{.inference = true});
  model.info = load_checkpoint_parameters(checkpoint, model.stage->engine().params(), model.stage->backend());
  return model;
}

namespace {

// Part `part` of `parts` of a row-major tensor of `shape` along dimension `dim`: a contiguous block of that
// dimension, as ParamStore keeps a tensor-parallel slice.
std::vector<char> tensor_parallel_part(const std::vector<char>& whole, const Shape& shape, int dim, int part,
                                       int parts, std::size_t element) {
  std::int64_t outer = 1, inner = 1;
  for (int i = 0; i < dim; ++i) outer *= shape[i];
  for (std::size_t i = dim + 1; i < shape.size(); ++i) inner *= shape[i];
  const std::int64_t len = shape[dim] / parts;
  const auto block = static_cast<std::size_t>(len * inner) * element;
  std::vector<char> out(static_cast<std::size_t>(outer) * block);
  for (std::int64_t o = 0; o < outer; ++o)
    std::memcpy(out.data() + o * block,
                whole.data() + static_cast<std::size_t>((o * shape[dim] + part * len) * inner) * element,
                block);
  return out;
}

}  // namespace

CheckpointInfo load_checkpoint_slices(const std::filesystem::path& checkpoint, ParamStore& params,
                                      Backend& backend, int tensor_rank, int tensor_size) {
  const std::filesystem::path manifest_file = checkpoint / "manifest.toml",
                              data_file = checkpoint / "parameters.bin";
  MTNLG_CHECK(std::filesystem::exists(manifest_file),
              str(checkpoint.string(), " is not an mtnlg checkpoint: no manifest.toml"));
  const Table manifest = recipe::load_recipe(manifest_file);
  const DType dtype = params.update_buffers().values.dtype();
  MTNLG_CHECK(manifest.contains("dtype") && manifest.get_string("dtype") == dtype_name(dtype),
              str(manifest_file.string(), ": parameters are ",
                  manifest.contains("dtype") ? manifest.get_string("dtype") : "of no dtype",
                  ", the model is ", dtype_name(dtype)));
  struct Saved {
    Shape shape;
    std::int64_t offset = 0;  // elements into parameters.bin
  };
  std::map<std::string, Saved, std::less<>> saved;
  for (const Value& v : manifest.get_array("parameters")) {
    const Table& t = v.as_table();
    Saved entry{{}, t.get_int("offset")};
    for (const Value& d : t.get_array("shape")) entry.shape.push_back(d.as_int());
    saved[t.get_string("name")] = entry;
  }
  std::ifstream in(data_file, std::ios::binary);
  MTNLG_CHECK(in.good(), str(data_file.string(), ": cannot open the parameters"));
  const std::size_t element = dtype_size(dtype);
  for (const StoredParam& p : params.params()) {
    // The single-rank layout stores a tied parameter once, under its first declaration's name.
    const std::string name = str(p.init_layer_index, ".", p.init_name);
    const auto it = saved.find(name);
    MTNLG_CHECK(it != saved.end(), str(manifest_file.string(), ": no parameter ", name,
                                       ": the checkpoint is of a different model (compare its recipe.toml)"));
    MTNLG_CHECK(it->second.shape == p.spec.shape,
                str(manifest_file.string(), ": parameter ", name, " is ", shape_str(it->second.shape),
                    ", the model expects ", shape_str(p.spec.shape)));
    std::vector<char> whole(static_cast<std::size_t>(shape_numel(p.spec.shape)) * element);
    in.seekg(static_cast<std::streamoff>(it->second.offset * static_cast<std::int64_t>(element)));
    in.read(whole.data(), static_cast<std::streamsize>(whole.size()));
    MTNLG_CHECK(in.good() && in.gcount() == static_cast<std::streamsize>(whole.size()),
                str(data_file.string(), ": too short for parameter ", name, " (", whole.size(),
                    " bytes at element ", it->second.offset, ")"));
    const bool sliced = p.spec.tp_dim >= 0 && tensor_size > 1;
    const std::vector<char> mine =
        sliced ? tensor_parallel_part(whole, p.spec.shape, p.spec.tp_dim, tensor_rank, tensor_size, element)
               : std::move(whole);
    MTNLG_CHECK(mine.size() == p.update_value().nbytes(),
                str("internal: parameter ", name, "'s slice is ", mine.size(), " bytes, the stage holds ",
                    p.update_value().nbytes()));
    if (!mine.empty()) backend.upload(p.update_value(), mine.data());
    backend.synchronize();  // `mine` goes out of scope
  }
  params.publish_master(0, params.local_numel());
  backend.synchronize();
  return {manifest.get_int("step"), manifest.get_int("consumed_samples")};
}

}  // namespace mtnlg::host

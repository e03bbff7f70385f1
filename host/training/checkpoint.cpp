#include "training/checkpoint.hpp"

#include <fstream>
#include <vector>

#include "mtnlg/str.hpp"
#include "recipe/load_recipe.hpp"
#include "recipe/print_recipe.hpp"

namespace mtnlg::host {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFormat = "mtnlg-checkpoint-0";

void write_file(const fs::path& file, const void* data, std::size_t bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  out.flush();
  MTNLG_CHECK(out.good(), str("writing ", file.string(), " failed (disk full or not writable?)"));
}

Table manifest_of(const ParamStore& params, DType dtype, const CheckpointInfo& info) {
  Table m;
  m.set("format", Value(kFormat));
  m.set("step", Value(info.step));
  m.set("consumed_samples", Value(info.consumed_samples));
  m.set("dtype", Value(std::string(dtype_name(dtype))));
  Array list;
  for (const StoredParam& p : params.params()) {
    Table t;
    t.set("name", Value(p.full_name()));
    Array shape;
    for (auto d : p.local_shape) shape.emplace_back(d);
    t.set("shape", Value(std::move(shape)));
    t.set("offset", Value(p.update_value().offset() - params.update_buffers().values.offset()));
    list.emplace_back(std::move(t));
  }
  m.set("parameters", Value(std::move(list)));
  return m;
}

}  // namespace

void save_checkpoint(const fs::path& dir, const Table& recipe, const ParamStore& params, Backend& backend,
                     const CheckpointInfo& info) {
  // In mixed precision the fp32 master weights: the model is saved at full precision, and its recipe says f32
  // so that generate, eval and convert run it in f32.
  const Tensor values = params.update_buffers().values;
  const fs::path tmp = dir.string() + ".tmp", old = dir.string() + ".old";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  MTNLG_CHECK(!ec, str("cannot create ", tmp.string(), ": ", ec.message()));

  std::vector<char> bytes(values.nbytes());
  if (!bytes.empty()) backend.download(bytes.data(), values);
  backend.synchronize();
  write_file(tmp / "parameters.bin", bytes.data(), bytes.size());
  const std::string manifest = recipe::print_recipe(manifest_of(params, values.dtype(), info));
  write_file(tmp / "manifest.toml", manifest.data(), manifest.size());
  Table saved_recipe = recipe;
  if (params.mixed()) saved_recipe.find("train")->as_table().set("dtype", Value("f32"));
  const std::string recipe_text = recipe::print_recipe(saved_recipe);
  write_file(tmp / "recipe.toml", recipe_text.data(), recipe_text.size());

  // Swap in: the old checkpoint is moved aside first, so a crash leaves either it or the new one.
  fs::remove_all(old, ec);
  if (fs::exists(dir)) fs::rename(dir, old);
  fs::rename(tmp, dir);
  fs::remove_all(old, ec);
}

CheckpointInfo load_checkpoint_parameters(const fs::path& dir, ParamStore& params, Backend& backend) {
  const fs::path manifest_file = dir / "manifest.toml", data_file = dir / "parameters.bin";
  MTNLG_CHECK(fs::exists(manifest_file), str(dir.string(), " is not an mtnlg checkpoint: no manifest.toml"));
  const Table m = recipe::load_recipe(manifest_file);
  MTNLG_CHECK(m.contains("format") && m.get_string("format") == kFormat,
              str(manifest_file.string(), ": unknown checkpoint format (expected ", kFormat, ")"));
  const Tensor values = params.update_buffers().values;
  const Table expected = manifest_of(params, values.dtype(), {});
  MTNLG_CHECK(m.get_string("dtype") == expected.get_string("dtype"),
              str(manifest_file.string(), ": parameters are ", m.get_string("dtype"), ", the model is ",
                  expected.get_string("dtype")));
  const Array& have = m.get_array("parameters");
  const Array& want = expected.get_array("parameters");
  MTNLG_CHECK(have.size() == want.size(),
              str(manifest_file.string(), ": ", have.size(), " parameters, the model has ", want.size()));
  for (std::size_t i = 0; i < have.size(); ++i)
    MTNLG_CHECK(have[i].to_toml() == want[i].to_toml(),
                str(manifest_file.string(), ": parameter ", i, " is ", have[i].to_toml(),
                    ", the model expects ", want[i].to_toml()));
  std::ifstream in(data_file, std::ios::binary);
  std::vector<char> bytes(values.nbytes());
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  MTNLG_CHECK(in.gcount() == static_cast<std::streamsize>(bytes.size()) && in.peek() == EOF,
              str(data_file.string(), ": expected ", bytes.size(), " bytes of parameters"));
  if (!bytes.empty()) backend.upload(values, bytes.data());
  params.publish_master(0, values.numel());
  backend.synchronize();
  return {m.get_int("step"), m.get_int("consumed_samples")};
}

}  // namespace mtnlg::host

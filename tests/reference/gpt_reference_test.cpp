// mtnlg's GPT against an independent model written in PyTorch (gpt_reference.py): the same parameters and
// tokens go into both, and the logits, the loss, every gradient and the parameters after AdamW must agree.
// Finite differences (tests/gradcheck) show that each backward matches its own forward; this shows that the
// forward is the architecture we claim (Megatron's qkv layout, pre-LN, tanh GeLU, tied head, cross-entropy
// over the real vocabulary) and that the optimizer is torch's AdamW.
//
// The test writes everything it needs into a dump directory (.npy files and manifest.json, described in
// README.md) and then runs `/usr/bin/python3 gpt_reference.py check DIR`, whose report becomes the failure
// message. Two steps are dumped: at step 1 Adam's bias correction cancels β1 and β2 exactly, so only the
// second step checks them.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <sys/wait.h>

#include "mtnlg/ops.hpp"
#include "mtnlg/str.hpp"
#include "training/recipe_schema.hpp"
#include "training/stage.hpp"

using namespace mtnlg;
namespace fs = std::filesystem;

namespace {

const char* npy_descr(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return "<f4";
    case DType::f64:
      return "<f8";
    case DType::i32:
      return "<i4";
    default:
      fail(str("no .npy type for ", dtype_name(dtype)));
  }
}

// NumPy's format, version 1.0: magic, a little-endian u16 header length, a Python dict literal padded with
// spaces to a multiple of 64 bytes and ending in '\n', then the raw little-endian data in C order.
void write_npy(const fs::path& file, DType dtype, const Shape& shape, const void* data, std::size_t bytes) {
  std::string dims;
  for (std::int64_t d : shape) dims += std::to_string(d) + ", ";
  if (shape.size() > 1) dims.resize(dims.size() - 1);  // (3,) but (3, 4)
  std::string header =
      str("{'descr': '", npy_descr(dtype), "', 'fortran_order': False, 'shape': (", dims, "), }");
  const std::size_t preamble = 10;  // magic (6) + version (2) + header length (2)
  header.append(63 - (preamble + header.size()) % 64, ' ');
  header += '\n';
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  const unsigned char magic[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  out.write(reinterpret_cast<const char*>(magic), sizeof magic);
  const unsigned char len[2] = {static_cast<unsigned char>(header.size() & 0xff),
                                static_cast<unsigned char>(header.size() >> 8)};
  out.write(reinterpret_cast<const char*>(len), 2);
  out << header;
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  MTNLG_CHECK(out.good(), "cannot write " + file.string());
}

// A device tensor (contiguous) into a .npy file, in its own dtype.
void dump(Backend& be, const Tensor& t, const fs::path& file) {
  std::vector<std::byte> host(t.nbytes());
  be.download(host.data(), t);
  be.synchronize();
  write_npy(file, t.dtype(), t.shape(), host.data(), host.size());
}

// Host tensors (what the reader returns).
void dump_host(const Tensor& t, const fs::path& file) {
  write_npy(file, t.dtype(), t.shape(), t.data(), t.nbytes());
}

// Gains start at exactly 1 and biases at 0, which would hide a gain applied twice or a bias never added:
// every parameter gets some noise (padded embedding rows included, so that a loss reading the padding
// columns would change).
void perturb(Backend& be, const host::ParamStore& store) {
  const Tensor values = store.flat_buffers()[0].values;
  std::mt19937_64 gen(2024);
  std::normal_distribution<double> normal(0.0, 0.1);
  if (values.dtype() == DType::f64) {
    std::vector<double> v(static_cast<std::size_t>(values.numel()));
    for (double& x : v) x = normal(gen);
    const Tensor noise = be.empty(values.shape(), DType::f64);
    be.upload(noise, v.data());
    be.run(ops::axpy, ops::AxpyArgs{noise, values, 1.0});
  } else {
    std::vector<float> v(static_cast<std::size_t>(values.numel()));
    for (float& x : v) x = static_cast<float>(normal(gen));
    const Tensor noise = be.empty(values.shape(), DType::f32);
    be.upload(noise, v.data());
    be.run(ops::axpy, ops::AxpyArgs{noise, values, 1.0});
  }
  be.synchronize();
}

std::string json_shape(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Runs the fixture recipe with `overrides` for the fixture's train.steps steps and writes the dump to `dir`.
void dump_run(const std::vector<std::string>& overrides, const fs::path& dir) {
  host::Registry registry;
  registry.load(MTNLG_PLUGIN_DIR, "built-in");
  const Table recipe =
      host::resolve_recipe(MTNLG_REFERENCE_SOURCE_DIR "/fixtures/reference_gpt.toml", overrides, registry);
  host::Stage stage(recipe, registry);
  Backend& be = stage.backend();
  host::ParamStore& store = stage.engine().params();
  perturb(be, store);

  fs::remove_all(dir);
  fs::create_directories(dir / "initial");
  for (const auto& p : store.params()) dump(be, p.value, dir / "initial" / (p.full_name() + ".npy"));

  // The engine's reader is private; a second one from the same recipe reads the same samples, since a
  // synthetic sample depends only on (seed, split, index).
  const Table& reader_table = recipe.get_table("reader");
  const auto reader = registry.create_as<Reader>(
      registry.require(Reader::kKind, reader_table.get_string("name"), reader_table.pos),
      CreateArgs{reader_table, recipe});

  const Table& train = recipe.get_table("train");
  const std::int64_t steps = train.get_int("steps"), micro_batch = train.get_int("micro_batch");
  const int micro_batches = stage.micro_batches();
  const double lr = stage.optimizer()->base_lr();
  const auto& layers = stage.layers();
  for (std::int64_t step = 1; step <= steps; ++step) {
    const fs::path step_dir = dir / str("step", step);
    fs::create_directories(step_dir / "grad");
    fs::create_directories(step_dir / "param");
    const std::int64_t first_sample = (step - 1) * micro_batch * micro_batches;
    // The forward alone, layer by layer as the engine runs it, to keep the LM head's logits.
    for (int mb = 0; mb < micro_batches; ++mb) {
      const std::int64_t first = first_sample + mb * micro_batch;
      const Batch batch = reader->read({"train", first, static_cast<int>(micro_batch)});
      dump_host(batch.inputs, step_dir / str("tokens_mb", mb, ".npy"));
      dump_host(batch.targets, step_dir / str("targets_mb", mb, ".npy"));
      Tensor x = be.empty(batch.inputs.shape(), batch.inputs.dtype());
      const Tensor targets = be.empty(batch.targets.shape(), batch.targets.dtype());
      be.upload(x, batch.inputs.data());
      be.upload(targets, batch.targets.data());
      std::vector<SavedState> saved(layers.size());
      for (std::size_t i = 0; i < layers.size(); ++i) {
        const LayerStep ctx{
            be, store.layer_params(i), layers[i]->is_loss() ? &targets : nullptr, mb, first, true, i > 0};
        x = layers[i]->forward(ctx, x, saved[i]);
      }
      dump(be, saved.back().get("logits"), step_dir / str("logits_mb", mb, ".npy"));
    }
    const host::StepResult r = stage.engine().train_step(
        {.step = step, .lr = lr, .first_sample = first_sample, .micro_batches = micro_batches});
    write_npy(step_dir / "loss.npy", DType::f64, {1}, &r.loss, sizeof r.loss);
    // train_step zeroes the gradients when it starts, so after it they are this step's, and the values are
    // after the optimizer.
    for (const auto& p : store.params()) {
      dump(be, p.grad, step_dir / "grad" / (p.full_name() + ".npy"));
      dump(be, p.value, step_dir / "param" / (p.full_name() + ".npy"));
    }
  }

  const Table& model = recipe.get_table("model");
  const Table& optimizer = recipe.get_table("optimizer");
  std::ostringstream m;
  m.precision(17);
  m << "{\n  \"dtype\": \"" << train.get_string("dtype") << "\",\n"
    << "  \"layers\": " << model.get_int("layers") << ", \"hidden\": " << model.get_int("hidden")
    << ", \"heads\": " << model.get_int("heads") << ", \"seq_len\": " << model.get_int("seq_len")
    << ", \"vocab_size\": " << model.get_int("vocab_size")
    << ", \"padded_vocab\": " << model.get_int("padded_vocab") << ",\n"
    << "  \"steps\": " << steps << ", \"micro_batch\": " << micro_batch
    << ", \"micro_batches\": " << micro_batches << ",\n"
    << "  \"lr\": " << lr << ", \"beta1\": " << optimizer.get_float("beta1")
    << ", \"beta2\": " << optimizer.get_float("beta2") << ", \"eps\": " << optimizer.get_float("eps")
    << ", \"weight_decay\": " << optimizer.get_float("weight_decay") << ",\n  \"params\": [\n";
  for (std::size_t i = 0; i < store.params().size(); ++i) {
    const auto& p = store.params()[i];
    m << "    {\"name\": \"" << p.full_name() << "\", \"shape\": " << json_shape(p.local_shape)
      << ", \"weight_decay\": " << (p.spec.weight_decay ? "true" : "false") << "}"
      << (i + 1 < store.params().size() ? ",\n" : "\n");
  }
  m << "  ]\n}\n";
  std::ofstream(dir / "manifest.json") << m.str();
}

// Runs the PyTorch side on the dump; returns its exit status and everything it printed.
std::pair<int, std::string> check_with_pytorch(const fs::path& dir) {
  const std::string command = str("/usr/bin/python3 '", MTNLG_REFERENCE_SOURCE_DIR,
                                  "/gpt_reference.py' check '", dir.string(), "' 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed for: " + command};
  std::string output;
  char buf[4096];
  while (const std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  const int status = pclose(pipe);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 127)
    output +=
        "\n/usr/bin/python3 was not found: run tools/setup (it installs python3-torch and python3-numpy)";
  return {code, output};
}

void expect_matches_pytorch(const std::string& dtype) {
  const fs::path dir = fs::path(MTNLG_REFERENCE_WORK_DIR) / ("dump_" + dtype);
  dump_run({"train.dtype=" + dtype}, dir);
  const auto [code, output] = check_with_pytorch(dir);
  EXPECT_EQ(code, 0) << "gpt_reference.py check " << dir.string() << " failed:\n" << output;
  std::printf("%s", output.c_str());  // the per-tensor differences, also when it passes
}

}  // namespace

TEST(GptReference, MatchesPytorchF64) {
  expect_matches_pytorch("f64");
}

TEST(GptReference, MatchesPytorchF32) {
  expect_matches_pytorch("f32");
}

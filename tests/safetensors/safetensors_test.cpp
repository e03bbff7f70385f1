#include "safetensors/safetensors.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "mtnlg/error.hpp"

namespace mtnlg::safetensors {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

fs::path work_dir() {
  const fs::path dir =
      fs::path(MTNLG_SAFETENSORS_TEST_DIR) / ::testing::UnitTest::GetInstance()->current_test_info()->name();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// A file as the specification lays it out: 8-byte little-endian header length, the JSON, the data.
fs::path write_raw(const fs::path& path, const std::string& header, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>(n >> (8 * i) & 0xff));
  out << header << data;
  return path;
}

template <class T>
std::span<const std::byte> bytes_of(const std::vector<T>& v) {
  return std::as_bytes(std::span(v));
}

std::string file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(Safetensors, ReadsAFileBuiltFromTheSpecification) {
  const fs::path dir = work_dir();
  // Two f32 values 1.0 and -2.5, then one i64 7; tensors listed out of buffer order, with metadata.
  std::string data;
  const float f[2] = {1.0f, -2.5f};
  const std::int64_t i = 7;
  data.append(reinterpret_cast<const char*>(f), sizeof f);
  data.append(reinterpret_cast<const char*>(&i), sizeof i);
  const fs::path file = write_raw(dir / "a.safetensors",
                                  R"({"step":{"dtype":"I64","shape":[],"data_offsets":[8,16]},)"
                                  R"("__metadata__":{"format":"pt"},)"
                                  R"("w":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}})",
                                  data);
  const Reader reader(file);
  ASSERT_EQ(reader.tensors().size(), 2u);
  EXPECT_EQ(reader.tensors()[0].name, "w");  // buffer order
  EXPECT_EQ(reader.metadata().at("format"), "pt");
  const TensorInfo& w = reader.tensor("w");
  EXPECT_EQ(w.dtype, DType::f32);
  EXPECT_EQ(w.shape, (std::vector<std::int64_t>{1, 2}));
  const auto w_bytes = reader.read(w);
  float got[2];
  std::memcpy(got, w_bytes.data(), sizeof got);
  EXPECT_EQ(got[0], 1.0f);
  EXPECT_EQ(got[1], -2.5f);
  const TensorInfo& step = reader.tensor("step");
  EXPECT_EQ(step.elements(), 1);  // a scalar
  std::int64_t s = 0;
  std::memcpy(&s, reader.read(step).data(), sizeof s);
  EXPECT_EQ(s, 7);
}

TEST(Safetensors, RoundTripIsBitExactForEveryDType) {
  const fs::path dir = work_dir();
  const std::vector<double> f64{1.0 / 3.0, -0.0, 1e-310};                              // a denormal survives
  const std::vector<float> f32{0.1f, std::bit_cast<float>(0x7fc00001u), -3.0f, 5.5f};  // a NaN payload too
  const std::vector<std::uint16_t> bf16{0x3f80, 0xbf80, 0x7f80}, f16{0x3c00, 0xfc00};
  const std::vector<std::int32_t> i32{-1, 2};
  const std::vector<std::int64_t> i64{1ll << 40};
  const std::vector<std::uint16_t> u16{50256};
  const std::vector<float> empty;
  const std::vector<TensorToWrite> tensors{{"h.0.attn.c_attn.weight", DType::f32, {2, 2}, bytes_of(f32)},
                                           {"f64", DType::f64, {3}, bytes_of(f64)},
                                           {"bf16", DType::bf16, {3, 1}, bytes_of(bf16)},
                                           {"f16", DType::f16, {2}, bytes_of(f16)},
                                           {"i32", DType::i32, {2}, bytes_of(i32)},
                                           {"i64", DType::i64, {}, bytes_of(i64)},
                                           {"u16", DType::u16, {1}, bytes_of(u16)},
                                           {"empty", DType::f32, {0, 4}, bytes_of(empty)}};
  const fs::path a = dir / "a.safetensors", b = dir / "b.safetensors";
  write(a, tensors, {{"source", "mtnlg"}});
  EXPECT_FALSE(fs::exists(dir / "a.safetensors.tmp"));
  const std::string raw = file_bytes(a);
  std::uint64_t header = 0;
  std::memcpy(&header, raw.data(), 8);
  EXPECT_EQ(header % 8, 0u) << "the header is padded so the data is 8-byte aligned";

  const Reader reader(a);
  EXPECT_EQ(reader.metadata().at("source"), "mtnlg");
  ASSERT_EQ(reader.tensors().size(), tensors.size());
  std::vector<std::vector<std::byte>> copies;
  for (const TensorToWrite& t : tensors) {
    const TensorInfo& info = reader.tensor(t.name);
    EXPECT_EQ(info.dtype, t.dtype) << t.name;
    EXPECT_EQ(info.shape, t.shape) << t.name;
    copies.push_back(reader.read(info));
    EXPECT_TRUE(std::equal(copies.back().begin(), copies.back().end(), t.data.begin(), t.data.end()))
        << t.name;
  }
  // Written again from what was read: the same file, byte for byte.
  std::vector<TensorToWrite> again;
  for (std::size_t k = 0; k < tensors.size(); ++k)
    again.push_back({tensors[k].name, tensors[k].dtype, tensors[k].shape, copies[k]});
  write(b, again, reader.metadata());
  EXPECT_EQ(file_bytes(a), file_bytes(b));
}

TEST(Safetensors, MalformedFilesAreNamedWithWhatIsWrong) {
  const fs::path dir = work_dir();
  const std::string ok = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string eight(8, '\0');
  auto expect_error = [&](const std::string& name, const std::string& header, const std::string& data,
                          const std::string& message) {
    const fs::path file = write_raw(dir / name, header, data);
    EXPECT_THAT([&] { Reader r(file); }, ThrowsMessage<Error>(HasSubstr(message))) << name;
  };
  expect_error("truncated-data", ok, std::string(4, '\0'),
               "outside the 4-byte data buffer (a truncated file?)");
  expect_error("not-json", "{\"w\": [", eight, "the header is not JSON");
  expect_error("array", "[1, 2]", eight, "the header is a JSON array, not an object");
  expect_error("dtype", R"({"w":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}})", eight,
               "tensor 'w': dtype 'F8_E4M3' is not one mtnlg reads (F64, F32, BF16, F16, I64, I32, U16)");
  expect_error("size", R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight,
               "tensor 'w': shape [3] of F32 needs 12 bytes, data_offsets give 8");
  expect_error("negative", R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight,
               "\"shape\" has -2, not a non-negative integer");
  expect_error(
      "hole",
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
      std::string(12, '\0'), "tensor 'b' starts at byte 8 of the data, expected 4 (a hole)");
  expect_error(
      "overlap",
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
      eight, "(it overlaps another tensor)");
  expect_error("tail", ok, std::string(12, '\0'), "the tensors cover 8 bytes of a 12-byte data buffer");
  expect_error("metadata", R"({"__metadata__":{"n":3}})", "", "\"__metadata__\" entry 'n' is not a string");

  // A header length beyond the file, and a file too short to have one.
  {
    std::ofstream out(dir / "length", std::ios::binary);
    const std::uint64_t n = 1000;
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << "{}";
  }
  EXPECT_THAT([&] { Reader r(dir / "length"); },
              ThrowsMessage<Error>(
                  HasSubstr("the header says 1000 bytes but the file has 2 after the length: truncated")));
  { std::ofstream(dir / "short", std::ios::binary) << "abc"; }
  EXPECT_THAT([&] { Reader r(dir / "short"); }, ThrowsMessage<Error>(HasSubstr("3 bytes, too short")));
  EXPECT_THAT([&] { Reader r(dir / "missing"); }, ThrowsMessage<Error>(HasSubstr("cannot read")));
  const Reader reader(write_raw(dir / "fine", ok, eight));
  EXPECT_THAT([&] { reader.tensor("wte.weight"); },
              ThrowsMessage<Error>(HasSubstr("no tensor 'wte.weight'")));
}

TEST(Safetensors, WriterRefusesInconsistentTensorsAndLeavesNothing) {
  const fs::path dir = work_dir();
  const std::vector<float> two{1.0f, 2.0f};
  const std::vector<TensorToWrite> wrong_size{{"w", DType::f32, {3}, bytes_of(two)}};
  EXPECT_THAT([&] { write(dir / "x.safetensors", wrong_size); },
              ThrowsMessage<Error>(HasSubstr("tensor 'w' has 8 bytes, shape [3] of F32 needs 12")));
  const std::vector<TensorToWrite> twice{{"w", DType::f32, {2}, bytes_of(two)},
                                         {"w", DType::f32, {2}, bytes_of(two)}};
  EXPECT_THAT([&] { write(dir / "x.safetensors", twice); },
              ThrowsMessage<Error>(HasSubstr("two tensors named 'w'")));
  EXPECT_TRUE(fs::is_empty(dir));
  EXPECT_THAT([&] { write(dir / "no" / "such" / "x.safetensors", std::vector<TensorToWrite>{}); },
              ThrowsMessage<Error>(HasSubstr("does the directory exist?")));
}

}  // namespace
}  // namespace mtnlg::safetensors

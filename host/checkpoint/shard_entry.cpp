#include "checkpoint/shard_entry.hpp"

#include <boost/crc.hpp>
#include <nlohmann/json.hpp>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::host {

using nlohmann::json;

std::string ShardEntry::describe() const {
  return str(name, " (", kind, tp_dim >= 0 ? str(", tp slice ", tp_part, "/", tp_parts) : std::string(),
             ", elements [", begin, ", ", end, "))");
}

std::string shard_index_json(const std::vector<ShardEntry>& entries) {
  json list = json::array();
  for (const ShardEntry& e : entries)
    list.push_back({{"name", e.name},
                    {"kind", e.kind},
                    {"dtype", std::string(dtype_name(e.dtype))},
                    {"shape", e.shape},
                    {"tp_dim", e.tp_dim},
                    {"tp_part", e.tp_part},
                    {"tp_parts", e.tp_parts},
                    {"begin", e.begin},
                    {"end", e.end},
                    {"offset", e.offset},
                    {"crc32", e.crc32}});
  return json{{"entries", list}}.dump(1) + "\n";
}

std::vector<ShardEntry> parse_shard_index(const std::string& text, const std::string& file) {
  std::vector<ShardEntry> out;
  try {
    const json doc = json::parse(text);
    for (const json& j : doc.at("entries")) {
      ShardEntry e;
      e.name = j.at("name").get<std::string>();
      e.kind = j.at("kind").get<std::string>();
      const auto dtype = dtype_from_name(j.at("dtype").get<std::string>());
      MTNLG_CHECK(dtype.has_value(), str("unknown dtype ", j.at("dtype").dump()));
      e.dtype = *dtype;
      e.shape = j.at("shape").get<Shape>();
      e.tp_dim = j.at("tp_dim").get<int>();
      e.tp_part = j.at("tp_part").get<int>();
      e.tp_parts = j.at("tp_parts").get<int>();
      e.begin = j.at("begin").get<std::int64_t>();
      e.end = j.at("end").get<std::int64_t>();
      e.offset = j.at("offset").get<std::int64_t>();
      e.crc32 = j.at("crc32").get<std::uint32_t>();
      const bool sane = e.tp_parts >= 1 && e.tp_part >= 0 && e.tp_part < e.tp_parts &&
                        e.tp_dim < static_cast<int>(e.shape.size()) && e.begin >= 0 && e.begin <= e.end &&
                        e.end <= slice_numel(e.shape, e.tp_dim, e.tp_parts) && e.offset >= 0;
      MTNLG_CHECK(
          sane, str("entry ", out.size(), " (", e.describe(), ") is out of range for ", shape_str(e.shape)));
      out.push_back(std::move(e));
    }
  } catch (const json::exception& ex) {
    fail(str(file, ": not a checkpoint shard index (", ex.what(), "); the checkpoint is damaged"));
  } catch (const Error& ex) {
    fail(str(file, ": ", ex.what(), "; the checkpoint is damaged"));
  }
  return out;
}

std::uint32_t crc32_of(const void* data, std::size_t bytes) {
  boost::crc_32_type crc;
  crc.process_bytes(data, bytes);
  return crc.checksum();
}

std::int64_t slice_numel(const Shape& shape, int dim, int parts) {
  const std::int64_t n = shape_numel(shape);
  return dim < 0 ? n : n / parts;
}

}  // namespace mtnlg::host

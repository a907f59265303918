#include "orderpulse/checkpoint/checkpoint.h"

#include <map>

namespace orderpulse {

void encode_meta(const CheckpointMeta& meta, Encoder& out) {
  out.varint(meta.settings.size());
  for (const auto& [key, value] : meta.settings) {
    out.str(key);
    out.str(value);
  }
  out.varint(meta.sources.size());
  for (const SourceCheckpoint& s : meta.sources) {
    out.str(s.name);
    out.varint(s.position.source_id);
    out.u64(s.position.offset);
    out.u64(s.position.line);
    out.u64(s.position.device);
    out.u64(s.position.inode);
  }
  out.u64(meta.outputs.windows_bytes);
  out.u64(meta.outputs.dropped_bytes);
  out.u64(meta.outputs.alerts_bytes);
  out.u64(meta.catalog_fingerprint);
}

CheckpointMeta decode_meta(Decoder& in) {
  CheckpointMeta meta;
  const std::size_t ns = in.count(2);
  for (std::size_t i = 0; i < ns; ++i) {
    std::string key(in.str());
    meta.settings.emplace_back(std::move(key), std::string(in.str()));
  }
  const std::size_t nsrc = in.count(34);
  for (std::size_t i = 0; i < nsrc; ++i) {
    SourceCheckpoint s;
    s.name = std::string(in.str());
    s.position.source_id = static_cast<std::uint32_t>(in.varint());
    s.position.offset = in.u64();
    s.position.line = in.u64();
    s.position.device = in.u64();
    s.position.inode = in.u64();
    meta.sources.push_back(std::move(s));
  }
  meta.outputs.windows_bytes = in.u64();
  meta.outputs.dropped_bytes = in.u64();
  meta.outputs.alerts_bytes = in.u64();
  meta.catalog_fingerprint = in.u64();
  return meta;
}

std::vector<std::string> differing_settings(const Settings& saved, const Settings& now) {
  std::map<std::string, std::pair<std::string, std::string>> all;
  for (const auto& [k, v] : saved) all[k].first = v;
  for (const auto& [k, v] : now) all[k].second = v;
  std::vector<std::string> diffs;
  for (const auto& [k, v] : all) {
    if (v.first == v.second) continue;
    auto show = [](const std::string& s) { return s.empty() ? std::string("none") : s; };
    diffs.push_back(k + " (checkpoint: " + show(v.first) + ", now: " + show(v.second) + ")");
  }
  return diffs;
}

}  // namespace orderpulse

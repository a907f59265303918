#include "orderpulse/common/unique_fd.h"
#include "orderpulse/checkpoint/checkpoint_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <spdlog/spdlog.h>

#include "orderpulse/common/hash.h"
#include "orderpulse/state/codec.h"

namespace orderpulse {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kMagic = "OPULSECK";
constexpr std::string_view kPrefix = "checkpoint-";
constexpr std::string_view kSuffix = ".ckpt";
constexpr std::string_view kTempSuffix = ".tmp";

std::string errno_text() { return std::strerror(errno); }

// The checksum covers the header fields before it and the body.
std::uint64_t checksum(std::string_view image) {
  const std::uint64_t head = stable_hash(image.substr(0, 36));
  return stable_hash(image.substr(CheckpointStore::kHeaderSize), head);
}

std::string file_name(std::uint64_t batch_id) {
  const std::string id = std::to_string(batch_id);
  return std::string(kPrefix) + std::string(20 - id.size(), '0') + id + std::string(kSuffix);
}

bool is_checkpoint_name(const std::string& name) {
  return name.size() == kPrefix.size() + 20 + kSuffix.size() && name.starts_with(kPrefix) && name.ends_with(kSuffix);
}

void fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw CheckpointError("cannot open checkpoint directory " + dir.string() + ": " + errno_text());
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw CheckpointError("fsync of checkpoint directory " + dir.string() + " failed: " + std::strerror(err));
}

void write_all(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw CheckpointError("cannot write " + what + ": " + errno_text());
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

CheckpointStore::CheckpointStore(fs::path dir, std::size_t keep) : dir_(std::move(dir)), keep_(keep) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw CheckpointError("cannot create checkpoint directory " + dir_.string() + ": " + ec.message());
  if (!fs::is_directory(dir_, ec)) throw CheckpointError("checkpoint directory " + dir_.string() + " is not a directory");
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(".") && name.ends_with(kTempSuffix)) fs::remove(entry.path(), ec);
  }
  // Fail now, at start, rather than at the first checkpoint a minute from now.
  const fs::path probe = dir_ / (".write-test" + std::string(kTempSuffix));
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw CheckpointError("checkpoint directory " + dir_.string() + " is not writable: " + errno_text());
  ::close(fd);
  fs::remove(probe, ec);
}

std::uint64_t CheckpointStore::write(std::uint64_t batch_id, std::string& image) {
  if (image.size() < kHeaderSize) throw CheckpointError("checkpoint image without header");
  const auto created = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
  Encoder head;
  head.bytes(kMagic.data(), kMagic.size());
  head.u32(kFormatVersion);
  head.u64(batch_id);
  head.i64(created);
  head.u64(image.size() - kHeaderSize);
  std::memcpy(image.data(), head.buffer().data(), 36);
  Encoder sum;
  sum.u64(checksum(image));
  std::memcpy(image.data() + 36, sum.buffer().data(), 8);

  const fs::path final_path = dir_ / file_name(batch_id);
  const fs::path temp_path = dir_ / ("." + file_name(batch_id) + std::string(kTempSuffix));
  // Errors name the directory, not the file: the file name changes with every batch, and the
  // writer logs a failure again only when its text changes (a full disk would log every attempt).
  const std::string what = "a checkpoint file in " + dir_.string();
  const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw CheckpointError("cannot create " + what + ": " + errno_text());
  try {
    write_all(fd, image, what);
    if (::fsync(fd) != 0) throw CheckpointError("fsync of " + what + " failed: " + errno_text());
    if (::close(fd) != 0) {
      throw CheckpointError("close of " + what + " failed: " + errno_text());
    }
  } catch (...) {
    ::close(fd);  // may fail again (already closed): nothing more to do
    std::error_code ec;
    fs::remove(temp_path, ec);
    throw;
  }
  if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
    const std::string err = errno_text();
    std::error_code ec;
    fs::remove(temp_path, ec);
    throw CheckpointError("cannot rename " + what + " into place: " + err);
  }
  fsync_dir(dir_);
  prune();
  return image.size();
}

std::vector<fs::path> CheckpointStore::list() const {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec))
    if (is_checkpoint_name(entry.path().filename().string())) files.push_back(entry.path());
  // Zero-padded ids: name order is batch order.
  std::sort(files.begin(), files.end(), std::greater<>());
  return files;
}

CheckpointStore::Loaded CheckpointStore::read(const fs::path& path) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw CheckpointError(path.string() + ": cannot open: " + errno_text());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw CheckpointError(path.string() + ": cannot stat: " + errno_text());
  Loaded loaded;
  loaded.image_size = static_cast<std::size_t>(st.st_size);
  loaded.image = std::make_unique_for_overwrite<char[]>(loaded.image_size);
  for (std::size_t got = 0; got < loaded.image_size;) {
    const ssize_t n = ::read(fd.get(), loaded.image.get() + got, loaded.image_size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw CheckpointError(path.string() + ": read error: " + errno_text());
    if (n == 0) throw CheckpointError(path.string() + ": read error: the file shrank while read");
    got += static_cast<std::size_t>(n);
  }
  const std::string_view image(loaded.image.get(), loaded.image_size);
  if (image.size() < kHeaderSize) throw CheckpointError(path.string() + ": truncated (" + std::to_string(image.size()) + " bytes)");
  Decoder head(std::string_view(image).substr(0, kHeaderSize));
  if (head.bytes(kMagic.size()) != kMagic) throw CheckpointError(path.string() + ": not a checkpoint file");
  const std::uint32_t version = head.u32();
  if (version != kFormatVersion)
    throw CheckpointError(path.string() + ": format version " + std::to_string(version) + ", this build reads " +
                          std::to_string(kFormatVersion));
  loaded.batch_id = head.u64();
  loaded.created_ms = head.i64();
  const std::uint64_t body_size = head.u64();
  const std::uint64_t sum = head.u64();
  if (body_size != image.size() - kHeaderSize)
    throw CheckpointError(path.string() + (body_size > image.size() - kHeaderSize ? ": truncated" : ": wrong length") +
                          " (body of " + std::to_string(image.size() - kHeaderSize) + " bytes, header says " +
                          std::to_string(body_size) + ")");
  if (sum != checksum(image)) throw CheckpointError(path.string() + ": checksum mismatch (corrupt)");
  return loaded;
}

void CheckpointStore::set_aside(const fs::path& path) {
  std::error_code ec;
  fs::rename(path, fs::path(path.string() + ".corrupt"), ec);
  if (ec) spdlog::warn("cannot move {} aside: {}", path.string(), ec.message());
}

void CheckpointStore::remove_all() {
  std::error_code ec;
  for (const fs::path& p : list()) {
    fs::remove(p, ec);
    if (ec) throw CheckpointError("cannot remove " + p.string() + ": " + ec.message());
  }
  fsync_dir(dir_);
}

void CheckpointStore::prune() {
  const std::vector<fs::path> files = list();
  std::error_code ec;
  for (std::size_t i = keep_; i < files.size(); ++i) fs::remove(files[i], ec);
}

}  // namespace orderpulse

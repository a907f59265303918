#pragma once
// The checkpoint files of one directory. Each is written whole to a temporary name, fsynced,
// renamed into place and the directory fsynced, so a file under its final name is complete unless
// the disk damaged it; a header with a format version, the body length and an XXH3-64 checksum
// tells a damaged file from a good one. The newest `keep` files are kept. Not thread-safe: the
// checkpoint writer thread writes, and loading happens at start before that thread exists.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace orderpulse {

// A checkpoint could not be written or read; the message is one line naming the file.
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class CheckpointStore {
 public:
  static constexpr std::uint32_t kFormatVersion = 2;  // 2: alerts (output mark, alert state)
  static constexpr std::size_t kHeaderSize = 44;

  // Creates the directory if needed, removes temporary files a crash left behind, and checks that
  // files can be created in it. Throws CheckpointError otherwise.
  CheckpointStore(std::filesystem::path dir, std::size_t keep);

  const std::filesystem::path& dir() const { return dir_; }

  // `image` is kHeaderSize reserved bytes followed by the body; the header is filled in here. Returns
  // the file size. Throws CheckpointError (and leaves no temporary file) on any failure.
  std::uint64_t write(std::uint64_t batch_id, std::string& image);

  // Checkpoint files, newest (highest batch id) first.
  std::vector<std::filesystem::path> list() const;
  // The verified body of one file; throws CheckpointError saying what is wrong with it.
  struct Loaded {
    std::uint64_t batch_id = 0;
    std::int64_t created_ms = 0;
    // The whole file, read once into memory nobody zeroed: restore touches a checkpoint's bytes
    // once, and on this kind of VM a page touched for the first time costs ~14 us (zeroing the
    // image and then copying its body out took a fifth of a 67 MiB restore).
    std::unique_ptr<char[]> image;
    std::size_t image_size = 0;
    std::string_view body() const {
      return image_size < kHeaderSize ? std::string_view() : std::string_view(image.get() + kHeaderSize, image_size - kHeaderSize);
    }
  };
  static Loaded read(const std::filesystem::path& path);
  // Moves a damaged file out of the way (to NAME.corrupt) so it is reported once, not at every start.
  static void set_aside(const std::filesystem::path& path);
  // Deletes every checkpoint (--reset-state).
  void remove_all();

 private:
  void prune();

  std::filesystem::path dir_;
  std::size_t keep_;
};

}  // namespace orderpulse

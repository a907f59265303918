#pragma once
// A file descriptor closed when it goes out of scope, for readers that open a file, read it and
// may throw on the way. Owned by the function holding it; one thread.

#include <unistd.h>

namespace orderpulse {

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_;
};

}  // namespace orderpulse

// For fuzz targets whose code under test reads from a path: a private temporary file
// that each input is written to, removed at exit.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace aegis::fuzz {

class InputFile {
 public:
  // `tag` names the file ("/tmp/aegis-<tag>-fuzz-XXXXXX") for whoever finds it.
  explicit InputFile(const char* tag) {
    const char* tmpdir = std::getenv("TMPDIR");
    path_ = (tmpdir && *tmpdir) ? tmpdir : "/tmp";
    path_ += "/aegis-";
    path_ += tag;
    path_ += "-fuzz-XXXXXX";
    fd_ = mkstemp(path_.data());
    if (fd_ < 0) __builtin_trap();
  }
  ~InputFile() {
    close(fd_);
    unlink(path_.c_str());
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  // Replaces the file's content with the input.
  void Write(const uint8_t* data, size_t size) {
    if (ftruncate(fd_, 0) != 0) __builtin_trap();
    size_t written = 0;
    while (written < size) {
      const ssize_t n = pwrite(fd_, data + written, size - written, static_cast<off_t>(written));
      if (n <= 0) __builtin_trap();
      written += static_cast<size_t>(n);
    }
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace aegis::fuzz

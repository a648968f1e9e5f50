#ifndef HERD_EDGE_LINE_FRAMER_H_
#define HERD_EDGE_LINE_FRAMER_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace herd {

// Cuts a connection's byte stream into lines (without their '\n'), however
// the bytes arrive: a line may span any number of reads, and one read may
// hold many lines. A line longer than max_line_bytes comes out once, as
// its first max_line_bytes bytes marked too long, and the rest of it up to
// its '\n' is dropped without being stored: memory stays at most one line.
// Pure (no sockets), so it is unit-tested and fuzzed on its own.
//
// Use: Feed() a read's bytes, then call Next() until it says kNeedMore.
//
// Not thread-safe: one per connection.
class LineFramer {
 public:
  struct Event {
    enum Kind { kNeedMore, kLine, kTooLong };
    Kind kind = kNeedMore;
    // The line (kLine) or its first max_line_bytes bytes (kTooLong). Valid
    // until the next call of Next() or Feed(): it points into the fed
    // bytes when the line lies wholly in one read, else into the framer.
    std::string_view text;
  };

  explicit LineFramer(size_t max_line_bytes) : max_(max_line_bytes) {}

  // REQUIRES: the previous Feed()'s bytes were consumed (Next() said
  // kNeedMore). `data` must stay valid until then.
  void Feed(std::string_view data) { data_ = data; }

  Event Next() {
    while (!data_.empty()) {
      const size_t newline = data_.find('\n');
      if (newline == std::string_view::npos) {
        if (discarding_) {
          data_ = {};
          break;
        }
        if (partial_.empty()) line_started_ = true;
        if (partial_.size() + data_.size() > max_) {
          partial_.append(data_.substr(0, max_ - partial_.size()));
          data_ = {};
          discarding_ = true;
          return TooLong();
        }
        partial_.append(data_);
        data_ = {};
        break;
      }
      const std::string_view piece = data_.substr(0, newline);
      data_.remove_prefix(newline + 1);
      if (discarding_) {
        discarding_ = false;  // the over-long line ends here
        continue;
      }
      if (partial_.size() + piece.size() > max_) {
        partial_.append(piece.substr(0, max_ - partial_.size()));
        return TooLong();
      }
      if (partial_.empty()) return {Event::kLine, piece};
      partial_.append(piece);
      out_.swap(partial_);
      partial_.clear();
      return {Event::kLine, out_};
    }
    return {};
  }

  // At end of input: the last line if it had no '\n' (and was not too
  // long), else nothing. The view is valid until the next call.
  std::string_view TakeLast() {
    if (discarding_ || partial_.empty()) return {};
    out_.swap(partial_);
    partial_.clear();
    return out_;
  }

  // A line has begun and not ended (or an over-long one is being dropped).
  bool pending() const { return !partial_.empty() || discarding_; }

  // True once after a line begins without ending in the bytes fed so far
  // (the moment a line deadline starts).
  bool TakeLineStarted() {
    const bool started = line_started_;
    line_started_ = false;
    return started;
  }

 private:
  Event TooLong() {
    out_.swap(partial_);
    partial_.clear();
    return {Event::kTooLong, out_};
  }

  const size_t max_;
  std::string_view data_;    // fed and not yet consumed
  std::string partial_;      // a line begun in an earlier read, <= max_ bytes
  std::string out_;          // the last line returned from partial_
  bool discarding_ = false;  // inside an over-long line, until its '\n'
  bool line_started_ = false;
};

}  // namespace herd

#endif  // HERD_EDGE_LINE_FRAMER_H_

#ifndef HERD_EDGE_ADDRESS_LIMITER_H_
#define HERD_EDGE_ADDRESS_LIMITER_H_

#include <cstddef>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/asio.h"

namespace herd {

// Open connections per client address, capped (like nginx's limit_conn):
// one address cannot take every connection slot of the edge. A cap of 0
// means no cap. Memory is one map entry per address with an open
// connection.
//
// Thread-safe: the acceptor adds, sessions on any worker thread remove.
class AddressLimiter {
 public:
  explicit AddressLimiter(size_t max_per_address) : max_per_address_(max_per_address) {}
  AddressLimiter(const AddressLimiter&) = delete;
  AddressLimiter& operator=(const AddressLimiter&) = delete;

  // Counts one more connection from `address`; false (and nothing counted)
  // if the address already has max_per_address open.
  bool TryAdd(const asio::ip::address& address) {
    if (max_per_address_ == 0) return true;
    absl::MutexLock lock(&mu_);
    size_t& open = open_[Key(address)];
    if (open >= max_per_address_) return false;  // open > 0: the entry existed
    ++open;
    return true;
  }

  // Forgets one connection counted by TryAdd.
  void Remove(const asio::ip::address& address) {
    if (max_per_address_ == 0) return;
    absl::MutexLock lock(&mu_);
    const auto it = open_.find(Key(address));
    if (it == open_.end()) return;
    if (--it->second == 0) open_.erase(it);
  }

  size_t max_per_address() const { return max_per_address_; }

 private:
  // IPv4 and its IPv6-mapped form are one address.
  static std::string Key(const asio::ip::address& address) {
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
      return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
    }
    return address.to_string();
  }

  const size_t max_per_address_;
  absl::Mutex mu_;
  std::unordered_map<std::string, size_t> open_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herd

#endif  // HERD_EDGE_ADDRESS_LIMITER_H_

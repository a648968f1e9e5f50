#ifndef HERD_APP_TLS_MATERIAL_H_
#define HERD_APP_TLS_MATERIAL_H_

#include <string>

#include "absl/status/statusor.h"
#include "app/config.h"

namespace herd {

// The PEM texts one server's TLS needs: the herd's CA, the server's
// certificate and its private key.
struct TlsMaterial {
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
};

// Reads the files of `tls` for server `name` and checks them together, so a
// mistake stops the server at start with a message naming the field and the
// file instead of failing every handshake later: each file parses, the key
// belongs to the certificate, the CA signed it, and its subjectAltName has
// the DNS name `name` (what neighbours check when it dials them).
absl::StatusOr<TlsMaterial> LoadTlsMaterial(const TlsConfig& tls, const std::string& name);

}  // namespace herd

#endif  // HERD_APP_TLS_MATERIAL_H_

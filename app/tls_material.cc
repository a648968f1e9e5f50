#include "app/tls_material.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace herd {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct StoreFree {
  void operator()(X509_STORE* store) const { X509_STORE_free(store); }
};
struct StoreContextFree {
  void operator()(X509_STORE_CTX* context) const { X509_STORE_CTX_free(context); }
};

absl::Status FileError(const char* field, const std::string& path, std::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("tls.", field, ": ", path, ": ", AsAbsl(problem)));
}

// OpenSSL's reason for the last failure, and the error queue cleared.
std::string OpenSslReason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "not PEM";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

absl::StatusOr<std::string> ReadFile(const char* field, const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  if (file) text << file.rdbuf();
  if (!file || file.bad()) return FileError(field, path, "cannot read the file");
  return text.str();
}

std::unique_ptr<BIO, BioFree> MemoryBio(const std::string& pem) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

absl::StatusOr<std::unique_ptr<X509, X509Free>> ParseCertificate(const char* field,
                                                                 const std::string& path,
                                                                 const std::string& pem) {
  std::unique_ptr<X509, X509Free> cert(
      PEM_read_bio_X509(MemoryBio(pem).get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return FileError(field, path, absl::StrCat("not a PEM certificate (", OpenSslReason(), ")"));
  }
  return cert;
}

// Every certificate in `pem` (a CA bundle, or a certificate and its chain).
std::vector<std::unique_ptr<X509, X509Free>> AllCertificates(const std::string& pem) {
  std::vector<std::unique_ptr<X509, X509Free>> out;
  auto bio = MemoryBio(pem);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out.emplace_back(cert);
  }
  ERR_clear_error();  // the end of the text
  return out;
}

struct StackFree {
  void operator()(STACK_OF(X509) * stack) const { sk_X509_free(stack); }
};

// Verifies `cert` (with the intermediates after it in its file) under every
// CA of the bundle, for both ways a server uses it: as a TLS server to its
// clients and as a TLS client to its neighbours.
absl::Status CheckSignedBy(X509* cert, const std::string& cert_pem, const std::string& ca_pem,
                           const std::string& cert_path, const std::string& ca_path) {
  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  for (const auto& ca : AllCertificates(ca_pem)) X509_STORE_add_cert(store.get(), ca.get());
  const auto chain_certificates = AllCertificates(cert_pem);
  std::unique_ptr<STACK_OF(X509), StackFree> chain(sk_X509_new_null());
  for (size_t i = 1; i < chain_certificates.size(); ++i) {
    sk_X509_push(chain.get(), chain_certificates[i].get());
  }
  for (const auto& [purpose, use] : {std::pair{X509_PURPOSE_SSL_SERVER, "a TLS server"},
                                     std::pair{X509_PURPOSE_SSL_CLIENT, "a TLS client"}}) {
    if (X509_check_purpose(cert, purpose, 0) != 1) {
      ERR_clear_error();
      return FileError("cert_file", cert_path,
                       absl::StrCat("may not serve as ", use,
                                    " (extendedKeyUsage needs "
                                    "serverAuth and clientAuth)"));
    }
  }
  std::unique_ptr<X509_STORE_CTX, StoreContextFree> context(X509_STORE_CTX_new());
  X509_STORE_CTX_init(context.get(), store.get(), cert, chain.get());
  if (X509_verify_cert(context.get()) != 1) {
    const int error = X509_STORE_CTX_get_error(context.get());
    ERR_clear_error();
    return FileError("cert_file", cert_path,
                     absl::StrCat("not valid under the CA of ", ca_path, " (",
                                  X509_verify_cert_error_string(error), ")"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TlsMaterial> LoadTlsMaterial(const TlsConfig& tls, const std::string& name) {
  const std::string ca_path = tls.ca_file;
  const std::string cert_path = TlsConfig::ForServer(tls.cert_file, name);
  const std::string key_path = TlsConfig::ForServer(tls.key_file, name);
  TlsMaterial out;
  for (auto [field, path, text] : {std::tuple{"ca_file", &ca_path, &out.ca_pem},
                                   std::tuple{"cert_file", &cert_path, &out.cert_pem},
                                   std::tuple{"key_file", &key_path, &out.key_pem}}) {
    absl::StatusOr<std::string> read = ReadFile(field, *path);
    if (!read.ok()) return read.status();
    *text = *std::move(read);
  }
  auto ca = ParseCertificate("ca_file", ca_path, out.ca_pem);
  if (!ca.ok()) return ca.status();
  auto cert = ParseCertificate("cert_file", cert_path, out.cert_pem);
  if (!cert.ok()) return cert.status();
  std::unique_ptr<EVP_PKEY, KeyFree> key(
      PEM_read_bio_PrivateKey(MemoryBio(out.key_pem).get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return FileError("key_file", key_path,
                     absl::StrCat("not a PEM private key (", OpenSslReason(), ")"));
  }
  if (X509_check_private_key(cert->get(), key.get()) != 1) {
    ERR_clear_error();
    return FileError("key_file", key_path,
                     absl::StrCat("is not the key of the certificate ", cert_path));
  }
  if (absl::Status s = CheckSignedBy(cert->get(), out.cert_pem, out.ca_pem, cert_path, ca_path);
      !s.ok()) {
    return s;
  }
  // Exactly as peers check it: a DNS name, no wildcard, no common name.
  if (X509_check_host(cert->get(), name.data(), name.size(),
                      X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_WILDCARDS,
                      nullptr) != 1) {
    ERR_clear_error();
    return FileError(
        "cert_file", cert_path,
        absl::StrCat("has no DNS name \"", name, "\" in its subjectAltName (neighbours check it)"));
  }
  return out;
}

}  // namespace herd

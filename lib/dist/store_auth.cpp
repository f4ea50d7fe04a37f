#include "dist/store_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>

#include "util/error.h"

namespace fw::dist {

namespace {

std::string hmac(const std::string &secret, const std::string &message) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // HMAC() accepts an empty key (no secret); a NULL key pointer would mean "reuse the last one".
  static const unsigned char kEmpty = 0;
  const void *key = secret.empty() ? static_cast<const void *>(&kEmpty) : secret.data();
  if (!HMAC(EVP_sha256(), key, static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char *>(message.data()), message.size(), out, &len) ||
      len != kMacBytes)
    fail(Status::Internal, "[dist] HMAC-SHA256 failed (OpenSSL)");
  return std::string(reinterpret_cast<const char *>(out), len);
}

}  // namespace

std::string resolve_secret(const char *field) {
  if (field) return field;
  const char *env = std::getenv(kSecretEnv);
  return env ? env : "";
}

std::string random_nonce() {
  std::string out(kNonceBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char *>(out.data()), static_cast<int>(out.size())) != 1)
    fail(Status::Internal, "[dist] no random bytes for the rendezvous handshake (OpenSSL)");
  return out;
}

std::string server_proof(const std::string &secret, const std::string &client_nonce,
                         const std::string &server_nonce) {
  return hmac(secret, std::string("fwmerge-store server") + '\0' + client_nonce + server_nonce);
}

std::string client_proof(const std::string &secret, const std::string &server_nonce,
                         const std::string &client_nonce) {
  return hmac(secret, std::string("fwmerge-store client") + '\0' + server_nonce + client_nonce);
}

bool same_mac(const std::string &a, const std::string &b) {
  return a.size() == b.size() && a.size() == kMacBytes &&
         CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace fw::dist

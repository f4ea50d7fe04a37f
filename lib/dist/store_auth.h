// The shared secret of a sharded merge's ranks and the challenge-response that proves it
// (auth_store.h). Each side sends a fresh random nonce; each answers with HMAC-SHA256(secret,
// label | the other's nonce | its own nonce), the labels differing by direction so that no answer
// can be replayed or reflected. The secret never travels, and MACs are compared in constant time.
// No secret (the empty string) runs the same exchange with an empty key: it proves nothing, and
// the rendezvous then relies on a trusted network (docs/distributed.md).
#pragma once

#include <cstddef>
#include <string>

namespace fw::dist {

constexpr size_t kNonceBytes = 32;
constexpr size_t kMacBytes = 32;
// The first bytes of the client's and the server's hello: a store of another kind (or version)
// fails the handshake instead of being read as one.
constexpr char kStoreMagic[] = "fwstore1";
constexpr size_t kStoreMagicBytes = sizeof kStoreMagic - 1;

// The environment variable read when fw_dist_params.secret is NULL.
constexpr char kSecretEnv[] = "FWMERGE_DIST_SECRET";

// `field` when not NULL (an empty string: no secret), else $FWMERGE_DIST_SECRET, else no secret.
std::string resolve_secret(const char *field);

// kNonceBytes from OpenSSL's CSPRNG (Status::Internal if it fails).
std::string random_nonce();

// What the server proves with (over the client's nonce, then its own), and the client.
std::string server_proof(const std::string &secret, const std::string &client_nonce,
                         const std::string &server_nonce);
std::string client_proof(const std::string &secret, const std::string &server_nonce,
                         const std::string &client_nonce);

// Equal MACs, compared in time independent of where they differ.
bool same_mac(const std::string &a, const std::string &b);

}  // namespace fw::dist

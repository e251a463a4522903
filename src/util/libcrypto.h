// OpenSSL's libcrypto, opened with dlopen on first use (util/shared_library.h):
// colshift needs it only for webhook signatures (HMAC, base64) and serve's
// token check, whose commands load OpenSSL with cpp-httplib anyway; linked, it
// cost every process start 3,400 symbol relocations (docs/DESIGN-NOTES.md 29).
// Checksums use util/sha256.h.
//
//   const Libcrypto& crypto = libcrypto();
//   crypto.HMAC(crypto.EVP_sha256(), key, key_size, data, size, mac, &mac_size);
//
// The file is OpenSSL 3's run-time name, libcrypto.so.3 (Debian: libssl3).
#pragma once

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/shared_library.h"

namespace colshift {

// Every libcrypto function colshift calls (add one here to call it).
// clang-format off
#define COLSHIFT_LIBCRYPTO_FUNCTIONS(X) \
  X(CRYPTO_memcmp) X(EVP_DecodeBlock) X(EVP_EncodeBlock) X(EVP_sha256) X(HMAC)
// clang-format on

struct Libcrypto {
  COLSHIFT_LIBCRYPTO_FUNCTIONS(COLSHIFT_LIBRARY_FUNCTION)
};

inline constexpr const char* kLibcryptoFile = "libcrypto.so.3";

// libcrypto's functions, loaded on the first call (thread-safe). Throws
// Error(kChangeFailed) naming libcrypto.so.3 and how to install it when it
// cannot be loaded, and again on the next call.
const Libcrypto& libcrypto();

}  // namespace colshift

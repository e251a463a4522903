// SHA-256 (FIPS 180-4), for migration checksums, the GitLab report's
// fingerprints and the hashed suffix of long names: lint computes them for
// every YAML migration, and opening libcrypto for them would cost each run
// 3,400 symbol relocations (util/libcrypto.h), so they come from libmd
// (Debian libmd0, linked: a few dozen relocations). Checked against OpenSSL's
// digest in tests/unit/lint_startup_test.cc. Webhook signatures use OpenSSL's
// HMAC.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace colshift {

std::array<std::uint8_t, 32> sha256(std::string_view bytes);

}  // namespace colshift

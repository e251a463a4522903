#include "util/sha256.h"

#include <sha2.h>

namespace colshift {

std::array<std::uint8_t, 32> sha256(std::string_view bytes) {
  static_assert(SHA256_DIGEST_LENGTH == 32);
  SHA2_CTX ctx;
  SHA256Init(&ctx);
  SHA256Update(&ctx, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  std::array<std::uint8_t, 32> out{};
  SHA256Final(out.data(), &ctx);
  return out;
}

}  // namespace colshift

// Issue 11, third round: lint does not load libpq, OpenSSL or cpp-httplib,
// whose relocations were a fifth of a 250-file run (docs/DESIGN-NOTES.md 29);
// the commands that need them open them on first use (util/shared_library.h).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "http/http.h"
#include "migration/migration.h"
#include "pg/libpq.h"
#include "util/error.h"
#include "util/libcrypto.h"
#include "util/sha256.h"
#include "util/shared_library.h"

namespace colshift {
namespace {

namespace fs = std::filesystem;

// stdout and stderr of `command` (run by /bin/sh).
std::string output_of(const std::string& command) {
  std::string out;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  pclose(p);
  return out;
}

const char* const kClientLibraries[] = {"libpq.so",       "libcrypto.so",    "libssl.so",
                                        "libcpp-httplib", "libgssapi",       "libldap",
                                        "libgnutls",      "colshift-http.so"};

void expect_none_loaded(const std::string& loader_output) {
  for (const char* lib : kClientLibraries)
    EXPECT_EQ(loader_output.find(lib), std::string::npos) << lib << " in:\n" << loader_output;
}

TEST(LintStartup, TheBinaryLinksNoClientLibrary) {
  // The loader lists what the binary needs, without running it.
  const std::string listed = output_of(std::string("LD_TRACE_LOADED_OBJECTS=1 ") + COLSHIFT_BINARY);
  ASSERT_NE(listed.find("libpg_query"), std::string::npos) << listed;
  expect_none_loaded(listed);
}

TEST(LintStartup, LintOpensNoClientLibrary) {
  const fs::path dir = fs::temp_directory_path() / ("colshift_startup_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string sql = (dir / "0001_add.sql").string();
  std::ofstream(sql) << "ALTER TABLE users ADD COLUMN email text NOT NULL DEFAULT '';\n"
                        "CREATE INDEX users_email ON users (email);\n";
  // A YAML migration has a checksum; GitLab's report has fingerprints.
  const std::string yaml =
      std::string(COLSHIFT_SOURCE_DIR) + "/examples/migrations/0001_users_email_domain.yaml";
  for (const std::string format : {"text", "json", "sarif", "gitlab"}) {
    // Without DATABASE_URL lint does not connect.
    const std::string files =
        output_of("env -u DATABASE_URL LD_DEBUG=files " + std::string(COLSHIFT_BINARY) +
                  " lint --format " + format + " " + sql + " " + yaml);
    ASSERT_NE(files.find("file=libpg_query"), std::string::npos) << files;
    expect_none_loaded(files);
  }
  fs::remove_all(dir);
}

TEST(CoreSharedLibrary, LibpqLoadsOnFirstUse) {
  const pg::Libpq& pq = pg::libpq();
#define COLSHIFT_EXPECT_LOADED(name) EXPECT_NE(pq.name, nullptr) << #name;
  COLSHIFT_LIBPQ_FUNCTIONS(COLSHIFT_EXPECT_LOADED)
#undef COLSHIFT_EXPECT_LOADED
  char* error = nullptr;
  PQconninfoOption* opts = pq.PQconninfoParse("host=db.example port=5433", &error);
  ASSERT_NE(opts, nullptr);
  pq.PQconninfoFree(opts);
}

TEST(CoreSha256, GivesFipsExamplesAndOpenSslsDigest) {
  EXPECT_EQ(migration::sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(migration::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(migration::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(migration::sha256_hex(std::string(1'000'000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Every length across the block and padding boundaries, against libcrypto.
  void* handle = open_shared_library(kLibcryptoFile, "the test's reference", "");
  auto evp_digest = reinterpret_cast<decltype(&::EVP_Digest)>(
      shared_library_symbol(handle, "EVP_Digest", kLibcryptoFile));
  auto evp_sha256 = reinterpret_cast<decltype(&::EVP_sha256)>(
      shared_library_symbol(handle, "EVP_sha256", kLibcryptoFile));
  std::string text;
  for (int n = 0; n <= 300; ++n) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    ASSERT_EQ(evp_digest(text.data(), text.size(), digest, &len, evp_sha256(), nullptr), 1);
    const auto ours = sha256(text);
    ASSERT_EQ(len, ours.size());
    EXPECT_EQ(std::memcmp(digest, ours.data(), len), 0) << "length " << n;
    text += static_cast<char>(n * 37 % 251);
  }
}

TEST(CoreSharedLibrary, LibcryptoLoadsOnFirstUse) {
  const Libcrypto& crypto = libcrypto();
#define COLSHIFT_EXPECT_LOADED(name) EXPECT_NE(crypto.name, nullptr) << #name;
  COLSHIFT_LIBCRYPTO_FUNCTIONS(COLSHIFT_EXPECT_LOADED)
#undef COLSHIFT_EXPECT_LOADED
}

TEST(CoreSharedLibrary, AMissingLibraryIsAClearError) {
  try {
    open_shared_library("libcolshift-absent.so.9", "a test", "install it");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kChangeFailed);
    EXPECT_EQ(std::string(e.what()).rfind("cannot load libcolshift-absent.so.9 (a test): ", 0), 0u)
        << e.what();
    EXPECT_EQ(e.hint(), "install it");
  }
  void* libc = open_shared_library("libc.so.6", "the C library", "");
  EXPECT_THROW(shared_library_symbol(libc, "colshift_no_such_symbol", "libc.so.6"), Error);
}

TEST(CoreSharedLibrary, TheHttpModuleLoadsOnFirstUse) {
  http::PostRequest request;
  request.origin = "http://127.0.0.1:1";  // nothing listens on port 1
  request.path = "/";
  request.timeout = std::chrono::milliseconds(2000);
  const http::PostResult result = http::post(request);
  EXPECT_FALSE(result.answered);
  EXPECT_EQ(result.error, "cannot connect (Connection)");
}

}  // namespace
}  // namespace colshift

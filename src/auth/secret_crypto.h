// Cryptographic building blocks of the accounts module (OpenSSL 3): random secrets,
// SHA-256 digests, HMAC, PBKDF2 password hashes, constant-time comparison, base64
// and name-based UUIDs. Small free functions so they can be tested on their own.
//
//   std::string salt = *auth::crypto::RandomBytes(16);
//   std::string stored = *auth::crypto::HashPassword("correct horse", 210'000);
//   bool ok = auth::crypto::VerifyPassword("correct horse", stored);
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace aegis::auth::crypto {

// `n` bytes from the OpenSSL CSPRNG (RAND_bytes).
Result<std::string> RandomBytes(size_t n);

using Digest = std::array<unsigned char, 32>;
Digest Sha256(std::string_view data);
Digest HmacSha256(std::string_view key, std::string_view data);
// SHA-1, for name-based (version 5) UUIDs only.
std::array<unsigned char, 20> Sha1(std::string_view data);

// Compares two byte strings in time that depends only on their lengths (CRYPTO_memcmp).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

std::string Hex(std::string_view bytes);
inline std::string_view AsBytes(const Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

// RFC 4648 section 5 (URL and filename safe), without padding.
std::string Base64UrlEncode(std::string_view bytes);
// RFC 4648 section 4 (standard alphabet). Strict: padding to a multiple of four,
// no whitespace, no other characters. nullopt when malformed.
std::optional<std::string> Base64Decode(std::string_view text);
std::string Base64Encode(std::string_view bytes);

// Password storage: "pbkdf2-sha256$<iterations>$<salt base64>$<key base64>",
// PBKDF2-HMAC-SHA256 with a 16-byte random salt and a 32-byte derived key.
inline constexpr int kMinPasswordIterations = 100'000;
Result<std::string> HashPassword(std::string_view password, int iterations);
// False for a wrong password and for a malformed stored value.
bool VerifyPassword(std::string_view password, std::string_view stored);
// The iteration count of a stored hash, or nullopt when it is not one of ours.
std::optional<int> PasswordHashIterations(std::string_view stored);

// RFC 9562 version 5 UUID (SHA-1 of namespace bytes followed by `name`), lower-case.
// `namespace_uuid` is in text form ("6ba7b810-9dad-11d1-80b4-00c04fd430c8").
Result<std::string> UuidV5(std::string_view namespace_uuid, std::string_view name);

}  // namespace aegis::auth::crypto

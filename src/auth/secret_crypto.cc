// OpenSSL-backed helpers of the accounts module: see auth/secret_crypto.h.
#include "auth/secret_crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <charconv>
#include <vector>

namespace aegis::auth::crypto {
namespace {

constexpr std::string_view kPasswordScheme = "pbkdf2-sha256";
constexpr size_t kSaltBytes = 16;
constexpr size_t kKeyBytes = 32;
constexpr int kMaxPasswordIterations = 10'000'000;

constexpr char kStandardAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrlAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Encode(std::string_view bytes, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest == 1) {
    const uint32_t v = b[i] << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (pad) out += "==";
  } else if (rest == 2) {
    const uint32_t v = (b[i] << 16) | (b[i + 1] << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    if (pad) out += '=';
  }
  return out;
}

int StandardValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::optional<int> ParseHexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return std::nullopt;
}

}  // namespace

Result<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return Fail("the system random number generator failed (RAND_bytes)");
  }
  return out;
}

Digest Sha256(std::string_view data) {
  Digest d;
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d.data());
  return d;
}

std::array<unsigned char, 20> Sha1(std::string_view data) {
  std::array<unsigned char, 20> d;
  SHA1(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d.data());
  return d;
}

Digest HmacSha256(std::string_view key, std::string_view data) {
  Digest d{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), d.data(), &len);
  return d;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string Base64UrlEncode(std::string_view bytes) { return Encode(bytes, kUrlAlphabet, false); }
std::string Base64Encode(std::string_view bytes) { return Encode(bytes, kStandardAlphabet, true); }

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int padding = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=') {
        // Padding only in the last group, only in its last two places, only at the end.
        if (!last || k < 2) return std::nullopt;
        ++padding;
        v[k] = 0;
        continue;
      }
      if (padding > 0) return std::nullopt;
      v[k] = StandardValue(c);
      if (v[k] < 0) return std::nullopt;
    }
    const uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out += static_cast<char>((n >> 16) & 0xff);
    if (padding < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (padding < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

Result<std::string> HashPassword(std::string_view password, int iterations) {
  if (iterations < kMinPasswordIterations || iterations > kMaxPasswordIterations) {
    return Fail("PBKDF2 iterations must be between 100000 and 10000000", "iterations");
  }
  auto salt = RandomBytes(kSaltBytes);
  if (!salt) return std::unexpected(salt.error());
  unsigned char key[kKeyBytes];
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt->data()),
                        static_cast<int>(salt->size()), iterations, EVP_sha256(), sizeof key,
                        key) != 1) {
    return Fail("PBKDF2 failed (PKCS5_PBKDF2_HMAC)");
  }
  std::string out(kPasswordScheme);
  out += '$';
  out += std::to_string(iterations);
  out += '$';
  out += Base64Encode(*salt);
  out += '$';
  out += Base64Encode(std::string_view(reinterpret_cast<const char*>(key), sizeof key));
  OPENSSL_cleanse(key, sizeof key);
  return out;
}

namespace {

struct ParsedHash {
  int iterations = 0;
  std::string salt;
  std::string key;
};

std::optional<ParsedHash> ParseHash(std::string_view stored) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t dollar = stored.find('$', start);
    parts.push_back(stored.substr(start, dollar - start));
    if (dollar == std::string_view::npos) break;
    start = dollar + 1;
  }
  if (parts.size() != 4 || parts[0] != kPasswordScheme) return std::nullopt;
  ParsedHash h;
  const auto [ptr, ec] =
      std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), h.iterations);
  if (ec != std::errc() || ptr != parts[1].data() + parts[1].size()) return std::nullopt;
  if (h.iterations < 1 || h.iterations > kMaxPasswordIterations) return std::nullopt;
  auto salt = Base64Decode(parts[2]);
  auto key = Base64Decode(parts[3]);
  if (!salt || !key || salt->empty() || key->size() != kKeyBytes) return std::nullopt;
  h.salt = std::move(*salt);
  h.key = std::move(*key);
  return h;
}

}  // namespace

bool VerifyPassword(std::string_view password, std::string_view stored) {
  const auto parsed = ParseHash(stored);
  if (!parsed) return false;
  unsigned char key[kKeyBytes];
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(parsed->salt.data()),
                        static_cast<int>(parsed->salt.size()), parsed->iterations, EVP_sha256(),
                        sizeof key, key) != 1) {
    return false;
  }
  const bool same = ConstantTimeEquals(
      std::string_view(reinterpret_cast<const char*>(key), sizeof key), parsed->key);
  OPENSSL_cleanse(key, sizeof key);
  return same;
}

std::optional<int> PasswordHashIterations(std::string_view stored) {
  const auto parsed = ParseHash(stored);
  if (!parsed) return std::nullopt;
  return parsed->iterations;
}

Result<std::string> UuidV5(std::string_view namespace_uuid, std::string_view name) {
  std::string ns_bytes;
  for (size_t i = 0; i < namespace_uuid.size(); ++i) {
    if (namespace_uuid[i] == '-') continue;
    if (i + 1 >= namespace_uuid.size()) return Fail("not a UUID", "namespace");
    const auto hi = ParseHexDigit(namespace_uuid[i]);
    const auto lo = ParseHexDigit(namespace_uuid[i + 1]);
    if (!hi || !lo) return Fail("not a UUID", "namespace");
    ns_bytes += static_cast<char>(*hi * 16 + *lo);
    ++i;
  }
  if (ns_bytes.size() != 16) return Fail("not a UUID", "namespace");
  std::string input = ns_bytes;
  input.append(name);
  auto sha = Sha1(input);
  sha[6] = static_cast<unsigned char>((sha[6] & 0x0f) | 0x50);  // version 5
  sha[8] = static_cast<unsigned char>((sha[8] & 0x3f) | 0x80);  // RFC 4122 variant
  const std::string hex = Hex(std::string_view(reinterpret_cast<const char*>(sha.data()), 16));
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

}  // namespace aegis::auth::crypto

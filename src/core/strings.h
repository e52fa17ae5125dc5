// Small string helpers used across stages (ASCII case folding, trimming, splitting).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace aegis {

inline char AsciiLowerChar(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
std::string AsciiLower(std::string_view s);
void AsciiLowerInPlace(std::string& s);
bool IEquals(std::string_view a, std::string_view b);
std::string_view Trim(std::string_view s);
std::vector<std::string_view> Split(std::string_view s, char sep);
// Appends `s` to `out` as a JSON string literal (with quotes), escaping as RFC 8259 requires.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace aegis

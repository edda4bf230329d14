#include "cli/json_strict.h"

#include <cctype>

namespace enclave::cli {

namespace {

class Checker {
 public:
  explicit Checker(std::string_view t) : t_(t) {}

  std::optional<std::string> run() {
    ws();
    if (!value(0)) return error_;
    ws();
    if (i_ != t_.size()) return at("unexpected text after the value");
    return std::nullopt;
  }

 private:
  bool value(int depth) {
    if (depth > 256) return fail("nested too deeply");
    if (i_ >= t_.size()) return fail("unexpected end of input");
    switch (t_[i_]) {
      case '{':
        return object(depth);
      case '[':
        return array(depth);
      case '"':
        return string();
      case 't':
        return word("true");
      case 'f':
        return word("false");
      case 'n':
        return word("null");
      default:
        return number();
    }
  }

  bool object(int depth) {
    ++i_;
    ws();
    if (peek('}')) return ++i_, true;
    for (;;) {
      ws();
      if (peek('}')) return fail("trailing comma before '}'");
      if (!peek('"')) return fail("expected a member name in double quotes");
      if (!string()) return false;
      ws();
      if (!peek(':')) return fail("expected ':' after a member name");
      ++i_;
      ws();
      if (!value(depth + 1)) return false;
      ws();
      if (peek(',')) {
        ++i_;
        continue;
      }
      if (peek('}')) return ++i_, true;
      return fail("expected ',' or '}'");
    }
  }

  bool array(int depth) {
    ++i_;
    ws();
    if (peek(']')) return ++i_, true;
    for (;;) {
      ws();
      if (peek(']')) return fail("trailing comma before ']'");
      if (!value(depth + 1)) return false;
      ws();
      if (peek(',')) {
        ++i_;
        continue;
      }
      if (peek(']')) return ++i_, true;
      return fail("expected ',' or ']'");
    }
  }

  bool string() {
    ++i_;
    while (i_ < t_.size()) {
      const auto c = static_cast<unsigned char>(t_[i_]);
      if (c == '"') return ++i_, true;
      if (c < 0x20) return fail("control character in a string");
      if (c == '\\') {
        if (++i_ >= t_.size()) break;
        const char e = t_[i_];
        if (e == 'u') {
          for (int k = 1; k <= 4; ++k) {
            if (i_ + k >= t_.size() || !std::isxdigit(static_cast<unsigned char>(t_[i_ + k])))
              return fail("bad \\u escape");
          }
          i_ += 4;
        } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          return fail("bad escape in a string");
        }
      }
      ++i_;
    }
    return fail("unterminated string");
  }

  bool number() {
    const size_t start = i_;
    if (peek('-')) ++i_;
    if (peek('0')) {
      ++i_;
    } else if (digits() == 0) {
      i_ = start;
      return fail("unexpected character");
    }
    if (peek('.')) {
      ++i_;
      if (digits() == 0) return fail("expected digits after '.'");
    }
    if (peek('e') || peek('E')) {
      ++i_;
      if (peek('+') || peek('-')) ++i_;
      if (digits() == 0) return fail("expected digits in the exponent");
    }
    return true;
  }

  size_t digits() {
    size_t n = 0;
    while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') ++i_, ++n;
    return n;
  }

  bool word(std::string_view w) {
    if (t_.substr(i_, w.size()) != w) return fail("unexpected character");
    i_ += w.size();
    return true;
  }

  void ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r'))
      ++i_;
  }
  bool peek(char c) const { return i_ < t_.size() && t_[i_] == c; }
  std::string at(const std::string& what) const {
    return "column " + std::to_string(i_ + 1) + ": " + what;
  }
  bool fail(const std::string& what) {
    error_ = at(what);
    return false;
  }

  std::string_view t_;
  size_t i_ = 0;
  std::string error_;
};

}  // namespace

std::optional<std::string> json_syntax_error(std::string_view text) { return Checker(text).run(); }

}  // namespace enclave::cli

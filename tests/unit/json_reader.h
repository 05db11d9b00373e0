// A strict, minimal JSON reader for tests that check files we write (the timeline). Throws
// std::runtime_error with the byte offset on anything that is not JSON.
#pragma once

#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace hvd::test {

struct Json {
  enum class Kind { Null, Bool, Number, String, Array, Object } kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Json> array;
  std::map<std::string, Json> object;

  const Json& at(const std::string& key) const {
    auto it = object.find(key);
    if (kind != Kind::Object || it == object.end())
      throw std::runtime_error("no key '" + key + "'");
    return it->second;
  }
  bool has(const std::string& key) const { return object.count(key) > 0; }
};

class JsonReader {
 public:
  static Json parse(const std::string& text) {
    JsonReader reader(text);
    Json value = reader.value();
    reader.skip_space();
    if (reader.pos_ != text.size())
      reader.fail("trailing characters");
    return value;
  }

 private:
  explicit JsonReader(const std::string& text) : text_(text) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("invalid JSON at byte " + std::to_string(pos_) + ": " + what);
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\t' || text_[pos_] == '\r'))
      ++pos_;
  }
  char peek() {
    skip_space();
    if (pos_ >= text_.size())
      fail("unexpected end");
    return text_[pos_];
  }
  void expect(char c) {
    if (peek() != c)
      fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  bool literal(const char* word) {
    const std::string w(word);
    if (text_.compare(pos_, w.size(), w) != 0)
      return false;
    pos_ += w.size();
    return true;
  }
  Json value() {
    Json v;
    const char c = peek();
    if (c == '{') {
      v.kind = Json::Kind::Object;
      ++pos_;
      if (peek() == '}') {
        ++pos_;
        return v;
      }
      while (true) {
        if (peek() != '"')
          fail("expected a key");
        std::string key = string_body();
        expect(':');
        v.object[key] = value();
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        expect('}');
        return v;
      }
    }
    if (c == '[') {
      v.kind = Json::Kind::Array;
      ++pos_;
      if (peek() == ']') {
        ++pos_;
        return v;
      }
      while (true) {
        v.array.push_back(value());
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        expect(']');
        return v;
      }
    }
    if (c == '"') {
      v.kind = Json::Kind::String;
      v.string = string_body();
      return v;
    }
    if (literal("true") || literal("false")) {
      v.kind = Json::Kind::Bool;
      v.boolean = text_[pos_ - 1] == 'e' && text_[pos_ - 4] == 't';
      return v;
    }
    if (literal("null"))
      return v;
    const char* begin = text_.c_str() + pos_;
    char* end = nullptr;
    v.number = std::strtod(begin, &end);
    if (end == begin || !(c == '-' || (c >= '0' && c <= '9')))
      fail("unexpected character");
    v.kind = Json::Kind::Number;
    pos_ += static_cast<size_t>(end - begin);
    return v;
  }
  std::string string_body() {
    expect('"');
    std::string out;
    while (true) {
      if (pos_ >= text_.size())
        fail("unterminated string");
      const char c = text_[pos_++];
      if (c == '"')
        return out;
      if (static_cast<unsigned char>(c) < 0x20)
        fail("raw control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size())
        fail("unterminated escape");
      const char e = text_[pos_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          if (pos_ + 4 > text_.size())
            fail("short \\u escape");
          const long code = std::strtol(text_.substr(pos_, 4).c_str(), nullptr, 16);
          if (code > 0x7f)
            fail("only ASCII \\u escapes are supported here");
          out += static_cast<char>(code);
          pos_ += 4;
          break;
        }
        default:
          fail("bad escape");
      }
    }
  }

  const std::string& text_;
  size_t pos_ = 0;
};

}  // namespace hvd::test

#pragma once
// The one byte codec of rankpool: the farm's wire messages, the journal's records and the
// crawler's messages are all written with ByteWriter and read back with ByteReader.
//
// Layout: fixed-size values as their native bytes (ranks are homogeneous: same binary, same
// endianness, as with Boost's binary archives), bool as one byte (0 or 1), strings as a u32
// length and the bytes, vectors as a u32 count and the elements, described structs
// (BOOST_DESCRIBE_STRUCT) as their members in the order of the description.
//
// Every read is bounds-checked, and finish() refuses trailing bytes: a decoder that calls
// it accepts exactly what its encoder wrote. A message that does not decode is a broken
// invariant between ranks (or a damaged file), so it throws DecodeError; callers for which
// damage is expected (the journal) catch it.

#include <boost/describe/enum.hpp>
#include <boost/describe/enumerators.hpp>
#include <boost/describe/members.hpp>
#include <boost/mp11/algorithm.hpp>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace rankpool::runtime {

/// Bytes that are not what their decoder expects: truncated, trailing, or out of range.
struct DecodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <class T>
concept DescribedStruct = boost::describe::has_describe_members<T>::value && std::is_class_v<T>;

/// The fewest bytes ByteWriter::write can give a T: a bound on how many elements a count
/// in a message can honestly announce.
template <class T>
constexpr std::size_t min_encoded_size() {
  if constexpr (std::is_same_v<T, std::string>) {
    return sizeof(std::uint32_t);
  } else if constexpr (DescribedStruct<T>) {
    std::size_t n = 0;
    boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
        [&](auto d) { n += min_encoded_size<std::remove_cvref_t<decltype(std::declval<T&>().*d.pointer)>>(); });
    return n;
  } else if constexpr (requires(T v) {
                         typename T::value_type;
                         v.size();
                       }) {
    return sizeof(std::uint32_t);
  } else if constexpr (std::is_same_v<T, bool>) {
    return 1;
  } else {
    return sizeof(T);
  }
}

/// Appends values to a byte buffer.
class ByteWriter {
 public:
  explicit ByteWriter(std::string& out) : out_(out) {}

  /// A fixed-size value as its bytes (bool as one byte).
  template <class T>
  requires std::is_trivially_copyable_v<T>
  void put(const T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      out_ += static_cast<char>(v ? 1 : 0);
    } else {
      out_.append(reinterpret_cast<const char*>(&v), sizeof v);
    }
  }
  /// u32 length, then the bytes.
  void put_string(std::string_view s) {
    put(static_cast<std::uint32_t>(s.size()));
    out_.append(s.data(), s.size());
  }
  /// The bytes, without a length: the reader must know it (get_bytes) or take the rest.
  void put_bytes(const void* data, std::size_t n) { out_.append(static_cast<const char*>(data), n); }
  /// Overwrites the bytes of a fixed-size value written earlier at `offset` (a size known
  /// only at the end).
  template <class T>
  requires std::is_trivially_copyable_v<T>
  void patch(std::size_t offset, const T& v) {
    if (offset + sizeof v > out_.size()) throw std::logic_error("ByteWriter::patch past the end");
    std::memcpy(out_.data() + offset, &v, sizeof v);
  }

  /// Any value of the layout above: fixed-size, string, vector, described struct.
  template <class T>
  void write(const T& v) {
    if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view>) {
      put_string(v);
    } else if constexpr (DescribedStruct<T>) {
      boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
          [&](auto d) { write(v.*d.pointer); });
    } else if constexpr (requires {
                           typename T::value_type;
                           v.size();
                           v.begin();
                         }) {
      put(static_cast<std::uint32_t>(v.size()));
      for (const auto& e : v) write(e);
    } else {
      static_assert(std::is_arithmetic_v<T> || std::is_enum_v<T>, "no byte layout for this type");
      put(v);
    }
  }

  std::string& buffer() { return out_; }
  std::size_t size() const { return out_.size(); }

 private:
  std::string& out_;
};

/// Reads what ByteWriter wrote. `what` names the message in errors ("truncated farm result").
class ByteReader {
 public:
  explicit ByteReader(std::string_view in, std::string_view what = "message") : in_(in), what_(what) {}

  template <class T>
  requires std::is_trivially_copyable_v<T> T get() {
    if constexpr (std::is_same_v<T, bool>) {
      const auto b = get<std::uint8_t>();
      if (b > 1) fail("a bool byte is " + std::to_string(b));
      return b != 0;
    } else {
      need(sizeof(T));
      T v;
      std::memcpy(&v, in_.data() + pos_, sizeof v);
      pos_ += sizeof v;
      return v;
    }
  }
  std::string get_string() { return std::string(get_string_view()); }
  std::string_view get_string_view() {
    const auto n = get<std::uint32_t>();
    return get_bytes(n);
  }
  std::string_view get_bytes(std::size_t n) {
    need(n);
    auto v = in_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  /// A count of elements that each take at least `min_bytes` must fit in what is left:
  /// a corrupt count fails here instead of reserving gigabytes.
  std::uint32_t get_count(std::size_t min_bytes = 1) {
    const auto n = get<std::uint32_t>();
    if (min_bytes > 0 && n > remaining() / min_bytes) fail("a count of " + std::to_string(n) + " is out of range");
    return n;
  }

  /// Reads any value of the layout ByteWriter::write writes.
  template <class T>
  void read(T& v) {
    if constexpr (std::is_same_v<T, std::string>) {
      v = get_string();
    } else if constexpr (DescribedStruct<T>) {
      boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
          [&](auto d) { read(v.*d.pointer); });
    } else if constexpr (requires {
                           typename T::value_type;
                           v.clear();
                           v.emplace_back();
                         }) {
      const auto n = get_count(std::max<std::size_t>(1, min_encoded_size<typename T::value_type>()));
      v.clear();
      v.reserve(n);
      for (std::uint32_t i = 0; i < n; ++i) read(v.emplace_back());
    } else if constexpr (std::is_enum_v<T> && boost::describe::has_describe_enumerators<T>::value) {
      const auto raw = get<std::underlying_type_t<T>>();
      bool known = false;
      boost::mp11::mp_for_each<boost::describe::describe_enumerators<T>>(
          [&](auto e) { known = known || static_cast<std::underlying_type_t<T>>(e.value) == raw; });
      if (!known) fail("enumerator " + std::to_string(+raw) + " is out of range");
      v = static_cast<T>(raw);
    } else {
      static_assert(std::is_arithmetic_v<T> || std::is_enum_v<T>, "no byte layout for this type");
      v = get<T>();
    }
  }
  template <class T>
  T read() {
    T v{};
    read(v);
    return v;
  }

  std::string_view rest() const { return in_.substr(pos_); }
  std::size_t remaining() const { return in_.size() - pos_; }
  std::size_t position() const { return pos_; }
  /// The end of the message: throws when bytes are left over.
  void finish() const {
    if (remaining() != 0) {
      throw DecodeError(std::to_string(remaining()) + " trailing bytes after a " + std::string(what_));
    }
  }
  /// Throws DecodeError naming the message.
  [[noreturn]] void fail(const std::string& why) const {
    throw DecodeError("bad " + std::string(what_) + " at byte " + std::to_string(pos_) + ": " + why);
  }

 private:
  void need(std::size_t n) const {
    if (in_.size() - pos_ < n) {
      throw DecodeError("truncated " + std::string(what_) + ": " + std::to_string(n) + " bytes needed at byte " +
                        std::to_string(pos_) + ", " + std::to_string(in_.size() - pos_) + " left");
    }
  }
  std::string_view in_;
  std::string_view what_;
  std::size_t pos_ = 0;
};

/// `v` as bytes (ByteWriter::write).
template <class T>
[[nodiscard]] std::string encode(const T& v) {
  std::string out;
  ByteWriter(out).write(v);
  return out;
}

/// Exactly one T from `bytes`: truncated or trailing input throws DecodeError.
template <class T>
T decode(std::string_view bytes, std::string_view what) {
  ByteReader in(bytes, what);
  T v = in.read<T>();
  in.finish();
  return v;
}

}  // namespace rankpool::runtime

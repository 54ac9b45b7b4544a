#pragma once
// Internal: not part of the API (rankpool/farm/detail/ may change in any release).
// Encoding of typed task inputs and outputs into message payloads.
//
// A batch's values are encoded together: trivially copyable types (ints, doubles, plain
// structs) as one memcpy, anything else through one Boost.Serialization binary archive
// per batch. Either way a batch of 10,000 tiny tasks costs one encode, not 10,000.

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/iostreams/device/array.hpp>
#include <boost/iostreams/categories.hpp>
#include <boost/iostreams/stream.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "rankpool/farm/detail/protocol.hpp"

namespace rankpool::farm::codec {

/// Values copied as raw bytes: the ranks run the same binary on the same architecture.
template <class T>
inline constexpr bool kBitwise = std::is_trivially_copyable_v<T> && !std::is_pointer_v<T>;

/// A Boost.Iostreams sink appending to a string (back_insert_device's insert() trips a
/// false GCC 12 -Wrestrict at -O3).
struct StringSink {
  using char_type = char;
  using category = boost::iostreams::sink_tag;
  std::string* out;
  std::streamsize write(const char* p, std::streamsize n) {
    out->append(p, static_cast<std::size_t>(n));
    return n;
  }
};

inline constexpr unsigned kArchiveFlags =
    boost::archive::no_header | boost::archive::no_codecvt | boost::archive::no_tracking;

/// Appends `n` values, `get(i)` returning the i-th (by const reference or value).
template <class T, class Get>
void encode(std::string& out, std::size_t n, Get&& get) {
  if constexpr (kBitwise<T>) {
    const auto start = out.size();
    out.resize(start + n * sizeof(T));
    char* p = out.data() + start;
    for (std::size_t i = 0; i < n; ++i) {
      const T& v = get(i);
      std::memcpy(p + i * sizeof(T), &v, sizeof(T));
    }
  } else {
    namespace io = boost::iostreams;
    io::stream<StringSink> os(StringSink{&out});
    {
      boost::archive::binary_oarchive ar(os, kArchiveFlags);
      for (std::size_t i = 0; i < n; ++i) {
        const T& v = get(i);
        ar << v;
      }
    }
    os.flush();
  }
}

/// Appends a contiguous range of values.
template <class T>
void encode_range(std::string& out, const T* values, std::size_t n) {
  if constexpr (kBitwise<T>) {
    out.append(reinterpret_cast<const char*>(values), n * sizeof(T));
  } else {
    encode<T>(out, n, [values](std::size_t i) -> const T& { return values[i]; });
  }
}

/// Decodes exactly `n` values from `bytes` into `out` (cleared first).
/// Throws ProtocolError when the payload does not hold n values of T.
template <class T>
void decode(std::string_view bytes, std::size_t n, std::vector<T>& out) {
  out.clear();
  if constexpr (kBitwise<T>) {
    if (bytes.size() != n * sizeof(T)) {
      throw ProtocolError("payload size " + std::to_string(bytes.size()) + " does not hold " + std::to_string(n) +
                          " values of " + std::to_string(sizeof(T)) + " bytes");
    }
    out.resize(n);
    if (n) std::memcpy(static_cast<void*>(out.data()), bytes.data(), bytes.size());
  } else {
    namespace io = boost::iostreams;
    try {
      io::stream<io::array_source> is(bytes.data(), bytes.size());
      boost::archive::binary_iarchive ar(is, kArchiveFlags);
      out.resize(n);
      for (std::size_t i = 0; i < n; ++i) ar >> out[i];
    } catch (const boost::archive::archive_exception& e) {
      throw ProtocolError(std::string("cannot decode payload: ") + e.what());
    } catch (const std::ios_base::failure& e) {
      throw ProtocolError(std::string("cannot decode payload: ") + e.what());
    }
  }
}

}  // namespace rankpool::farm::codec

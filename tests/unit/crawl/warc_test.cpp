// SHA-1/base32, SURT, and the WARC writer read back (gzip members, record layout, digests,
// rotation, never overwriting, CDXJ offsets). The end-to-end check with an independent reader
// (warcio) is the crawl_app.warc scenario.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <unistd.h>

#include "rankpool/crawl/digest.hpp"
#include "rankpool/crawl/warc.hpp"

namespace rankpool::crawl {
namespace {

namespace fs = std::filesystem;

std::string sha1_hex(std::string_view s) {
  Sha1 h;
  h.update(s);
  const auto d = h.finish();
  return hex(d.data(), d.size());
}

TEST(Sha1, Fips180Vectors) {
  EXPECT_EQ(sha1_hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  EXPECT_EQ(sha1_hex(std::string(1000000, 'a')), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST(Sha1, IncrementalEqualsWholeAtEverySplit) {
  std::string data;
  for (int i = 0; i < 300; ++i) data.push_back(static_cast<char>(i * 7));
  const std::string whole = sha1_hex(data);
  for (std::size_t cut = 0; cut <= data.size(); cut += 13) {
    Sha1 h;
    h.update(std::string_view(data).substr(0, cut));
    h.update(std::string_view(data).substr(cut));
    const auto d = h.finish();
    EXPECT_EQ(hex(d.data(), d.size()), whole) << cut;
  }
}

TEST(Base32, Rfc4648Vectors) {
  auto b32 = [](std::string_view s) { return base32(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); };
  EXPECT_EQ(b32(""), "");
  EXPECT_EQ(b32("f"), "MY======");
  EXPECT_EQ(b32("fo"), "MZXQ====");
  EXPECT_EQ(b32("foo"), "MZXW6===");
  EXPECT_EQ(b32("foob"), "MZXW6YQ=");
  EXPECT_EQ(b32("fooba"), "MZXW6YTB");
  EXPECT_EQ(b32("foobar"), "MZXW6YTBOI======");
  // The WARC form: SHA-1 of "" as wget and warcio write it.
  EXPECT_EQ(sha1_label(""), "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ");
}

TEST(Surt, AsCdxjSortsBy) {
  EXPECT_EQ(surt("http://www.A.example:8080/p?q"), "example,a:8080)/p?q");
  EXPECT_EQ(surt("https://b.example.org/"), "org,example,b)/");
  EXPECT_EQ(surt("http://example.com:80/x#frag"), "com,example)/x");
  EXPECT_EQ(surt("http://127.0.0.2:4000/robots.txt"), "127.0.0.2:4000)/robots.txt");
  EXPECT_EQ(surt("http://[::1]:8080/"), "[::1]:8080)/");
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The gzip members of a .warc.gz: (offset, decompressed bytes) each.
std::vector<std::pair<std::size_t, std::string>> members(const std::string& gz) {
  std::vector<std::pair<std::size_t, std::string>> out;
  std::size_t pos = 0;
  while (pos < gz.size()) {
    z_stream zs{};
    EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data() + pos));
    zs.avail_in = static_cast<uInt>(gz.size() - pos);
    std::string text;
    char buf[4096];
    int rc = Z_OK;
    while (rc == Z_OK) {
      zs.next_out = reinterpret_cast<Bytef*>(buf);
      zs.avail_out = sizeof buf;
      rc = inflate(&zs, Z_NO_FLUSH);
      text.append(buf, sizeof buf - zs.avail_out);
    }
    EXPECT_EQ(rc, Z_STREAM_END) << "member at " << pos;
    out.emplace_back(pos, text);
    const std::size_t used = gz.size() - pos - zs.avail_in;
    inflateEnd(&zs);
    if (rc != Z_STREAM_END || used == 0) break;
    pos += used;
  }
  return out;
}

std::map<std::string, std::string> warc_headers(const std::string& record) {
  std::map<std::string, std::string> h;
  std::istringstream in(record.substr(0, record.find("\r\n\r\n")));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(": ");
    if (colon != std::string::npos) h[line.substr(0, colon)] = line.substr(colon + 2);
  }
  return h;
}

FetchResult sample(const std::string& url, std::string payload) {
  FetchResult r;
  r.url = url;
  r.http_status = 200;
  r.content_type = "text/html; charset=utf-8";
  r.started = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764895084123));  // 2025-12-05
  r.ip = "127.0.0.2";
  r.request_head = "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n";
  r.response_head = "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n";
  r.payload = std::move(payload);
  return r;
}

class WarcWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rankpool-warc-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  fs::path dir_;
};

TEST_F(WarcWriterTest, RecordsAreGzipMembersWithTheirDigests) {
  WarcOptions o;
  o.dir = dir_.string();
  o.rank = 3;
  o.cdx = true;
  o.info = {{"robots", "obey"}};
  WarcWriter w(o);
  ASSERT_TRUE(w.write(sample("http://a.test/", "<html>hello</html>")));
  FetchResult no_response;
  no_response.url = "http://a.test/x";
  no_response.error = "refused";
  ASSERT_TRUE(w.write(no_response));  // nothing to archive: no record
  ASSERT_TRUE(w.close());
  ASSERT_EQ(w.files().size(), 1u);
  const std::string name = w.files()[0];
  EXPECT_TRUE(name.starts_with("rankpool-")) << name;
  EXPECT_TRUE(name.ends_with("-3-00000.warc.gz")) << name;
  EXPECT_EQ(w.records(), 3u);

  const std::string gz = read_file(dir_ / name);
  const auto recs = members(gz);
  ASSERT_EQ(recs.size(), 3u);
  const auto info = warc_headers(recs[0].second), resp = warc_headers(recs[1].second),
             req = warc_headers(recs[2].second);
  EXPECT_TRUE(recs[0].second.starts_with("WARC/1.1\r\n"));
  EXPECT_EQ(info.at("WARC-Type"), "warcinfo");
  EXPECT_EQ(info.at("WARC-Filename"), name);
  EXPECT_NE(recs[0].second.find("robots: obey\r\n"), std::string::npos);

  EXPECT_EQ(resp.at("WARC-Type"), "response");
  EXPECT_EQ(resp.at("WARC-Target-URI"), "http://a.test/");
  EXPECT_EQ(resp.at("WARC-Date"), "2025-12-05T00:38:04.123Z");
  EXPECT_EQ(resp.at("WARC-IP-Address"), "127.0.0.2");
  EXPECT_EQ(resp.at("WARC-Warcinfo-ID"), info.at("WARC-Record-ID"));
  EXPECT_EQ(resp.at("Content-Type"), "application/http;msgtype=response");
  EXPECT_EQ(resp.at("WARC-Payload-Digest"), sha1_label("<html>hello</html>"));
  // The payload went through curl dechunked: the header saying chunked is renamed.
  const std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nX-Crawler-Transfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(resp.at("WARC-Block-Digest"), sha1_label(head + "<html>hello</html>"));
  EXPECT_EQ(resp.at("Content-Length"), std::to_string(head.size() + 18));
  const std::string& body = recs[1].second;
  EXPECT_EQ(body.substr(body.find("\r\n\r\n") + 4), head + "<html>hello</html>\r\n\r\n");
  EXPECT_TRUE(
      std::regex_match(resp.at("WARC-Record-ID"),
                       std::regex("<urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}>")));

  EXPECT_EQ(req.at("WARC-Type"), "request");
  EXPECT_EQ(req.at("WARC-Concurrent-To"), resp.at("WARC-Record-ID"));
  EXPECT_EQ(req.at("WARC-Block-Digest"), sha1_label("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"));
  EXPECT_NE(req.at("WARC-Record-ID"), resp.at("WARC-Record-ID"));

  // The CDXJ line points at the response record's member.
  const std::string cdx = read_file(dir_ / (name.substr(0, name.size() - 8) + ".cdxj"));
  EXPECT_EQ(cdx,
            "test,a)/ 20251205003804 {\"url\": \"http://a.test/\", \"mime\": \"text/html\", \"status\": \"200\", "
            "\"digest\": \"" +
                sha1_label("<html>hello</html>") + "\", \"length\": \"" +
                std::to_string(recs[2].first - recs[1].first) + "\", \"offset\": \"" + std::to_string(recs[1].first) +
                "\", \"filename\": \"" + name + "\"}\n");
}

TEST_F(WarcWriterTest, RotatesAndNeverOverwrites) {
  WarcOptions o;
  o.dir = dir_.string();
  o.max_file_bytes = 1;  // every fetch after the first starts a new file
  o.cdx = true;
  std::vector<std::string> first;
  {
    WarcWriter w(o);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(w.write(sample("http://a.test/" + std::to_string(i), "x")));
    ASSERT_TRUE(w.close());
    first = w.files();
  }
  ASSERT_EQ(first.size(), 3u);
  std::map<std::string, std::string> before;
  for (const auto& f : first) before[f] = read_file(dir_ / f);
  // A second writer in the same second (a resumed crawl, a rank restarted): new names only.
  WarcWriter again(o);
  ASSERT_TRUE(again.write(sample("http://a.test/again", "y")));
  ASSERT_TRUE(again.close());
  ASSERT_EQ(again.files().size(), 1u);
  EXPECT_EQ(std::count(first.begin(), first.end(), again.files()[0]), 0);
  for (const auto& [f, bytes] : before) EXPECT_EQ(read_file(dir_ / f), bytes) << f;
  std::size_t cdxj = 0;
  for (const auto& e : fs::directory_iterator(dir_)) cdxj += e.path().extension() == ".cdxj";
  EXPECT_EQ(cdxj, 4u);
}

TEST_F(WarcWriterTest, UnwritableDirectoryIsAStatusNotACrash) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "file") << "x";
  WarcOptions o;
  o.dir = (dir_ / "file" / "warc").string();
  WarcWriter w(o);
  const Status st = w.write(sample("http://a.test/", "x"));
  EXPECT_FALSE(st);
  EXPECT_NE(st.message().find("cannot create"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace rankpool::crawl

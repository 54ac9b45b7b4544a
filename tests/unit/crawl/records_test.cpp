// The crawl's records (records.hpp): one description each, from which the wire codec, the
// JSON writer and the JSON reader come. The expected bytes and lines below are what the
// hand-written codecs wrote before, so outputs and the wire stay the same.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "rankpool/crawl/links.hpp"
#include "rankpool/crawl/protocol.hpp"
#include "rankpool/crawl/records.hpp"
#include "rankpool/runtime/bytes.hpp"

namespace rankpool::crawl {
namespace {

PageRecord sample_ok() {
  PageRecord r;
  r.url = "http://a.test/x";
  r.status = 200;
  r.depth = 2;
  r.content_type = "text/html";
  r.bytes = 1234;
  r.links = 7;
  r.seconds = 0.25;
  r.rank = 3;
  return r;
}

PageRecord sample_failed() {
  PageRecord r = sample_ok();
  r.status = 0;
  r.error = "Connection refused";
  r.error_kind = "connect";
  r.redirect = "http://a.test/y";
  r.body_file = "bodies/1";
  r.nofollow = true;
  r.attempts = 3;
  r.retried = {"503", "timeout"};
  r.fetched_at = "2026-12-05T00:38:04.123Z";
  r.ip = "127.0.0.2";
  r.payload_sha1 = "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ";
  r.referrer = "seed";
  r.last_modified = "Wed, 21 Oct 2015 07:28:00 GMT";
  r.etag = "\"abc\"";
  return r;
}

TEST(PageRecordJson, LineHasTheFieldsInOrderAndLeavesOutEmptyOnes) {
  EXPECT_EQ(to_json_line(sample_ok()),
            R"({"url":"http://a.test/x","status":200,"depth":2,"content_type":"text/html","bytes":1234,)"
            R"("links":7,"seconds":2.5E-1,"rank":3,"attempts":1})");
  EXPECT_EQ(to_json_line(sample_failed()),
            R"({"url":"http://a.test/x","status":0,"depth":2,"content_type":"text/html","bytes":1234,)"
            R"("links":7,"seconds":2.5E-1,"rank":3,"error":"Connection refused","error_kind":"connect",)"
            R"("redirect":"http://a.test/y","body_file":"bodies/1","nofollow":true,"attempts":3,)"
            R"("retried":["503","timeout"],"fetched_at":"2026-12-05T00:38:04.123Z","ip":"127.0.0.2",)"
            R"("payload_sha1":"sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ","referrer":"seed",)"
            R"("last_modified":"Wed, 21 Oct 2015 07:28:00 GMT","etag":"\"abc\""})");
}

TEST(PageRecordJson, RoundTrip) {
  for (const PageRecord& r : {sample_ok(), sample_failed()}) {
    Result<PageRecord> back = page_record_from_json(to_json_line(r));
    ASSERT_TRUE(back) << back.status();
    EXPECT_EQ(*back, r);
  }
}

TEST(PageRecordJson, LinesWrittenBeforeRetriesReadAsOneAttempt) {
  std::string line = to_json_line(sample_ok());
  line.replace(line.find(",\"attempts\":1"), 13, "");
  Result<PageRecord> back = page_record_from_json(line);
  ASSERT_TRUE(back) << back.status() << " " << line;
  EXPECT_EQ(back->attempts, 1u);
  EXPECT_TRUE(back->retried.empty());
}

TEST(PageRecordJson, BadLinesAreErrorsNotExceptions) {
  EXPECT_FALSE(page_record_from_json("garbage"));
  EXPECT_FALSE(page_record_from_json("[1,2]"));
  Result<PageRecord> missing = page_record_from_json(R"({"url":"http://a.test/","status":200})");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("\"depth\""), std::string::npos) << missing.status();
  std::string wrong = to_json_line(sample_ok());
  wrong.replace(wrong.find("\"status\":200"), 12, "\"status\":\"200\"");
  EXPECT_FALSE(page_record_from_json(wrong));
}

TEST(HostCheckpointJson, FieldsAndRoundTrip) {
  HostCheckpoint parsed{"http://a.test", "parsed", "User-agent: *\nDisallow: /p\n", "", ""};
  HostCheckpoint down{"http://b.test", "unreachable", "", "timed out", "timeout"};
  EXPECT_EQ(boost::json::serialize(to_json(parsed)),
            R"({"origin":"http://a.test","robots":"parsed","robots_body":"User-agent: *\nDisallow: /p\n"})");
  EXPECT_EQ(boost::json::serialize(to_json(down)),
            R"({"origin":"http://b.test","robots":"unreachable","unreachable_error":"timed out",)"
            R"("unreachable_kind":"timeout"})");
  for (const HostCheckpoint& h : {parsed, down}) {
    Result<HostCheckpoint> back = host_checkpoint_from_json(to_json(h));
    ASSERT_TRUE(back) << back.status();
    EXPECT_EQ(*back, h);
  }
  EXPECT_FALSE(host_checkpoint_from_json(boost::json::parse(R"({"origin":"http://a.test"})")));
}

/// The Records message as protocol version 7 lays it out, by hand (version 4's, then the tally).
std::string records_v7(const RecordsMessage& m) {
  std::string out;
  runtime::ByteWriter w(out);
  w.put(m.status.queued);
  w.put(m.status.in_flight);
  w.put(m.status.active_hosts);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(m.records.size()));
  for (const auto& rec : m.records) {
    w.put_string(rec.url);
    w.put<std::int32_t>(rec.status);
    w.put<std::int32_t>(rec.depth);
    w.put_string(rec.content_type);
    w.put(rec.bytes);
    w.put(rec.links);
    w.put(rec.seconds);
    w.put<std::int32_t>(rec.rank);
    w.put_string(rec.error);
    w.put_string(rec.error_kind);
    w.put_string(rec.redirect);
    w.put_string(rec.body_file);
    w.put<std::uint8_t>(rec.nofollow ? 1 : 0);
    w.put(rec.attempts);
    w.put<std::uint32_t>(static_cast<std::uint32_t>(rec.retried.size()));
    for (const auto& cause : rec.retried) w.put_string(cause);
    for (const std::string* f :
         {&rec.fetched_at, &rec.ip, &rec.payload_sha1, &rec.referrer, &rec.last_modified, &rec.etag})
      w.put_string(*f);
  }
  w.put_string(m.edges);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(m.hosts.size()));
  for (const auto& h : m.hosts) {
    w.put_string(h.origin);
    w.put_string(h.robots);
    w.put_string(h.robots_body);
    w.put_string(h.unreachable_error);
    w.put_string(h.unreachable_kind);
  }
  w.put(m.tally.pages);
  for (const auto* counts : {&m.tally.status, &m.tally.errors, &m.tally.retries}) {
    w.put<std::uint32_t>(static_cast<std::uint32_t>(counts->size()));
    for (const auto& c : *counts) {
      w.put_string(c.key);
      w.put(c.n);
    }
  }
  return out;
}

RecordsMessage sample_message() {
  RecordsMessage m;
  m.status = {12, 3, 2};
  m.records = {sample_ok(), sample_failed()};
  m.edges = "http://a.test/x\thttp://a.test/z\ta\n";
  m.hosts = {{"http://a.test", "parsed", "User-agent: *\n", "", ""}};
  return m;
}

TEST(RecordsMessage, WireLayoutIsUnchangedAndRoundTrips) {
  const RecordsMessage m = sample_message();
  const std::string bytes = encode_records(m);
  EXPECT_EQ(bytes, records_v7(m));
  EXPECT_EQ(decode_records(bytes), m);
}

TEST(RecordsMessage, TheTallyCountsPagesStatusesErrorsAndRetriesAndTravels) {
  PageRecord a = sample_ok(), b = sample_failed(), c = sample_ok();
  a.retried = {"503", "timeout"};
  b.retried = {};
  c.retried = {"503"};
  const RecordTally t = tally_of({a, b, c});
  EXPECT_EQ(t.pages, 3u);
  EXPECT_EQ(t.status, (std::vector<KeyCount>{{std::to_string(b.status), 1}, {std::to_string(a.status), 2}}));
  EXPECT_EQ(t.errors, (std::vector<KeyCount>{{b.error_kind, 1}}));
  EXPECT_EQ(t.retries, (std::vector<KeyCount>{{"503", 2}, {"timeout", 1}}));
  EXPECT_EQ(tally_of({}), RecordTally{});
  RecordsMessage m;
  m.status = {1, 2, 3};
  m.tally = t;
  EXPECT_EQ(decode_records(encode_records(m)), m);
  EXPECT_EQ(encode_records(m), records_v7(m));
}

TEST(RecordsMessage, TruncatedAndTrailingInputIsRejected) {
  const std::string bytes = encode_records(sample_message());
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_THROW(decode_records(std::string_view(bytes).substr(0, cut)), runtime::DecodeError) << cut;
  }
  EXPECT_THROW(decode_records(bytes + '\0'), runtime::DecodeError);
  try {
    (void)decode_records(bytes + "xyz");
    ADD_FAILURE() << "trailing bytes accepted";
  } catch (const runtime::DecodeError& e) {
    EXPECT_STREQ(e.what(), "3 trailing bytes after a crawl Records message");
  }
}

TEST(CrawlMessages, UrlsCountersAndU64RejectTrailingBytes) {
  const std::vector<UrlAtDepth> urls = {{"http://a.test/", 0, ""}, {"http://a.test/1", 4, "http://a.test/"}};
  const std::string u = encode_urls(urls);
  // Version 4 layout: u32 count, then per URL its depth (i32) before the string, then the referrer.
  EXPECT_EQ(u.substr(0, 8), std::string("\x02\0\0\0\0\0\0\0", 8));
  EXPECT_EQ(u.substr(8 + 4 + 14, 4), std::string("\0\0\0\0", 4));  // the first URL's empty referrer
  EXPECT_EQ(decode_urls(u), urls);
  EXPECT_THROW(decode_urls(u + "!"), runtime::DecodeError);
  EXPECT_THROW(decode_urls(u.substr(0, u.size() - 1)), runtime::DecodeError);
  const Counters c{5, true, 7, 8, 9};
  const std::string cb = encode_counters(c);
  EXPECT_EQ(cb.size(), 8u + 1 + 8 + 8 + 8);
  EXPECT_EQ(decode_counters(cb), c);
  EXPECT_THROW(decode_counters(cb + "!"), runtime::DecodeError);
  EXPECT_EQ(decode_u64(encode_u64(77)), 77u);
  EXPECT_THROW(decode_u64(encode_u64(77) + "!"), runtime::DecodeError);
  EXPECT_THROW(decode_start(encode_start(StartMessage{}) + "!"), runtime::DecodeError);
}

// A resume's state in slices (protocol.hpp, the slicing rule): never past the limit, the
// items back in order, a URL with many links cut and joined, bad slices error values.
FetchedUrl fetched_sample(int i, int links) {
  FetchedUrl f;
  f.url = "http://a.test/p/" + std::to_string(i);
  f.depth = i % 4;
  f.recorded_depth = i % 5;
  for (int k = 0; k < links; ++k)
    f.children.push_back("http://a.test/p/" + std::to_string(i) + "/" + std::to_string(k));
  f.redirect = i % 7 == 0 ? "http://a.test/r/" + std::to_string(i) : "";
  f.bytes = static_cast<std::uint64_t>(i) * 10;
  f.failed = i % 3 == 0;
  return f;
}

/// What the coordinator sends for `urls` at `limit`, and what the worker rebuilds from it.
std::vector<std::string> restore_slices(const std::vector<FetchedUrl>& urls, std::size_t limit) {
  std::vector<std::string> out;
  const std::string none = runtime::encode(std::uint32_t{0}), not_done = runtime::encode(false);
  Slicer slicer(limit, none, not_done, [&](std::string s) { out.push_back(std::move(s)); });
  for (const auto& f : urls)
    for (const auto& piece : split_fetched(f, limit - none.size() - 4 - not_done.size())) slicer.add(piece);
  slicer.finish();
  EXPECT_EQ(slicer.slices(), out.size());
  return out;
}

TEST(RestoreSlices, NeverPastTheLimitAndEveryUrlComesBackWhole) {
  std::vector<FetchedUrl> urls;
  for (int i = 0; i < 300; ++i) urls.push_back(fetched_sample(i, i % 50 == 0 ? 40 : i % 6));
  const std::size_t limit = 512;
  ASSERT_GT(runtime::encode(urls[0]).size(), limit);  // one URL needs several slices
  const std::vector<std::string> slices = restore_slices(urls, limit);
  EXPECT_GT(slices.size(), 50u);
  std::vector<FetchedUrl> back;
  for (const auto& bytes : slices) {
    EXPECT_LE(bytes.size(), limit);
    Result<RestoreSlice> s = read_restore(bytes, limit);
    ASSERT_TRUE(s) << s.status().message();
    EXPECT_TRUE(s->hosts.empty());
    EXPECT_FALSE(s->done);
    for (auto& f : s->fetched) {
      if (!back.empty() && back.back().url == f.url) {  // the worker's join
        back.back().children.insert(back.back().children.end(), f.children.begin(), f.children.end());
      } else {
        back.push_back(std::move(f));
      }
    }
  }
  EXPECT_EQ(back, urls);
}

TEST(RestoreSlices, ALargeLimitSendsOneSliceAndUrlsFollowTheSameRule) {
  std::vector<FetchedUrl> urls;
  for (int i = 0; i < 100; ++i) urls.push_back(fetched_sample(i, 3));
  EXPECT_EQ(restore_slices(urls, kDefaultSliceBytes).size(), 1u);
  std::vector<UrlAtDepth> frontier;
  for (int i = 0; i < 1000; ++i) frontier.push_back({"http://b.test/" + std::to_string(i), i % 3, {}});
  std::vector<UrlAtDepth> back;
  Slicer slicer(1024, {}, {}, [&](std::string s) {
    EXPECT_LE(s.size(), 1024u);
    for (auto& u : decode_urls(s)) back.push_back(std::move(u));
  });
  for (const auto& u : frontier) slicer.add(u);
  slicer.finish();
  EXPECT_GT(slicer.slices(), 10u);
  EXPECT_LE(slicer.largest(), 1024u);
  EXPECT_EQ(back, frontier);
}

TEST(RestoreSlices, TruncatedTrailingAndOversizedSlicesAreErrorsNotCrashes) {
  RestoreSlice two;
  two.fetched = {fetched_sample(1, 2), fetched_sample(2, 2)};
  const std::string bytes = encode_restore(two);
  ASSERT_TRUE(read_restore(bytes, bytes.size()));
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    Result<RestoreSlice> s = read_restore(bytes.substr(0, cut), bytes.size());
    ASSERT_FALSE(s) << "cut at " << cut;
    EXPECT_NE(s.status().message().find("crawl Restore slice"), std::string::npos) << s.status().message();
  }
  Result<RestoreSlice> trailing = read_restore(bytes + "x", bytes.size() + 1);
  ASSERT_FALSE(trailing);
  EXPECT_NE(trailing.status().message().find("trailing"), std::string::npos) << trailing.status().message();
  Result<RestoreSlice> oversized = read_restore(bytes, bytes.size() - 1);
  ASSERT_FALSE(oversized);
  EXPECT_NE(oversized.status().message().find("over the slice limit"), std::string::npos)
      << oversized.status().message();
  // One item alone may exceed the limit (a single link is never cut): that is the rule.
  RestoreSlice one;
  one.fetched = {fetched_sample(1, 1)};
  EXPECT_TRUE(read_restore(encode_restore(one), 8));
  // A corrupt count does not reserve gigabytes: an error too.
  std::string corrupt = bytes;
  corrupt[0] = '\xff';
  corrupt[1] = '\xff';
  EXPECT_FALSE(read_restore(corrupt, corrupt.size()));
}

TEST(FinalSlices, RowsThenFixesNeverPastTheLimitAndAllComeBack) {
  std::vector<HostStats> hosts;
  for (int i = 0; i < 200; ++i)
    hosts.push_back(HostStats{"http://h" + std::to_string(i) + ".test", 1 + i % 3, static_cast<std::uint64_t>(i), 1000,
                              1, 0, "parsed", 0.25});
  std::vector<std::pair<std::string, int>> fixes;
  for (int i = 0; i < 300; ++i) fixes.emplace_back("http://a.test/page/" + std::to_string(i), i % 4);
  const std::size_t limit = 256;
  std::vector<HostStats> hosts_back;
  std::vector<std::pair<std::string, int>> fixes_back;
  std::size_t calls = 0;
  bool fixes_started = false;
  const std::uint64_t n = slice_final(hosts, fixes, limit, [&](std::string bytes) {
    ++calls;
    EXPECT_LE(bytes.size(), limit);
    Result<FinalSlice> s = read_final_slice(bytes, limit);
    ASSERT_TRUE(s) << s.status().message();
    EXPECT_TRUE(s->hosts.empty() || s->depth_fixes.empty()) << "one kind a slice";
    if (!s->depth_fixes.empty()) fixes_started = true;
    EXPECT_TRUE(s->hosts.empty() || !fixes_started) << "rows first";
    hosts_back.insert(hosts_back.end(), s->hosts.begin(), s->hosts.end());
    for (const auto& f : s->depth_fixes) fixes_back.emplace_back(f.url, f.depth);
  });
  EXPECT_EQ(n, calls);
  EXPECT_GT(n, 40u);
  ASSERT_EQ(hosts_back.size(), hosts.size());
  for (std::size_t i = 0; i < hosts.size(); ++i) EXPECT_EQ(runtime::encode(hosts_back[i]), runtime::encode(hosts[i]));
  EXPECT_EQ(fixes_back, fixes);
  // Nothing to send: no slice at all; the default limit: one slice of each kind.
  EXPECT_EQ(slice_final({}, {}, limit, [](std::string) { ADD_FAILURE() << "a slice of nothing"; }), 0u);
  EXPECT_EQ(slice_final(hosts, fixes, kDefaultSliceBytes, [](std::string) {}), 2u);
}

TEST(FinalSlices, TruncatedTrailingAndOversizedSlicesAreErrorsNotCrashes) {
  FinalSlice two;
  two.depth_fixes = {{"http://a.test/x", 1}, {"http://a.test/y", 2}};
  const std::string bytes = encode_final_slice(two);
  ASSERT_TRUE(read_final_slice(bytes, bytes.size()));
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    Result<FinalSlice> s = read_final_slice(bytes.substr(0, cut), bytes.size());
    ASSERT_FALSE(s) << "cut at " << cut;
    EXPECT_NE(s.status().message().find("crawl FinalPart slice"), std::string::npos) << s.status().message();
  }
  EXPECT_FALSE(read_final_slice(bytes + "x", bytes.size() + 1));
  Result<FinalSlice> oversized = read_final_slice(bytes, bytes.size() - 1);
  ASSERT_FALSE(oversized);
  EXPECT_NE(oversized.status().message().find("over the slice limit"), std::string::npos)
      << oversized.status().message();
}

TEST(RestoreSlices, SliceLimitFromTheEnvironmentIsCheckedAndNamed) {
  EXPECT_EQ(*parse_slice_bytes("4096"), 4096u);
  EXPECT_EQ(*parse_slice_bytes("256"), kMinSliceBytes);
  for (const char* bad : {"", "0", "255", "12k", "-1", "1073741825", "99999999999999999999999"}) {
    Result<std::size_t> r = parse_slice_bytes(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.status().message().find("RANKPOOL_CRAWL_SLICE_BYTES"), std::string::npos);
  }
}

TEST(RecordsMessage, ABatchPastTheLimitGoesInSlicesLinksFirst) {
  RecordsMessage m;
  m.status = {7, 2, 1};
  for (int i = 0; i < 40; ++i) {
    PageRecord r = sample_ok();
    r.url += std::to_string(i);
    m.records.push_back(r);
    for (int k = 0; k < 10; ++k) m.edges += r.url + "\thttp://a.test/" + std::to_string(k) + "\ta\n";
  }
  m.hosts = {HostCheckpoint{"http://a.test", "parsed", "User-agent: *\nDisallow: /x\n", "", ""}};
  std::vector<std::string> one;
  slice_records(m, kDefaultSliceBytes, [&](std::string b) { one.push_back(std::move(b)); });
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(decode_records(one[0]), m);

  const std::size_t limit = 600;
  RecordsMessage joined;
  joined.status = m.status;
  std::size_t parts = 0, records_seen_at = 0;
  slice_records(m, limit, [&](std::string b) {
    EXPECT_LE(b.size(), limit);
    const RecordsMessage part = decode_records(b);
    EXPECT_EQ(part.status, m.status);
    ++parts;
    if (!part.edges.empty()) {
      EXPECT_EQ(records_seen_at, 0u) << "links after a record";
      EXPECT_EQ(part.edges.back(), '\n') << "a links.tsv line cut";
    }
    if (!part.records.empty() && records_seen_at == 0) records_seen_at = parts;
    joined.records.insert(joined.records.end(), part.records.begin(), part.records.end());
    joined.edges += part.edges;
    joined.hosts.insert(joined.hosts.end(), part.hosts.begin(), part.hosts.end());
  });
  EXPECT_GT(parts, 10u);
  EXPECT_EQ(joined, m);

  // With a tally (--output-shards): it comes once, first, alone; the other parts carry none.
  m.tally = tally_of(m.records);
  joined = RecordsMessage{};
  joined.status = m.status;
  parts = 0;
  slice_records(m, limit, [&](std::string b) {
    EXPECT_LE(b.size(), limit);
    RecordsMessage part = decode_records(b);
    if (parts++ == 0) {
      EXPECT_EQ(part.tally, m.tally);
      EXPECT_TRUE(part.records.empty() && part.edges.empty() && part.hosts.empty());
      joined.tally = part.tally;
      return;
    }
    EXPECT_EQ(part.tally, RecordTally{}) << "part " << parts;
    joined.records.insert(joined.records.end(), part.records.begin(), part.records.end());
    joined.edges += part.edges;
    joined.hosts.insert(joined.hosts.end(), part.hosts.begin(), part.hosts.end());
  });
  EXPECT_EQ(joined, m);
}

TEST(LinkKinds, OneSpellingEverywhere) {
  // links.tsv's third column (docs/crawl.md) is the only spelling of a kind.
  EXPECT_EQ(to_string(LinkKind::a), "a");
  EXPECT_EQ(to_string(LinkKind::area), "area");
  EXPECT_EQ(to_string(LinkKind::link), "link");
  EXPECT_EQ(to_string(LinkKind::frame), "frame");
  EXPECT_EQ(to_string(LinkKind::iframe), "iframe");
  EXPECT_EQ(to_string(LinkKind::refresh), "refresh");
  for (auto k : {LinkKind::a, LinkKind::area, LinkKind::link, LinkKind::frame, LinkKind::iframe, LinkKind::refresh})
    EXPECT_EQ(parse_link_kind(to_string(k)), k);
  EXPECT_EQ(parse_link_kind("anchor"), std::nullopt);
  EXPECT_TRUE(followed_by_default(LinkKind::a));
  EXPECT_TRUE(followed_by_default(LinkKind::area));
  EXPECT_FALSE(followed_by_default(LinkKind::link));
}

}  // namespace
}  // namespace rankpool::crawl

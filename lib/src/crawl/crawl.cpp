// Anchor translation unit of rankpool_crawl; the parts add their own sources.
namespace rankpool::crawl {
const char* module_name() { return "crawl"; }
}  // namespace rankpool::crawl

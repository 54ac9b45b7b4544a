#include "farm/relay.hpp"

#include <algorithm>

namespace rankpool::farm {

Relay::Relay(const Registry& registry, Transport& local)
    : registry_(registry), local_(local), outstanding_(static_cast<std::size_t>(local.workers()), 0) {
  if (local.workers() < 1) throw std::invalid_argument("a relay needs at least one local worker");
}

void Relay::accept(std::string_view batch) {
  ByteReader in(batch, "farm batch");
  const BatchHeader h = decode_batch_header(in);
  if (h.type >= registry_.size()) throw ProtocolError("batch of unknown task type #" + std::to_string(h.type));
  const std::string_view payload = batch.substr(batch.size() - in.remaining());
  ++stats_.batches;
  Pending p;
  p.header = h;
  // The least loaded local workers get the pieces; not the one the batch avoids (a retry of a
  // task that failed there) while another is left.
  std::vector<int> order;
  for (int w = 0; w < static_cast<int>(outstanding_.size()); ++w)
    if (local_.worker_rank(w) != h.avoid_rank || outstanding_.size() == 1) order.push_back(w);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return outstanding_[static_cast<std::size_t>(a)] < outstanding_[static_cast<std::size_t>(b)];
  });
  const auto workers = static_cast<std::uint32_t>(order.size());
  const std::uint32_t n = std::min(h.count, workers);
  std::vector<std::uint32_t> sizes(n, n ? h.count / n : 0);
  for (std::uint32_t i = 0; i < (n ? h.count % n : 0); ++i) ++sizes[i];
  if (n == 0) {
    // An empty batch: nothing to run, answered at once on the next poll.
    batches_.emplace(h.batch_id, std::move(p));
    return;
  }
  std::vector<std::string> inputs = registry_.at(h.type).split_inputs(payload, h.count, sizes);
  std::uint32_t offset = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    const int w = order[i];
    const std::uint64_t id = next_id_++;
    std::string wire;
    encode_batch_header(wire, BatchHeader{id, h.type, sizes[i], h.flags});
    wire += inputs[i];
    local_.send(w, Tag::Batch, std::move(wire));
    ++stats_.msgs_sent;
    outstanding_[static_cast<std::size_t>(w)] += sizes[i];
    pieces_.emplace(id, Origin{h.batch_id, i, w});
    Piece piece;
    piece.offset = offset;
    piece.count = sizes[i];
    piece.rank = local_.worker_rank(w);
    p.pieces.push_back(std::move(piece));
    offset += sizes[i];
  }
  p.left = n;
  batches_.emplace(h.batch_id, std::move(p));
}

std::vector<std::pair<Tag, std::string>> Relay::poll(std::chrono::microseconds max_wait) {
  std::vector<std::pair<Tag, std::string>> up;
  for (auto it = batches_.begin(); it != batches_.end();) {
    if (it->second.header.count == 0) {
      up.emplace_back(Tag::Result, finish(it->second));
      it = batches_.erase(it);
    } else {
      ++it;
    }
  }
  auto m = local_.receive(up.empty() ? max_wait : std::chrono::microseconds(0));
  while (m) {
    ++stats_.msgs_recv;
    if (m->tag == Tag::Note) {
      // Up with the rank of the worker that sent it: to rank 0, this relay sent it.
      std::string note;
      ByteWriter(note).put(static_cast<std::int32_t>(local_.worker_rank(m->worker)));
      note += m->bytes;
      up.emplace_back(Tag::RankNote, std::move(note));
    } else if (m->tag == Tag::Result) {
      ResultMessage r = decode_result(m->bytes);
      const auto o = pieces_.find(r.batch_id);
      if (o == pieces_.end()) throw ProtocolError("result for unknown piece " + std::to_string(r.batch_id));
      const Origin origin = o->second;
      pieces_.erase(o);
      auto& out = outstanding_[static_cast<std::size_t>(origin.worker)];
      Pending& p = batches_.at(origin.batch);
      Piece& piece = p.pieces.at(origin.piece);
      if (r.count != piece.count) throw ProtocolError("piece result with the wrong task count");
      out -= std::min<std::uint64_t>(out, piece.count);
      piece.result = std::move(r);
      piece.done = true;
      if (--p.left == 0) {
        up.emplace_back(Tag::Result, finish(p));
        batches_.erase(origin.batch);
      }
    } else {
      throw ProtocolError(std::string("unexpected message from a local worker: ") + to_string(m->tag));
    }
    m = local_.receive(std::chrono::microseconds(0));
  }
  return up;
}

std::string Relay::finish(Pending& p) {
  ResultMessage r;
  r.batch_id = p.header.batch_id;
  r.count = p.header.count;
  bool timed = false;
  for (const auto& piece : p.pieces) timed = timed || !piece.result.seconds.empty();
  if (timed) r.seconds.assign(r.count, 0.0f);
  std::vector<std::pair<std::string_view, std::uint32_t>> parts;
  for (const auto& piece : p.pieces) {
    const ResultMessage& s = piece.result;
    r.busy_ns += s.busy_ns;
    for (const auto& f : s.failures) r.failures.push_back({f.position + piece.offset, f.message, f.kind});
    std::copy(s.seconds.begin(), s.seconds.end(), r.seconds.begin() + piece.offset);
    parts.emplace_back(s.payload, piece.count - static_cast<std::uint32_t>(s.failures.size()));
    if (piece.count == 0) continue;
    if (s.ranks.empty()) {
      r.ranks.push_back({piece.offset, piece.count, piece.rank});
    } else {
      for (const auto& run : s.ranks) r.ranks.push_back({run.first + piece.offset, run.count, run.rank});
    }
  }
  if (!parts.empty()) registry_.at(p.header.type).join_outputs(parts, r.payload);
  ++stats_.msgs_sent;
  return encode_result(r);
}

}  // namespace rankpool::farm

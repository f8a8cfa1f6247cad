// gcbench: the Ellis/Kovac/Boehm GCBench shape on goro's collected heap.
//
// As in the original: a "stretch" tree of depth -stretch-depth is built and
// dropped; then a long-lived tree (depth -long-lived-depth) and an array of
// -array-size doubles are built and kept alive for the rest of the run;
// then, for each depth d from -min-depth to -max-depth stepping by 2,
// 2 * size(stretch) / size(d) trees of depth d are built top-down (a node
// first, then its children: GCBench's Populate) and as many bottom-up
// (children first: MakeTree), each dropped as soon as it is built. A node is
// GCBench's: two child pointers and two 32-bit integers (24 bytes).
//
// The original is single-threaded; here each depth's trees are shared out
// among -workers tasks (0 = one per P) so that the mutator can use the
// procs it is given, as Boehm's MT_GCBench does. Phases are timed one by one
// (the "phases" field) and every collection pause is recorded ("gc_pauses").
//
// The check: the last tree each worker built in each phase is walked
// (node count and the depth stored in every node), the long-lived tree is
// walked at the end, the array's sum is recomputed, and the number of nodes
// built equals the closed form.
//
// Each tree is built, checked and dropped inside one non-inlined call
// (build_one_tree), so that no pointer to it outlives that call. In Go the
// previous tree is dead while the next one is built: its variable is about
// to be overwritten, and Go's stack maps are precise. goro's stacks are
// scanned conservatively, and when the loop held the tree in a local
// (`last = make_tree(d)`, walked after the loop), g++ kept it in a
// callee-saved register that the next make_tree pushed on the stack: every
// worker kept its previous tree alive through the whole next build. At
// depth 20 that was two extra 64 MiB trees, a live set of ~230 MiB instead
// of ~140 and a peak RSS of ~291 MiB instead of ~245 (gctrace and Boehm's
// mark bits, issue 6). The same holds for any goro program: a dead pointer
// in a callee-saved register or a coroutine frame keeps its object alive
// until the slot is reused.

#include <cstdint>
#include <string>
#include <vector>

#include "bench/peers/gc_window.hpp"
#include "bench/peers/workloads.hpp"
#include "core/clock.hpp"

namespace goro_peers {
namespace {

struct node {
  node* left;
  node* right;
  int32_t depth;  // the depth of the subtree this node roots (GCBench's i)
  int32_t j;      // unused, as GCBench's j
};

int64_t tree_size(int depth) {
  return (int64_t{1} << (depth + 1)) - 1;
}

// Top-down: the node exists before its children (GCBench's Populate).
void populate(int depth, node* n) {
  if (depth <= 0) return;
  n->left = goro::gc_new<node>(nullptr, nullptr, depth - 1, 0);
  n->right = goro::gc_new<node>(nullptr, nullptr, depth - 1, 0);
  populate(depth - 1, n->left);
  populate(depth - 1, n->right);
}

// Bottom-up: children first (GCBench's MakeTree).
node* make_tree(int depth) {
  if (depth <= 0) return goro::gc_new<node>(nullptr, nullptr, 0, 0);
  node* l = make_tree(depth - 1);
  node* r = make_tree(depth - 1);
  return goro::gc_new<node>(l, r, depth, 0);
}

// Nodes in the tree if every node holds its subtree's depth and has two
// children or none; -1 otherwise.
int64_t walk(const node* n, int depth) {
  if (n == nullptr || n->depth != depth) return -1;
  if (depth == 0) return (n->left == nullptr && n->right == nullptr) ? 1 : -1;
  const int64_t l = walk(n->left, depth - 1);
  const int64_t r = walk(n->right, depth - 1);
  return (l < 0 || r < 0) ? -1 : l + r + 1;
}

// Builds and checks the stretch tree in a frame of its own, so that no word
// in the root task's (scanned) coroutine frame keeps it alive afterwards.
__attribute__((noinline)) bool build_stretch_tree(int depth) {
  node* t = make_tree(depth);
  return walk(t, depth) == tree_size(depth);
}

struct worker_result {
  int64_t nodes = 0;
  bool ok = true;
};

// Builds one tree and drops it; walks it first when `check` is set. The
// tree's root never leaves this frame: the caller's loop holds no pointer
// to it while the next tree is built (see the header comment).
__attribute__((noinline)) bool build_one_tree(int depth, bool top_down, bool check) {
  node* t;
  if (top_down) {
    t = goro::gc_new<node>(nullptr, nullptr, depth, 0);
    populate(depth, t);
  } else {
    t = make_tree(depth);
  }
  return !check || walk(t, depth) == tree_size(depth);
}

goro::task<worker_result> build_trees(int depth, int64_t count, bool top_down) {
  worker_result res;
  for (int64_t i = 0; i < count; ++i) {
    // Only the last tree is walked, as in the Go version.
    if (!build_one_tree(depth, top_down, i + 1 == count)) res.ok = false;
    res.nodes += tree_size(depth);
  }
  co_return res;
}

struct params {
  int min_depth, max_depth, stretch_depth, long_lived_depth;
  int64_t array_size;
  int workers;
};

struct phase {
  std::string name;
  int depth;
  int64_t trees;
  double seconds;
};

// Builds `trees` trees of `depth` on `workers` tasks; adds to *nodes, clears
// *ok on a bad tree, and returns the phase's wall time.
goro::task<double> run_phase(int depth, int64_t trees, bool top_down, int workers, int64_t* nodes,
                             bool* ok) {
  const int64_t t0 = goro::nanotime();
  std::vector<goro::join_handle<worker_result>> parts;
  parts.reserve(static_cast<std::size_t>(workers));
  for (int w = 0; w < workers; ++w) {
    const int64_t share = trees / workers + (w < trees % workers ? 1 : 0);
    parts.push_back(goro::spawn(build_trees(depth, share, top_down)));
  }
  for (auto& p : parts) {
    const worker_result r = co_await p;
    *nodes += r.nodes;
    *ok = *ok && r.ok;
  }
  co_return static_cast<double>(goro::nanotime() - t0) / 1e9;
}

goro::task<run_report> gcbench_root(params p, const invocation* inv) {
  const int procs = current_procs();
  const int workers = p.workers > 0 ? p.workers : procs;
  run_report r("gcbench", inv->label, inv->params, procs);
  goro::gc();  // start from a collected heap, as the Go version's runtime.GC()
  r.begin();
  gc_window gcw;
  std::vector<phase> phases;
  int64_t nodes = 0, want_nodes = 0;
  bool ok = true;

  int64_t t0 = goro::nanotime();
  ok = ok && build_stretch_tree(p.stretch_depth);
  nodes += tree_size(p.stretch_depth);
  want_nodes += tree_size(p.stretch_depth);
  phases.push_back({"stretch", p.stretch_depth, 1, (goro::nanotime() - t0) / 1e9});

  t0 = goro::nanotime();
  node* long_lived = goro::gc_new<node>(nullptr, nullptr, p.long_lived_depth, 0);
  populate(p.long_lived_depth, long_lived);
  nodes += tree_size(p.long_lived_depth);
  want_nodes += tree_size(p.long_lived_depth);
  double* array = goro::gc_new_array<double>(static_cast<std::size_t>(p.array_size));
  for (int64_t i = 0; i < p.array_size; ++i) array[i] = 1.0 / static_cast<double>(i + 1);
  phases.push_back({"long_lived", p.long_lived_depth, 1, (goro::nanotime() - t0) / 1e9});

  for (int d = p.min_depth; d <= p.max_depth; d += 2) {
    const int64_t trees = 2 * tree_size(p.stretch_depth) / tree_size(d);
    want_nodes += 2 * trees * tree_size(d);
    const double td = co_await run_phase(d, trees, true, workers, &nodes, &ok);
    phases.push_back({"top_down", d, trees, td});
    const double bu = co_await run_phase(d, trees, false, workers, &nodes, &ok);
    phases.push_back({"bottom_up", d, trees, bu});
  }

  const int64_t long_lived_nodes = walk(long_lived, p.long_lived_depth);
  double sum = 0, want_sum = 0;
  for (int64_t i = 0; i < p.array_size; ++i) {
    sum += array[i];
    want_sum += 1.0 / static_cast<double>(i + 1);
  }
  ok = ok && long_lived_nodes == tree_size(p.long_lived_depth) && sum == want_sum &&
       nodes == want_nodes;
  r.end(static_cast<double>(nodes), "nodes",
        verdict(ok, "nodes=" + std::to_string(nodes) +
                        " long_lived=" + std::to_string(long_lived_nodes)));
  gcw.finish(r, procs);

  json_writer w;
  w.begin_array();
  for (const phase& ph : phases) {
    w.begin_object()
        .field("phase", ph.name)
        .field("depth", ph.depth)
        .field("trees", ph.trees)
        .field("s", ph.seconds)
        .end_object();
  }
  w.end_array();
  r.add_field("phases", w.str());
  r.add_field("workers", json_writer().value(workers).str());
  co_return r;
}

}  // namespace

void run_gcbench(const args_t& args) {
  flag_set fs("gcbench");
  const int64_t* min_depth = fs.add_int("min-depth", 4, "smallest depth of the short-lived trees");
  const int64_t* max_depth =
      fs.add_int("max-depth", 20, "largest depth of the short-lived trees (stepping by 2)");
  const int64_t* stretch =
      fs.add_int("stretch-depth", 0,
                 "depth of the stretch tree, which also sets how many trees each depth builds "
                 "(2 * size(stretch) / size(d)); 0 = max-depth + 1");
  const int64_t* long_lived = fs.add_int("long-lived-depth", 16, "depth of the long-lived tree");
  const int64_t* array_size = fs.add_int("array-size", 500000, "doubles in the long-lived array");
  const int64_t* workers =
      fs.add_int("workers", 0, "tasks sharing each depth's trees (0 = one per P)");
  invocation inv = parse_common(fs, args);
  const int64_t stretch_depth = *stretch == 0 ? *max_depth + 1 : *stretch;
  if (*min_depth < 0 || *max_depth < *min_depth || *max_depth > 30)
    fs.fail("want 0 <= -min-depth <= -max-depth <= 30, got -min-depth " +
            std::to_string(*min_depth) + " -max-depth " + std::to_string(*max_depth));
  if (stretch_depth <= *max_depth || stretch_depth > 30)
    fs.fail("want -max-depth < -stretch-depth <= 30 (or 0), got " + std::to_string(stretch_depth));
  if (*long_lived < 0 || *long_lived > 30)
    fs.fail("want 0 <= -long-lived-depth <= 30, got " + std::to_string(*long_lived));
  if (*array_size < 1) fs.fail("want -array-size >= 1, got " + std::to_string(*array_size));
  if (*workers < 0 || *workers > 4096)
    fs.fail("want 0 <= -workers <= 4096, got " + std::to_string(*workers));
  params p{static_cast<int>(*min_depth),
           static_cast<int>(*max_depth),
           static_cast<int>(stretch_depth),
           static_cast<int>(*long_lived),
           *array_size,
           static_cast<int>(*workers)};
  print_report(goro::run(gcbench_root(p, &inv), inv.opts));
}

}  // namespace goro_peers

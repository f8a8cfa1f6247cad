package main

import (
	"flag"
	"fmt"
	"sync"
	"time"
)

// gcbench: the Ellis/Kovac/Boehm GCBench shape, as bench/peers/gcbench.cpp:
// a stretch tree built and dropped; a long-lived tree and an array of
// doubles kept for the whole run; then for each depth d from -min-depth to
// -max-depth by 2, 2*size(stretch)/size(d) trees built top-down (Populate)
// and as many bottom-up (MakeTree), shared out among -workers goroutines.
// A node is GCBench's: two child pointers and two int32 (24 bytes).

type gcNode struct {
	left, right *gcNode
	depth       int32 // the depth of the subtree this node roots (GCBench's i)
	j           int32 // unused, as GCBench's j
}

func treeSize(depth int) int64 { return int64(1)<<(depth+1) - 1 }

func populate(depth int, n *gcNode) {
	if depth <= 0 {
		return
	}
	n.left = &gcNode{depth: int32(depth - 1)}
	n.right = &gcNode{depth: int32(depth - 1)}
	populate(depth-1, n.left)
	populate(depth-1, n.right)
}

func makeTree(depth int) *gcNode {
	if depth <= 0 {
		return &gcNode{}
	}
	l := makeTree(depth - 1)
	r := makeTree(depth - 1)
	return &gcNode{left: l, right: r, depth: int32(depth)}
}

// walkTree counts the nodes if every node holds its subtree's depth and has
// two children or none; -1 otherwise.
func walkTree(n *gcNode, depth int) int64 {
	if n == nil || int(n.depth) != depth {
		return -1
	}
	if depth == 0 {
		if n.left == nil && n.right == nil {
			return 1
		}
		return -1
	}
	l := walkTree(n.left, depth-1)
	r := walkTree(n.right, depth-1)
	if l < 0 || r < 0 {
		return -1
	}
	return l + r + 1
}

//go:noinline
func buildStretchTree(depth int) bool {
	t := makeTree(depth)
	return walkTree(t, depth) == treeSize(depth)
}

type gcPhase struct {
	name    string
	depth   int
	trees   int64
	seconds float64
}

// runPhase builds `trees` trees of `depth` on `workers` goroutines and
// returns the nodes built, whether the last tree of each worker checked,
// and the phase's wall time.
func runPhase(depth int, trees int64, topDown bool, workers int) (int64, bool, float64) {
	t0 := time.Now()
	nodes := make([]int64, workers)
	oks := make([]bool, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		share := trees / int64(workers)
		if int64(w) < trees%int64(workers) {
			share++
		}
		wg.Add(1)
		go func(w int, share int64) {
			defer wg.Done()
			var last *gcNode
			for i := int64(0); i < share; i++ {
				if topDown {
					last = &gcNode{depth: int32(depth)}
					populate(depth, last)
				} else {
					last = makeTree(depth)
				}
				nodes[w] += treeSize(depth)
			}
			oks[w] = last == nil || walkTree(last, depth) == treeSize(depth)
		}(w, share)
	}
	wg.Wait()
	total, ok := int64(0), true
	for w := range nodes {
		total += nodes[w]
		ok = ok && oks[w]
	}
	return total, ok, time.Since(t0).Seconds()
}

func runGCBench(fs *flag.FlagSet, args []string) {
	minDepth := fs.Int("min-depth", 4, "smallest depth of the short-lived trees")
	maxDepth := fs.Int("max-depth", 20, "largest depth of the short-lived trees (stepping by 2)")
	stretchFlag := fs.Int("stretch-depth", 0, "depth of the stretch tree, which also sets how many trees each depth builds (2 * size(stretch) / size(d)); 0 = max-depth + 1")
	longLivedDepth := fs.Int("long-lived-depth", 16, "depth of the long-lived tree")
	arraySize := fs.Int("array-size", 500000, "doubles in the long-lived array")
	workersFlag := fs.Int("workers", 0, "goroutines sharing each depth's trees (0 = GOMAXPROCS)")
	inv := parse(fs, args)
	stretch := *stretchFlag
	if stretch == 0 {
		stretch = *maxDepth + 1
	}
	if *minDepth < 0 || *maxDepth < *minDepth || *maxDepth > 30 {
		fail(fs, fmt.Sprintf("want 0 <= -min-depth <= -max-depth <= 30, got -min-depth %d -max-depth %d", *minDepth, *maxDepth))
	}
	if stretch <= *maxDepth || stretch > 30 {
		fail(fs, fmt.Sprintf("want -max-depth < -stretch-depth <= 30 (or 0), got %d", stretch))
	}
	if *longLivedDepth < 0 || *longLivedDepth > 30 {
		fail(fs, fmt.Sprintf("want 0 <= -long-lived-depth <= 30, got %d", *longLivedDepth))
	}
	if *arraySize < 1 {
		fail(fs, fmt.Sprintf("want -array-size >= 1, got %d", *arraySize))
	}
	if *workersFlag < 0 || *workersFlag > 4096 {
		fail(fs, fmt.Sprintf("want 0 <= -workers <= 4096, got %d", *workersFlag))
	}
	r := newReport("gcbench", inv)
	workers := *workersFlag
	if workers == 0 {
		workers = r.procs
	}

	r.begin()
	var phases []gcPhase
	var nodes, wantNodes int64
	ok := true

	t0 := time.Now()
	ok = ok && buildStretchTree(stretch)
	nodes += treeSize(stretch)
	wantNodes += treeSize(stretch)
	phases = append(phases, gcPhase{"stretch", stretch, 1, time.Since(t0).Seconds()})

	t0 = time.Now()
	longLived := &gcNode{depth: int32(*longLivedDepth)}
	populate(*longLivedDepth, longLived)
	nodes += treeSize(*longLivedDepth)
	wantNodes += treeSize(*longLivedDepth)
	array := make([]float64, *arraySize)
	for i := range array {
		array[i] = 1.0 / float64(i+1)
	}
	phases = append(phases, gcPhase{"long_lived", *longLivedDepth, 1, time.Since(t0).Seconds()})

	for d := *minDepth; d <= *maxDepth; d += 2 {
		trees := 2 * treeSize(stretch) / treeSize(d)
		wantNodes += 2 * trees * treeSize(d)
		n, good, td := runPhase(d, trees, true, workers)
		nodes += n
		ok = ok && good
		phases = append(phases, gcPhase{"top_down", d, trees, td})
		n, good, bu := runPhase(d, trees, false, workers)
		nodes += n
		ok = ok && good
		phases = append(phases, gcPhase{"bottom_up", d, trees, bu})
	}

	longLivedNodes := walkTree(longLived, *longLivedDepth)
	sum, wantSum := 0.0, 0.0
	for i := range array {
		sum += array[i]
		wantSum += 1.0 / float64(i+1)
	}
	ok = ok && longLivedNodes == treeSize(*longLivedDepth) && sum == wantSum && nodes == wantNodes
	r.end(float64(nodes), "nodes", verdict(ok, fmt.Sprintf("nodes=%d long_lived=%d", nodes, longLivedNodes)))

	ph := make([]object, 0, len(phases))
	for _, p := range phases {
		ph = append(ph, object{{"phase", p.name}, {"depth", p.depth}, {"trees", p.trees}, {"s", p.seconds}})
	}
	r.add("phases", ph)
	r.add("workers", workers)
	r.print()
}

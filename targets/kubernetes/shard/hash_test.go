package shard

import (
	"fmt"
	"testing"
)

func units(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("unit-%04d", i)
	}
	return out
}

// TestAssignStable pins a few assignments: a change to the hash would move
// units between replicas of a running fleet on upgrade.
func TestAssignStable(t *testing.T) {
	tests := []struct {
		name   string
		shards int
		want   int
	}{
		{"platform", 1, 0},
		{"platform", 6, 0}, {"platform", 7, 6},
		{"app", 6, 1}, {"app", 7, 6},
		{"db", 6, 4}, {"db", 7, 4},
		{"web-hosts", 6, 5}, {"web-hosts", 7, 5},
	}
	for _, tc := range tests {
		if got := Assign(tc.name, tc.shards); got != tc.want {
			t.Errorf("Assign(%q, %d) = %d, want %d", tc.name, tc.shards, got, tc.want)
		}
	}
	for _, n := range []int{1, 2, 6, 64} {
		for _, u := range units(200) {
			if k := Assign(u, n); k < 0 || k >= n {
				t.Fatalf("Assign(%q, %d) = %d: out of range", u, n, k)
			}
		}
	}
}

// TestAssignMovesFew: changing the number of shards moves only the units
// whose best shard is the one added or removed, and the shards stay
// balanced.
func TestAssignMovesFew(t *testing.T) {
	us := units(3000)
	tests := []struct{ from, to int }{{6, 7}, {7, 6}, {3, 4}, {6, 12}, {1, 2}}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d->%d", tc.from, tc.to), func(t *testing.T) {
			moved := 0
			count := make([]int, tc.to)
			for _, u := range us {
				a, b := Assign(u, tc.from), Assign(u, tc.to)
				count[b]++
				if a == b {
					continue
				}
				moved++
				// A unit moves only to a new shard or off a removed one.
				if b < tc.from && a < tc.to {
					t.Fatalf("%s moved %d -> %d though both shards exist in both", u, a, b)
				}
			}
			lo, hi := min(tc.from, tc.to), max(tc.from, tc.to)
			ideal := float64(len(us)) * float64(hi-lo) / float64(hi)
			if f := float64(moved); f > 1.2*ideal || f < 0.8*ideal {
				t.Errorf("moved %d of %d units, want about %.0f", moved, len(us), ideal)
			}
			even := float64(len(us)) / float64(tc.to)
			for k, c := range count {
				if float64(c) > 1.25*even || float64(c) < 0.75*even {
					t.Errorf("shard %d has %d units, want about %.0f", k, c, even)
				}
			}
		})
	}
}

func TestFairShare(t *testing.T) {
	tests := []struct{ shards, members, rank, want int }{
		{6, 3, 0, 2}, {6, 3, 2, 2},
		{6, 4, 0, 2}, {6, 4, 1, 2}, {6, 4, 2, 1}, {6, 4, 3, 1},
		{6, 1, 0, 6}, {2, 3, 2, 0}, {6, 0, 0, 6},
	}
	for _, tc := range tests {
		if got := FairShare(tc.shards, tc.members, tc.rank); got != tc.want {
			t.Errorf("FairShare(%d, %d, %d) = %d, want %d", tc.shards, tc.members, tc.rank, got, tc.want)
		}
	}
	for members := 1; members < 9; members++ {
		sum := 0
		for r := range members {
			sum += FairShare(6, members, r)
		}
		if sum != 6 {
			t.Errorf("%d members: shares add up to %d, want 6", members, sum)
		}
	}
}

package shard

import "hash/fnv"

// Assign returns the shard, in [0, shards), of the unit called name:
// the shard with the highest hash of (name, shard), rendezvous hashing.
// Going from N to N+1 shards moves only the units whose new best shard
// is N, about 1/(N+1) of them; the others stay where they were.
func Assign(name string, shards int) int {
	best, bestScore := 0, uint64(0)
	for k := range shards {
		if s := score(name, k); k == 0 || s > bestScore {
			best, bestScore = k, s
		}
	}
	return best
}

// score hashes name and shard k: FNV-1a then a 64-bit finalizer, which
// spreads the nearby inputs FNV leaves correlated.
func score(name string, k int) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	_, _ = h.Write([]byte{0, byte(k), byte(k >> 8), byte(k >> 16)})
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// FairShare returns how many of shards the member at rank (0-based, in the
// sorted list of members) should own: an equal share, the first
// shards%members members one more.
func FairShare(shards, members, rank int) int {
	if members <= 0 {
		return shards
	}
	n := shards / members
	if rank < shards%members {
		n++
	}
	return n
}

// Package shard spreads one stack's units over several replicas of
// `steward run --shards N` through the Kubernetes API.
//
// Units go to shards by rendezvous hashing of the unit name (Assign), so
// changing N moves only the units whose best shard changed. Each shard is
// owned by one replica through a coordination.k8s.io Lease named
// steward-shard-K; every replica also renews a member Lease
// (steward-member-IDENTITY) so that the others know how many replicas share
// the work. A replica takes free or expired shards up to its fair share
// and gives back the ones above it when a replica joins.
//
// Safety: a Lease is taken over only after it went unrenewed for its whole
// duration, measured on the taker's own clock from the moment it last saw
// the Lease change (as client-go's leaderelection does, so clock skew
// between nodes does not matter). The owner lets an apply start only while
// its last successful renewal is younger than the duration minus a margin
// (Manager.Hold), and cancels the applies it let start when that margin is
// reached without a renewal: it has stopped applying before any other
// replica may take the shard over.
//
// Dependencies across shards: each replica publishes the state and
// revision of the units it owns in a ConfigMap per unit
// (steward-unit-HASH, labelled steward.dev/unit-status) and watches the
// others', so a unit waits for a dependency that another replica applies
// (Manager.External). When a unit leaves the stack, the replica holding
// its shard deletes its record after the next pass.
package shard

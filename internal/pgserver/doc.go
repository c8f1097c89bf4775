// Package pgserver finds or runs the PostgreSQL that Waymark uses when no database URL is
// configured, so that `waymark demo`, `waymark serve` and the tests need no setup at all.
//
// The rule, in Ensure: a PostgreSQL that already answers on this machine (Local) is used as it is;
// otherwise a private cluster is created and started from the PostgreSQL binaries installed on
// the machine (FindBinaries, Start) and kept between runs.
//
// A private cluster listens on no TCP port at all, only on a unix socket in a directory that only
// the server's user may enter. That is why trusting every local-socket connection is safe: the
// only processes that can reach the socket already own the cluster's files (or are root).
//
// Files of a private cluster with data directory D:
//
//	D          the cluster (initdb), owned by the user the server runs as, mode 0700
//	D.log      the server log (pg_ctl -l)
//	D.lock     held exclusively while a process creates, starts or stops the cluster
//
// Every process using the cluster holds a shared lock on D itself; the last one to leave stops
// the server. A server left running by a process that died is adopted by the next one.
//
// PostgreSQL refuses to run as root. When Waymark runs as root the server runs as the owner of
// an existing cluster, else the `postgres` system user, else `nobody`. If that user cannot
// traverse the parent directories of D (for root's default data directory under /root it cannot),
// the cluster lives instead in /var/lib/waymark/postgres/<hash of D>: a persistent place that root
// owns and the server's user can reach, so /root is never opened up to other users and the data
// survives reboots, which a directory under /tmp would not.
package pgserver

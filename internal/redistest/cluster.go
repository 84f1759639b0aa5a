package redistest

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a local Redis Cluster of masters only, for proving that no
// operation mixes hash slots: a real cluster refuses that with CROSSSLOT,
// where a standalone server does not care.
type Cluster struct {
	Nodes []*Server
}

// StartCluster starts n (at least 3, redis-cli's minimum) cluster-enabled
// redis-servers, joins them with redis-cli --cluster create and no
// replicas, and waits until every node reports cluster_state:ok. The nodes
// stop when t ends. Missing binaries fail t in CI and skip it elsewhere.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if n < 3 {
		t.Fatalf("redistest: a cluster needs at least 3 masters, not %d", n)
	}
	bin := requireBinary(t, "redis-server")
	cli := requireBinary(t, "redis-cli")
	c := &Cluster{}
	t.Cleanup(c.stop)
	for range n {
		s, err := startNode(bin, true,
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000")
		if err != nil {
			t.Fatal(err)
		}
		c.Nodes = append(c.Nodes, s)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, s := range c.Nodes {
		if err := waitClusterOK(ctx, s.Addr); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// waitClusterOK waits until the node has every slot assigned and agrees on
// the configuration; before that, commands fail with CLUSTERDOWN.
func waitClusterOK(ctx context.Context, addr string) error {
	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()
	for {
		info, err := rc.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redistest: cluster node %s not ok: %v %s", addr, err, strings.TrimSpace(info))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Addrs are the masters' host:port addresses.
func (c *Cluster) Addrs() []string {
	out := make([]string, 0, len(c.Nodes))
	for _, s := range c.Nodes {
		out = append(out, s.Addr)
	}
	return out
}

// Client is a cluster client for t, closed when t ends.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	t.Helper()
	rc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), DialTimeout: 2 * time.Second})
	t.Cleanup(func() { _ = rc.Close() })
	return rc
}

func (c *Cluster) stop() {
	for _, s := range c.Nodes {
		s.Stop()
	}
}

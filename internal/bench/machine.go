package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// describeMachine says where the numbers came from, since they mean little without it: CPUs and
// architecture of this process, the CPU model where Linux tells it, and the PostgreSQL version the
// server reported when the connection opened (the database may run on another machine).
func describeMachine(ctx context.Context, pool *pgxpool.Pool) string {
	parts := []string{fmt.Sprintf("%d CPU %s/%s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)}
	if model := cpuModel(); model != "" {
		parts = append(parts, model)
	}
	version := "unknown"
	if conn, err := pool.Acquire(ctx); err == nil {
		if v := conn.Conn().PgConn().ParameterStatus("server_version"); v != "" {
			version = v
		}
		conn.Release()
	}
	parts = append(parts, "PostgreSQL "+version)
	return strings.Join(parts, ", ")
}

// cpuModel returns the first "model name" of /proc/cpuinfo, or "" where there is none.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

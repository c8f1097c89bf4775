package pii_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/waymark-org/waymark/internal/pii"
)

// memColumn is an encrypted column held in memory, with the semantics the SQL of a real column
// has: Stale filters on the header in id order, Reseal swaps only values that are unchanged.
type memColumn struct {
	mu   sync.Mutex
	rows map[int64][]byte
	// afterStale, when set, runs after each Stale, as a concurrent writer would.
	afterStale func(batch []pii.Sealed)
	stales     int
}

const memAAD = "mem.value_enc"

func newMemColumn(t *testing.T, ring *pii.Keyring, n int) *memColumn {
	t.Helper()
	c := &memColumn{rows: map[int64][]byte{}}
	for i := 1; i <= n; i++ {
		c.set(t, ring, int64(i*3), fmt.Sprintf("value %d", i*3))
	}
	return c
}

func (c *memColumn) set(t *testing.T, ring *pii.Keyring, id int64, plain string) {
	t.Helper()
	enc, err := ring.EncryptString(plain, memAAD)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.rows[id] = enc
	c.mu.Unlock()
}

func (c *memColumn) column() pii.Column {
	return pii.Column{Table: "mem", Name: "value_enc",
		Stale: func(ctx context.Context, header []byte, after int64, limit int) ([]pii.Sealed, error) {
			c.mu.Lock()
			c.stales++
			var out []pii.Sealed
			for _, id := range slices.Sorted(maps.Keys(c.rows)) {
				if id > after && !bytes.HasPrefix(c.rows[id], header) && len(out) < limit {
					out = append(out, pii.Sealed{ID: id, Value: bytes.Clone(c.rows[id]), AAD: memAAD})
				}
			}
			c.mu.Unlock()
			if c.afterStale != nil {
				c.afterStale(out)
			}
			return out, nil
		},
		Reseal: func(ctx context.Context, ids []int64, was, sealed [][]byte) (int64, error) {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			var n int64
			for i, id := range ids {
				if cur, ok := c.rows[id]; ok && bytes.Equal(cur, was[i]) {
					c.rows[id] = sealed[i]
					n++
				}
			}
			return n, nil
		}}
}

// keyIDs counts the column's values per key id.
func (c *memColumn) keyIDs(t *testing.T) map[string]int {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for _, v := range c.rows {
		id, err := pii.KeyIDOf(v)
		if err != nil {
			t.Fatal(err)
		}
		out[id]++
	}
	return out
}

// plains decrypts every value with ring.
func (c *memColumn) plains(t *testing.T, ring *pii.Keyring) map[int64]string {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[int64]string{}
	for id, v := range c.rows {
		p, err := ring.DecryptString(v, memAAD)
		if err != nil {
			t.Fatalf("row %d: %v", id, err)
		}
		out[id] = p
	}
	return out
}

func rings(t *testing.T) (old, rotated *pii.Keyring) {
	return mustRing(t, entry("k1", testKey("1"))), mustRing(t, entry("k1", testKey("1"))+","+entry("k2", testKey("2")))
}

func TestNewestHeader(t *testing.T) {
	t.Parallel()
	old, rotated := rings(t)
	if h := rotated.NewestHeader(); !bytes.Equal(h, []byte{1, 2, 'k', '2'}) {
		t.Fatalf("NewestHeader = %v, want version 1, length 2, k2", h)
	}
	for _, ring := range []*pii.Keyring{old, rotated} {
		ct, err := ring.EncryptString("x", "aad")
		if err != nil {
			t.Fatal(err)
		}
		// The header selects exactly what NeedsRotation reports, under either ring.
		for _, r := range []*pii.Keyring{old, rotated} {
			if bytes.HasPrefix(ct, r.NewestHeader()) == r.NeedsRotation(ct) {
				t.Errorf("ciphertext of %v under %v: header match and NeedsRotation agree", ring, r)
			}
		}
	}
	var empty *pii.Keyring
	if empty.NewestHeader() != nil {
		t.Error("a nil keyring has a header")
	}
}

func TestRotateColumnInBatches(t *testing.T) {
	t.Parallel()
	old, rotated := rings(t)
	col := newMemColumn(t, old, 10)
	col.set(t, rotated, 100, "already new")
	want := col.plains(t, rotated)

	rep, err := pii.RotateColumn(context.Background(), rotated, col.column(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if rep != (pii.ColumnRotation{Table: "mem", Column: "value_enc", Resealed: 10, Remaining: 0}) {
		t.Fatalf("report %+v", rep)
	}
	// Four batches (3, 3, 3 and 1 values), the empty answer that ends the walk, and the count.
	if col.stales != 4+1+1 {
		t.Errorf("%d Stale calls, want 6", col.stales)
	}
	if ids := col.keyIDs(t); ids["k2"] != 11 || len(ids) != 1 {
		t.Fatalf("key ids after rotation: %v", ids)
	}
	if got := col.plains(t, rotated); !maps.Equal(got, want) {
		t.Fatalf("values changed: %v, want %v", got, want)
	}
	again, err := pii.RotateColumn(context.Background(), rotated, col.column(), 3)
	if err != nil || again.Resealed != 0 || again.Remaining != 0 {
		t.Fatalf("second run: %+v %v", again, err)
	}
}

// TestRotateColumnKeepsConcurrentWrites rewrites values between the read and the write of a
// batch, as a running worker would: rotation must keep what the worker wrote, and count what the
// worker sealed with the old key.
func TestRotateColumnKeepsConcurrentWrites(t *testing.T) {
	t.Parallel()
	old, rotated := rings(t)
	col := newMemColumn(t, old, 6)
	first := true
	col.afterStale = func(batch []pii.Sealed) {
		if !first || len(batch) < 2 {
			return
		}
		first = false
		col.set(t, rotated, batch[0].ID, "written by an up-to-date worker")
		col.set(t, old, batch[1].ID, "written by a worker with the old key")
		col.mu.Lock()
		delete(col.rows, batch[2].ID)
		col.mu.Unlock()
	}
	rep, err := pii.RotateColumn(context.Background(), rotated, col.column(), 4)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Resealed != 3 || rep.Remaining != 1 {
		t.Fatalf("report %+v, want 3 resealed and 1 remaining", rep)
	}
	got := col.plains(t, rotated)
	if got[3] != "written by an up-to-date worker" || got[6] != "written by a worker with the old key" || len(got) != 5 {
		t.Fatalf("concurrent writes lost: %v", got)
	}
	again, err := pii.RotateColumn(context.Background(), rotated, col.column(), 4)
	if err != nil || again.Resealed != 1 || again.Remaining != 0 {
		t.Fatalf("second run: %+v %v", again, err)
	}
	if ids := col.keyIDs(t); ids["k2"] != 5 {
		t.Fatalf("key ids after the second run: %v", ids)
	}
}

// TestRotateColumnInterrupted stops a rotation after its first batch; running it again finishes
// the job, and every value reads the same under the new ring throughout.
func TestRotateColumnInterrupted(t *testing.T) {
	t.Parallel()
	old, rotated := rings(t)
	col := newMemColumn(t, old, 9)
	want := col.plains(t, old)
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	col.afterStale = func([]pii.Sealed) {
		if calls++; calls == 2 {
			cancel()
		}
	}
	_, err := pii.RotateColumn(ctx, rotated, col.column(), 3)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted rotation: %v", err)
	}
	if ids := col.keyIDs(t); ids["k1"] != 6 || ids["k2"] != 3 {
		t.Fatalf("after the interruption: %v, want one batch of 3 done", ids)
	}
	if got := col.plains(t, rotated); !maps.Equal(got, want) {
		t.Fatalf("mid-rotation read %v, want %v", got, want)
	}
	col.afterStale = nil
	rep, err := pii.RotateColumn(context.Background(), rotated, col.column(), 3)
	if err != nil || rep.Resealed != 6 || rep.Remaining != 0 {
		t.Fatalf("re-run: %+v %v", rep, err)
	}
	if got := col.plains(t, rotated); !maps.Equal(got, want) {
		t.Fatalf("after the re-run %v, want %v", got, want)
	}
}

func TestRotateColumnUnreadableValue(t *testing.T) {
	t.Parallel()
	old, rotated := rings(t)
	col := newMemColumn(t, old, 2)
	other := mustRing(t, entry("k9", testKey("9")))
	col.set(t, other, 4, "sealed with a key the ring lacks")
	_, err := pii.RotateColumn(context.Background(), rotated, col.column(), 10)
	if !errors.Is(err, pii.ErrUnknownKey) || !strings.Contains(err.Error(), "mem.value_enc") || !strings.Contains(err.Error(), "row 4") {
		t.Fatalf("error %v: want ErrUnknownKey naming the column and row", err)
	}
	if strings.Contains(err.Error(), "sealed with") || strings.Contains(err.Error(), "value 3") {
		t.Fatalf("the error shows plaintext: %v", err)
	}
	if _, err := pii.RotateColumn(context.Background(), nil, col.column(), 10); !errors.Is(err, pii.ErrNoKey) {
		t.Fatalf("no keyring: %v", err)
	}
}

// Parameter and row types of the shape sqlc generates for a column's rotation queries.
type (
	fakeStaleParams struct {
		AfterID int64
		Header  []byte
		MaxRows int32
	}
	fakeResealParams struct {
		Ids    []int64
		Was    [][]byte
		Sealed [][]byte
	}
	fakeRow struct {
		ID    int64
		Kind  string
		Value []byte
	}
)

// TestNewColumn checks that a column built from generated queries hands them the rotation's
// arguments and maps their rows.
func TestNewColumn(t *testing.T) {
	t.Parallel()
	var gotStale fakeStaleParams
	var gotReseal fakeResealParams
	col := pii.NewColumn("t", "c",
		func(_ context.Context, p fakeStaleParams) ([]fakeRow, error) {
			gotStale = p
			return []fakeRow{{ID: 7, Kind: "sms", Value: []byte("v")}}, nil
		},
		func(_ context.Context, p fakeResealParams) (int64, error) {
			gotReseal = p
			return 1, nil
		},
		func(r fakeRow) pii.Sealed { return pii.Sealed{ID: r.ID, Value: r.Value, AAD: "t.c:" + r.Kind} })
	if col.Table != "t" || col.Name != "c" {
		t.Fatalf("column %s.%s", col.Table, col.Name)
	}
	rows, err := col.Stale(context.Background(), []byte("h"), 3, 5)
	want := fakeStaleParams{AfterID: 3, Header: []byte("h"), MaxRows: 5}
	if err != nil || !reflect.DeepEqual(gotStale, want) {
		t.Fatalf("stale query got %+v (%v), want %+v", gotStale, err, want)
	}
	if !reflect.DeepEqual(rows, []pii.Sealed{{ID: 7, Value: []byte("v"), AAD: "t.c:sms"}}) {
		t.Fatalf("stale rows %+v", rows)
	}
	n, err := col.Reseal(context.Background(), []int64{7}, [][]byte{[]byte("v")}, [][]byte{[]byte("w")})
	wantReseal := fakeResealParams{Ids: []int64{7}, Was: [][]byte{[]byte("v")}, Sealed: [][]byte{[]byte("w")}}
	if err != nil || n != 1 || !reflect.DeepEqual(gotReseal, wantReseal) {
		t.Fatalf("reseal got %+v: %d %v", gotReseal, n, err)
	}
}

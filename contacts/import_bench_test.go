package contacts_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/waymark-org/waymark/contacts"
)

// BenchmarkImport100k imports 100,000 new contacts into a fresh database per iteration:
// go test -run '^$' -bench Import100k -benchtime 3x ./contacts/
func BenchmarkImport100k(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("phone,name,language,country,admin_area,tags,consent\n")
	for i := range 100_000 {
		fmt.Fprintf(&sb, "+2547%08d,Person %d,sw,KE,KE-30,bulk;nairobi,yes\n", 10_000_000+i, i)
	}
	data := sb.String()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		e := newBenchEnv(b)
		b.StartTimer()
		rep, err := e.store.Import(e.ctx, e.ws, strings.NewReader(data), contacts.ImportOptions{ConsentSource: "benchmark", Actor: actor})
		if err != nil || rep.Created != 100_000 {
			b.Fatalf("%+v %v", rep, err)
		}
	}
	b.ReportMetric(float64(100_000*b.N)/b.Elapsed().Seconds(), "rows/s")
}

package inventory

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/internal/store/pgtest"
)

// writeGenerated writes a CSV of n plausible devices.
func writeGenerated(b *testing.B, n int) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), "generated.csv")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "name,mac,ip,class,vendor,model,firmware,criticality,site,location,switch,port,ward")
	crit := []string{"life_critical", "high", "medium", "low"}
	for i := range n {
		fmt.Fprintf(w, "dev-%06d,02:00:%02x:%02x:%02x:%02x,10.%d.%d.%d,infusion_pump,BD,Alaris 8015,12.1.%d,%s,main,Ward %d,access-%d,Gi1/0/%d,W%d\n",
			i, (i>>24)&255, (i>>16)&255, (i>>8)&255, i&255, (i>>16)&255, (i>>8)&255, i&255, i%10, crit[i%4], i%40, i%50, i%48, i%40)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return p
}

func benchImport(b *testing.B, newURL func() string) {
	path := writeGenerated(b, 100_000)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		st, err := store.Open(ctx, newURL())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := ImportFile(ctx, st, path, "", ImportOptions{Actor: "bench"})
		if err != nil || res.Added != 100_000 {
			b.Fatalf("%+v %v", res, err)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
}

// BenchmarkImport100kSQLite: parse and import 100,000 generated devices into
// an empty SQLite database (one transaction, with its audit event).
func BenchmarkImport100kSQLite(b *testing.B) {
	dir := b.TempDir()
	i := 0
	benchImport(b, func() string { i++; return fmt.Sprintf("sqlite://%s/ward-%d.db", dir, i) })
}

// BenchmarkImport100kPostgres: the same into a fresh PostgreSQL database.
func BenchmarkImport100kPostgres(b *testing.B) {
	benchImport(b, func() string { return pgtest.URL(b) })
}

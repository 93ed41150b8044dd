package shellfile

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/localsession"
)

func TestWriteInChunks(t *testing.T) {
	tmp := t.TempDir()
	// Random bytes (they do not compress): many chunks' worth.
	var content bytes.Buffer
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		content.WriteByte(byte(rng.Uint32()))
	}
	s := &counting{Session: localsession.New(localsession.Options{})}
	ctx := t.Context()
	dir, file, err := Write(ctx, s, Options{TempDir: tmp, Prefix: "ward-t", Chunk: 200}, "blob.bin", content.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(dir, tmp+"/ward-t.") || file != dir+"/blob.bin" {
		t.Errorf("Write made %s, %s; want a directory ward-t.* in %s", dir, file, tmp)
	}
	got, err := os.ReadFile(file)
	if err != nil || !bytes.Equal(got, content.Bytes()) {
		t.Errorf("the file holds %d bytes (err %v), want the %d written", len(got), err, content.Len())
	}
	if s.n < 10 || s.longest > 200 {
		t.Errorf("Write sent %d chunks, the longest %d characters; want many, none over 200", s.n, s.longest)
	}
	Remove(ctx, s, dir)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("after Remove, stat %s: %v", dir, err)
	}
}

func TestWriteDetectsDamage(t *testing.T) {
	tmp := t.TempDir()
	s := &corrupting{Session: localsession.New(localsession.Options{})}
	dir, _, err := Write(t.Context(), s, Options{TempDir: tmp, Prefix: "ward-t"}, "x.txt", []byte(strings.Repeat("table inet ward {}\n", 500)))
	defer Remove(t.Context(), s, dir)
	// gzip's own CRC or the SHA-256 check catches it; either way, no file.
	if err == nil {
		t.Error("Write through a session that garbles a chunk succeeded, want an error")
	}
}

func TestWriteRefusesUnsafeNames(t *testing.T) {
	s := localsession.New(localsession.Options{})
	for _, o := range []struct {
		opts Options
		name string
	}{
		{Options{Prefix: "a b"}, "f"},
		{Options{Prefix: "ok"}, "f;rm"},
		{Options{Prefix: "ok", TempDir: "/tmp/$(x)"}, "f"},
	} {
		if _, _, err := Write(t.Context(), s, o.opts, o.name, []byte("x")); err == nil {
			t.Errorf("Write(%+v, %q) succeeded, want a refusal", o.opts, o.name)
		}
	}
}

// counting measures the chunks (the commands carrying data).
type counting struct {
	drivers.Session
	n, longest int
}

func (c *counting) Run(ctx context.Context, cmd string) (string, error) {
	if strings.HasPrefix(cmd, "printf") {
		c.n++
		c.longest = max(c.longest, len(cmd))
	}
	return c.Session.Run(ctx, cmd)
}

// corrupting drops one character from the first chunk it sends.
type corrupting struct {
	drivers.Session
	done bool
}

func (c *corrupting) Run(ctx context.Context, cmd string) (string, error) {
	if !c.done && strings.HasPrefix(cmd, "printf") {
		c.done = true
		cmd = strings.Replace(cmd, "'%s' 'H4sI", "'%s' 'H4sJ", 1)
	}
	return c.Session.Run(ctx, cmd)
}

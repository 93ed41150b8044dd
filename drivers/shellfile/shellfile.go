// Package shellfile copies a file to a target reached through a POSIX shell
// session (Linux firewalls, Open vSwitch hosts), for commands too long for
// one line: an interactive terminal line holds 4096 characters, so a large
// nft script or ovs-vsctl transaction is written to a file in pieces and
// run from there.
//
// Write gzips the content, appends it base64-encoded in chunks to a file in
// a new private directory (mktemp -d), decodes it on the device and checks
// its SHA-256 before returning. Remove deletes the directory.
package shellfile

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/wardnet/ward/drivers"
)

// DefaultChunk is the longest command line Write sends by default: under
// the 4096 characters an interactive terminal line holds.
const DefaultChunk = 3000

// Options say where and how to write.
type Options struct {
	// TempDir is the directory the private directory is made in; "" means /tmp.
	TempDir string
	// Prefix names the private directory (PREFIX.XXXXXXXX); it must be
	// letters, digits, '-' and '_'.
	Prefix string
	// Chunk is the longest command line sent; 0 means DefaultChunk.
	Chunk int
}

var (
	prefixOK = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	// mktempOut is what mktemp -d may print: Write puts the path in commands.
	mktempOut = regexp.MustCompile(`^/[A-Za-z0-9/._-]+$`)
	nameOK    = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
)

// Write copies content to a file called name in a new private directory on
// the device and returns both paths. When dir is not "" the caller must
// Remove it, even if err is not nil.
func Write(ctx context.Context, s drivers.Session, o Options, name string, content []byte) (dir, file string, err error) {
	tempDir := strings.TrimSuffix(o.TempDir, "/")
	if tempDir == "" {
		tempDir = "/tmp"
	}
	if !prefixOK.MatchString(o.Prefix) || !nameOK.MatchString(name) || !mktempOut.MatchString(tempDir) {
		return "", "", fmt.Errorf("shellfile: directory %q, prefix %q or file name %q has characters that would need quoting", tempDir, o.Prefix, name)
	}
	chunk := o.Chunk
	if chunk <= 0 {
		chunk = DefaultChunk
	}
	out, err := s.Run(ctx, "mktemp -d "+tempDir+"/"+o.Prefix+".XXXXXXXX")
	if err != nil {
		return "", "", err
	}
	dir = strings.TrimSpace(out)
	if !mktempOut.MatchString(dir) || !strings.HasPrefix(dir, tempDir+"/"+o.Prefix+".") {
		return "", "", fmt.Errorf("mktemp -d printed %q, not a directory under %s", out, tempDir)
	}
	file, b64 := dir+"/"+name, dir+"/"+name+".gz.b64"

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(content)
	zw.Close()
	enc := base64.StdEncoding.EncodeToString(gz.Bytes())

	head, tail := "printf '%s' '", "' >> "+b64
	n := max(chunk-len(head)-len(tail), 64)
	for i := 0; i < len(enc); i += n {
		if _, err := s.Run(ctx, head+enc[i:min(i+n, len(enc))]+tail); err != nil {
			return dir, "", err
		}
	}
	out, err = s.Run(ctx, "base64 -d "+b64+" | gzip -dc > "+file+" && sha256sum "+file)
	if err != nil {
		return dir, "", err
	}
	sum := sha256.Sum256(content)
	if f := strings.Fields(out); len(f) == 0 || f[0] != hex.EncodeToString(sum[:]) {
		return dir, "", fmt.Errorf("the copy of %s on the device is damaged (sha256sum printed %q)", name, strings.TrimSpace(out))
	}
	return dir, file, nil
}

// Remove deletes a directory Write made. It runs even when ctx is already
// cancelled (for up to 30 seconds), and its failure is not worth failing
// the operation that used the file, so it returns nothing.
func Remove(ctx context.Context, s drivers.Session, dir string) {
	if dir == "" || !mktempOut.MatchString(dir) {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	s.Run(cctx, "rm -rf -- "+dir)
}

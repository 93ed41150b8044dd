package sshsession

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

var errGotKey = errors.New("host key received")

// FetchHostKey connects to address:port far enough to receive the server's
// host key, and returns it. It authenticates nothing and sends nothing.
func FetchHostKey(ctx context.Context, address string, port int, timeout time.Duration) (ssh.PublicKey, error) {
	addr := net.JoinHostPort(address, strconv.Itoa(port))
	var got ssh.PublicKey
	cfg := &ssh.ClientConfig{
		User:    "ward",
		Timeout: timeout,
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			got = key
			return errGotKey
		},
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	_, _, _, err = ssh.NewClientConn(conn, addr, cfg)
	if got == nil {
		return nil, fmt.Errorf("no SSH host key from %s: %v", addr, err)
	}
	return got, nil
}

// KnownKeys returns the keys known_hosts holds for address:port.
func KnownKeys(path, address string, port int) ([]ssh.PublicKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	host := knownhosts.Normalize(net.JoinHostPort(address, strconv.Itoa(port)))
	var keys []ssh.PublicKey
	for _, line := range strings.Split(string(b), "\n") {
		if lineHost(line) == host {
			if _, _, key, _, _, err := ssh.ParseKnownHosts([]byte(line)); err == nil {
				keys = append(keys, key)
			}
		}
	}
	return keys, nil
}

// Trust records key as the only host key of address:port in known_hosts,
// replacing lines for that address, and returns how many it replaced.
func Trust(path, address string, port int, key ssh.PublicKey) (int, error) {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, err
	}
	host := knownhosts.Normalize(net.JoinHostPort(address, strconv.Itoa(port)))
	var out bytes.Buffer
	replaced := 0
	sc := bufio.NewScanner(bytes.NewReader(old))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if lineHost(sc.Text()) == host {
			replaced++
			continue
		}
		out.WriteString(sc.Text() + "\n")
	}
	out.WriteString(knownhosts.Line([]string{host}, key) + "\n")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, out.Bytes(), 0o644); err != nil {
		return 0, err
	}
	return replaced, os.Rename(tmp, path)
}

// lineHost returns the single, unhashed host pattern of a known_hosts
// line, or "" for anything else (comments, markers, hashed or multi-host
// lines, which Trust leaves alone).
func lineHost(line string) string {
	f := strings.Fields(line)
	if len(f) < 3 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], "@") || strings.Contains(f[0], ",") || strings.HasPrefix(f[0], "|") {
		return ""
	}
	return f[0]
}

package intent

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// MaxSetName is the longest set name Compile produces: nftables and the
// switch operating systems all take 63 characters.
const MaxSetName = 63

// Set name prefixes, by kind of address set.
const (
	ZoneSetPrefix    = "zone_"
	NetworkSetPrefix = "net_"
)

// SetNames maps each of names to a set name that every driver accepts:
// prefix, then the name with every character outside [A-Za-z0-9_]
// replaced by "_", at most MaxSetName characters. A name that is already
// such an identifier keeps it. A name that had to be changed, and then
// collides with another name's or is too long, is cut and suffixed with a
// short hash of the original name, so its set name does not depend on the
// order of names. Policy names are HCL identifiers, which may hold dashes
// and non-ASCII letters; prefix must be a valid identifier itself.
func SetNames(prefix string, names []string) map[string]string {
	out := make(map[string]string, len(names))
	plain := map[string]string{} // sanitised -> name, for names unchanged by it
	byClean := map[string]int{}  // sanitised -> how many names map to it
	clean := make([]string, len(names))
	for i, n := range names {
		clean[i] = prefix + sanitize(n)
		byClean[clean[i]]++
		if clean[i] == prefix+n {
			plain[clean[i]] = n
		}
	}
	taken := map[string]bool{}
	for i, n := range names {
		c := clean[i]
		if len(c) <= MaxSetName && (plain[c] == n || (byClean[c] == 1 && plain[c] == "")) {
			out[n] = c
			taken[c] = true
		}
	}
	for i, n := range names {
		if _, ok := out[n]; ok {
			continue
		}
		// Hashed names cannot realistically collide; a longer hash settles
		// it if they ever do.
		for _, hexLen := range []int{8, 16, 32} {
			h := hashName(n, hexLen)
			c := clean[i]
			if keep := MaxSetName - len(h) - 1; len(c) > keep {
				c = c[:keep]
			}
			c += "_" + h
			if !taken[c] || hexLen == 32 {
				out[n] = c
				taken[c] = true
				break
			}
		}
	}
	return out
}

func sanitize(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			return r
		}
		return '_'
	}, name)
}

func hashName(name string, hexLen int) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])[:hexLen]
}

package plan

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wardnet/ward/internal/credentials"
)

func testSigner(t *testing.T) *Signer {
	t.Helper()
	seed := make([]byte, 32)
	if _, err := rand.Read(seed); err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(seed)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// reenvelope rewrites a signed plan's envelope through edit, keeping the
// plan bytes unless edit changes them.
func reenvelope(t *testing.T, signed []byte, edit func(env map[string]any)) []byte {
	t.Helper()
	var env map[string]any
	if err := json.Unmarshal(signed, &env); err != nil {
		t.Fatal(err)
	}
	edit(env)
	b, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSignedPlanRoundTrip(t *testing.T) {
	s := testSigner(t)
	p := &Plan{FormatVersion: FormatVersion, Policy: PolicyRef{Hash: "abc"}, Targets: []TargetPlan{{Name: "fw", Driver: "linux_nftables", Config: "table inet ward {}\n<&>", Changed: true}}}
	b, err := s.Sign(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Open(b)
	if err != nil {
		t.Fatalf("a plan as signed does not open: %v", err)
	}
	if got.Targets[0].Config != p.Targets[0].Config || got.Policy.Hash != "abc" {
		t.Errorf("opened plan differs: %+v", got)
	}
	// Re-indenting the file (an editor, jq .) changes no signed byte.
	var compact bytes.Buffer
	if err := json.Compact(&compact, b); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(compact.Bytes()); err != nil {
		t.Errorf("a compacted copy is refused: %v", err)
	}
}

func TestOpenRefusesUnsignedAndTampered(t *testing.T) {
	s := testSigner(t)
	other := testSigner(t)
	p := &Plan{FormatVersion: FormatVersion, Blocked: true, Reasons: []string{"1 guardrail denial(s)"},
		Targets: []TargetPlan{{Name: "fw", Driver: "linux_nftables", Config: "flush ruleset\n", Changed: true}}}
	signed, err := s.Sign(p)
	if err != nil {
		t.Fatal(err)
	}
	bare, _ := json.Marshal(p)
	byOther, err := other.Sign(p)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"bare plan JSON, never signed": bare,
		"not JSON":                     []byte("flush ruleset"),
		"signature removed":            reenvelope(t, signed, func(env map[string]any) { delete(env, "signature") }),
		"signature emptied":            reenvelope(t, signed, func(env map[string]any) { env["signature"] = "" }),
		"signature altered": reenvelope(t, signed, func(env map[string]any) {
			sig, _ := base64.StdEncoding.DecodeString(env["signature"].(string))
			sig[0] ^= 1
			env["signature"] = base64.StdEncoding.EncodeToString(sig)
		}),
		"blocked flipped": reenvelope(t, signed, func(env map[string]any) { env["plan"].(map[string]any)["blocked"] = false }),
		"config edited": reenvelope(t, signed, func(env map[string]any) {
			env["plan"].(map[string]any)["targets"].([]any)[0].(map[string]any)["config"] = "flush ruleset\naccept\n"
		}),
		"another key":             byOther,
		"another key, our key id": reenvelope(t, byOther, func(env map[string]any) { env["key_id"] = s.KeyID() }),
		"unknown envelope format": reenvelope(t, signed, func(env map[string]any) { env["ward_signed_plan"] = "2" }),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := s.Open(b)
			if err == nil {
				t.Fatalf("opened: %+v", got)
			}
			if !IsSignatureError(err) || !strings.Contains(err.Error(), "make a new plan") {
				t.Errorf("error %q: want a *SignatureError saying to make a new plan", err)
			}
		})
	}
}

func TestLoadSignerCreatesOneKey(t *testing.T) {
	src := credentials.Source{Dir: filepath.Join(t.TempDir(), "credentials")}
	// Processes starting at once agree on one key: here goroutines, each
	// racing to create it.
	const n = 8
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := LoadSigner(src)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = s.KeyID()
		}()
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Fatalf("racing loaders got different keys: %v", ids)
		}
	}
	info, err := os.Stat(filepath.Join(src.Dir, SigningKeyName))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %04o, want 0600", perm)
	}
	// A plan signed by one load opens with the next (the key persists).
	a, _ := LoadSigner(src)
	b, err := a.Sign(&Plan{FormatVersion: FormatVersion})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (must(LoadSigner(src))).Open(b); err != nil {
		t.Errorf("a second load cannot open the first's plan: %v", err)
	}
	// A key others can read is refused rather than used.
	if err := os.Chmod(filepath.Join(src.Dir, SigningKeyName), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSigner(src); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a world-readable key was accepted (err %v)", err)
	}
	// A policy cannot name the key as a target's credential, which would
	// send it to a host of the author's choosing as an SSH password.
	if err := os.Chmod(filepath.Join(src.Dir, SigningKeyName), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := src.Load(SigningKeyName); err == nil {
		t.Errorf("the plan-signing key loads as a target credential: %+v", c)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

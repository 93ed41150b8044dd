package plan

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// FuzzOpenSignedPlan: whatever bytes a plan file holds, Open either returns
// the plan that was signed or a *SignatureError — never a panic, never a
// plan that differs from what the key signed.
func FuzzOpenSignedPlan(f *testing.F) {
	seed := bytes.Repeat([]byte{7}, 32)
	s, err := NewSigner(seed)
	if err != nil {
		f.Fatal(err)
	}
	signed, err := s.Sign(&Plan{FormatVersion: FormatVersion, CreatedAt: time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), Warnings: []string{}, Reasons: []string{}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"ward_signed_plan":"1","key_id":"x","signature":"AAAA","plan":{}}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := s.Open(b)
		if err != nil {
			var se *SignatureError
			if !errors.As(err, &se) {
				t.Fatalf("Open returned %T %v, want a *SignatureError", err, err)
			}
			return
		}
		// Accepted: it must be the plan the key signed, in whatever layout.
		again, err := s.Sign(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(again); err != nil {
			t.Fatalf("a plan Open accepted does not sign and open again: %v", err)
		}
		if p.FormatVersion != FormatVersion {
			t.Fatalf("accepted plan format %q", p.FormatVersion)
		}
	})
}

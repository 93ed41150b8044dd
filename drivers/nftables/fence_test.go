package nftables

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/drivertest"
)

func TestFencingConformance(t *testing.T) {
	s := realNft(t)
	d := New(Options{TempDir: t.TempDir()})
	first, err := d.Render(hospital())
	if err != nil {
		t.Fatal(err)
	}
	second, err := d.Render(permissive())
	if err != nil {
		t.Fatal(err)
	}
	drivertest.TestFencing(t, d, s, drivertest.FenceCase{First: first, Second: second, QuarantineAddr: "10.61.210.12", Set: "quarantine_isolate"})
}

// TestFenceMovedDuringPush moves the host's token past the push's after
// the driver read it and before nft commits, the way a holder that took the
// target over meanwhile would: the compare-and-set fails, the push is
// refused with ErrFenced, and nft's own listing shows nothing changed.
// Without a token, no fence table is made.
func TestFenceMovedDuringPush(t *testing.T) {
	s := realNft(t)
	d := New(Options{TempDir: t.TempDir()})
	ctx := t.Context()
	cfg, err := d.Render(hospital())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(ctx, s, cfg); err != nil {
		t.Fatal(err)
	}
	if out, err := s.Run(ctx, "nft list tables"); err != nil || strings.Contains(out, "ward_fence") {
		t.Fatalf("an apply without a fencing token made the fence table: %q %v", out, err)
	}
	other, err := d.Render(permissive())
	if err != nil {
		t.Fatal(err)
	}
	at := func(token int64) context.Context { return drivers.WithFence(ctx, "core-fw", token) }
	cases := []struct {
		name   string
		prefix string // the command before which the other holder acts
	}{
		{"apply-before-check", "nft -c -f"},
		{"apply-before-commit", "nft -f"},
		{"add-to-set", "nft '"},
	}
	token := int64(1)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := d.Apply(at(token), s, cfg); err != nil {
				t.Fatal(err)
			}
			before, err := s.Run(ctx, "nft list table inet ward")
			if err != nil {
				t.Fatal(err)
			}
			mine, theirs := token+1, token+2
			token += 2
			hs := &hookSession{Session: s, prefix: tc.prefix, before: func() {
				if _, err := s.Run(ctx, "nft 'flush set inet ward_fence epoch; add element inet ward_fence epoch { "+itoa(theirs)+" }'"); err != nil {
					t.Error(err)
				}
			}}
			d := New(Options{TempDir: t.TempDir()})
			var push func(context.Context) error
			switch tc.prefix {
			case "nft '":
				push = func(ctx context.Context) error {
					return d.(drivers.SetUpdater).AddToSet(ctx, hs, "quarantine_isolate", []string{"10.61.210.12"})
				}
			default:
				push = func(ctx context.Context) error { return d.Apply(ctx, hs, other) }
			}
			err = push(at(mine))
			var fe *drivers.FencedError
			if !errors.As(err, &fe) || fe.Mine != mine || fe.Seen != theirs {
				t.Fatalf("push with token %d after the host saw %d: %v, want a FencedError naming both", mine, theirs, err)
			}
			after, err := s.Run(ctx, "nft list table inet ward")
			if err != nil {
				t.Fatal(err)
			}
			if after != before {
				t.Fatalf("the refused push changed the table:\n%s", drivertest.Diff(before, after))
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

package localsession_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/localsession"
)

func TestRun(t *testing.T) {
	s := localsession.New(localsession.Options{})
	ctx := context.Background()

	out, err := s.Run(ctx, `printf '%s\n' "one two"; echo err >&2`)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if out != "one two\nerr\n" {
		t.Errorf("Run output = %q, want stdout and stderr together", out)
	}

	_, err = s.Run(ctx, "echo broken; exit 3")
	var exit *drivers.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("Run of a failing command: err = %v, want *drivers.ExitError", err)
	}
	if exit.Status != 3 || exit.Output != "broken\n" || exit.Command != "echo broken; exit 3" {
		t.Errorf("ExitError = %+v, want status 3 with the command and its output", exit)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Run(cancelled, "true"); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a cancelled context: err = %v, want context.Canceled", err)
	}

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Run(ctx, "true"); err == nil {
		t.Error("Run after Close succeeded, want an error")
	}
}

func ExampleSession_Run() {
	s := localsession.New(localsession.Options{})
	defer s.Close()
	out, err := s.Run(context.Background(), "echo hello from $0")
	fmt.Print(out, err)
	// Output: hello from bash
	// <nil>
}

package jobs_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wardnet/ward/internal/jobs"
	"github.com/wardnet/ward/internal/store"
)

func ExampleOwner_Do() {
	dir, _ := os.MkdirTemp("", "ward-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "ward.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()

	owner := jobs.NewOwner(st, jobs.OwnerOptions{Holder: "example"})
	err = owner.Do(ctx, "core-fw", "apply", func(ctx context.Context) error {
		// Device I/O to core-fw goes here; ctx ends if ownership is lost.
		fmt.Println("core-fw is ours")
		return nil
	})
	fmt.Println(err)
	// Output:
	// core-fw is ours
	// <nil>
}

func ExampleQueue_Drain() {
	dir, _ := os.MkdirTemp("", "ward-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "ward.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()

	q := jobs.NewQueue(st, jobs.NewOwner(st, jobs.OwnerOptions{}), jobs.QueueOptions{})
	q.Handle("quarantine.enforce", func(ctx context.Context, j store.Job) error {
		fmt.Printf("enforce %s on %s\n", j.Payload, j.Target)
		return nil
	})
	// In Ward the decision's own transaction enqueues the job.
	_ = st.EnqueueJobs(ctx,
		store.Job{Kind: "quarantine.enforce", Target: "core-fw", Payload: "quarantine 7", Key: "quarantine:7"},
		store.Job{Kind: "quarantine.enforce", Target: "core-fw", Payload: "quarantine 7", Key: "quarantine:7"}, // already queued: no-op
	)
	fmt.Println(q.Drain(ctx))
	// Output:
	// enforce quarantine 7 on core-fw
	// <nil>
}

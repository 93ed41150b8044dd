package plan

import "context"

// Owner serialises all device I/O to one target across every Ward process
// sharing the store: Do runs fn while this process owns the target, and
// fn's context ends if the ownership is lost. internal/jobs.Owner is the
// implementation; the interface lives here, with the code that needs it.
type Owner interface {
	Do(ctx context.Context, target, purpose string, fn func(ctx context.Context) error) error
}

// direct runs fn at once. It stands in for an Owner where the caller
// passed none: tests, and code paths that hold the target already.
type direct struct{}

func (direct) Do(ctx context.Context, _, _ string, fn func(ctx context.Context) error) error {
	return fn(ctx)
}

func ownerOrDirect(o Owner) Owner {
	if o == nil {
		return direct{}
	}
	return o
}

// Approval is a person's approval of a plan that loses an essential flow.
type Approval struct {
	// Actor is who applied the plan; Reason why a person judged the
	// change safe for patients.
	Actor  string `json:"actor"`
	Reason string `json:"reason"`
}

package web

import (
	"context"

	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/inventory"
)

// evaluation is the policy in force evaluated against the stored
// inventory: the policy holder's one evaluation, which the API reads too
// (inforce.Holder.Evaluate). The UI reads its result and devices only,
// never its engine.
type evaluation struct {
	pol     *inforce.Policy
	res     *engine.Result
	devices []inventory.Device
}

// errNoPolicy: Ward was started without a policy.
var errNoPolicy = inforce.ErrNoPolicy

func (h *Handler) evaluate(ctx context.Context) (*evaluation, error) {
	if h.cfg.Policy == nil {
		return nil, errNoPolicy
	}
	ev, err := h.cfg.Policy.Evaluate(ctx, h.cfg.Store)
	if err != nil {
		return nil, err
	}
	return &evaluation{pol: ev.Policy, res: ev.Result, devices: ev.Devices}, nil
}

package web

import (
	"context"
	"errors"
	"sync"

	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/inventory"
)

// evaluation is the policy in force evaluated against the stored
// inventory by the engine, as the API's views use it.
type evaluation struct {
	pol     *inforce.Policy
	res     *engine.Result
	devices []inventory.Device
}

// viewCache keeps the last evaluation, made again when the policy in
// force or the inventory changed.
type viewCache struct {
	mu  sync.Mutex
	key string
	ev  *evaluation
}

// errNoPolicy: Ward was started without a policy.
var errNoPolicy = errors.New("Ward was started without a policy")

func (h *Handler) evaluate(ctx context.Context) (*evaluation, error) {
	if h.cfg.Policy == nil || h.cfg.Policy.Load() == nil {
		return nil, errNoPolicy
	}
	p := h.cfg.Policy.Load()
	version, err := h.cfg.Store.InventoryVersion(ctx)
	if err != nil {
		return nil, err
	}
	key := p.Hash + "|" + version
	h.view.mu.Lock()
	defer h.view.mu.Unlock()
	if h.view.ev != nil && h.view.key == key {
		return h.view.ev, nil
	}
	devices, err := inventory.Active(ctx, h.cfg.Store)
	if err != nil {
		return nil, err
	}
	eng, diags := engine.New(ctx, p.Config, devices)
	if diags.HasErrors() {
		return nil, errors.New(diags.Error())
	}
	res, err := eng.Evaluate(ctx)
	if err != nil {
		return nil, err
	}
	h.view.key, h.view.ev = key, &evaluation{pol: p, res: res, devices: devices}
	return h.view.ev, nil
}

package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/policy"
	builtin "github.com/wardnet/ward/policy/rego"
	"golang.org/x/sync/errgroup"
)

// Engine evaluates a policy against an inventory with OPA. It compiles the
// Rego once and prepares its queries once; the inventory lives in the OPA
// store keyed by device name, and UpdateDevice re-evaluates one device
// without touching the others. An Engine is not safe for concurrent use.
type Engine struct {
	cfg   *policy.Config
	doc   *policy.Document
	input ast.Object // the policy document plus now_ns, as parsed input
	store storage.Store
	now   func() time.Time

	effective, one, guard rego.PreparedEvalQuery

	// signature lists the device fields some zone's match tests; nil when
	// an operator's ward.placement module may read anything, so every
	// device must be placed on its own.
	signature []string

	// timeout bounds Evaluate; 0 is EvaluateTimeout of the device count.
	timeout time.Duration

	devices map[string]inventory.Device // by name
	state   *Result
	reach   *reachIndex // built by the first Reach after Evaluate
}

// Option configures New.
type Option func(*Engine)

// WithClock sets the clock that decides which flows have expired.
func WithClock(now func() time.Time) Option { return func(e *Engine) { e.now = now } }

// WithTimeout sets the deadline of Evaluate (default EvaluateTimeout).
func WithTimeout(d time.Duration) Option { return func(e *Engine) { e.timeout = d } }

// Finding is a guardrail result.
type Finding struct {
	Rule    string `json:"rule,omitempty"` // built-in rule name; empty for operator rules that return text
	Flow    string `json:"flow,omitempty"`
	Message string `json:"message"`
	Reason  string `json:"reason,omitempty"` // for a waiver: why the risk was accepted
	Builtin bool   `json:"builtin"`
}

// Result is a full evaluation.
type Result struct {
	// Zone maps device name to zone; Conflicts and Unplaced are devices
	// with no zone.
	Zone      map[string]string
	Conflicts map[string][]string
	Unplaced  []string
	// Addresses maps a zone to its address set: device IPs and subnets.
	Addresses map[string]map[string]struct{}
	// Flows in force, by name; Expired names flows dropped for age.
	Flows   map[string]policy.DocFlow
	Expired []string
	// Matrix maps source to destination (zone names, or network:NAME) to
	// the services allowed.
	Matrix map[string]map[string][]string
	Deny   []Finding
	Warn   []Finding
	Waived []Finding
}

const effectiveQuery = `flows := data.ward.effective.flows
expired := data.ward.effective.expired_flows
matrix := data.ward.effective.matrix`

const oneQuery = `zone := [z | z := data.ward.placement.zone[input.device_id]]
conflicts := [c | c := data.ward.placement.conflicts[input.device_id]]`

const guardQuery = `builtin := data.ward.builtin_guardrails.deny
waivers := data.ward.builtin_guardrails.waivers
operator_deny := [m | some m in data.ward.guardrails.deny]
operator_warn := [m | some m in data.ward.guardrails.warn]`

// New compiles the built-in and the policy's own Rego, loads the devices
// into the store, and prepares the queries. Rego errors come back as
// diagnostics with file and line, like HCL ones.
func New(ctx context.Context, cfg *policy.Config, devices []inventory.Device, opts ...Option) (*Engine, hcl.Diagnostics) {
	e := &Engine{cfg: cfg, doc: cfg.Document(), now: time.Now, devices: make(map[string]inventory.Device, len(devices))}
	for _, o := range opts {
		o(e)
	}
	compiler, customPlacement, diags := compileModules(cfg)
	if diags.HasErrors() {
		return nil, diags
	}
	if !customPlacement {
		e.signature = matchSignature(cfg)
	}

	devs := map[string]any{}
	for _, d := range devices {
		e.devices[d.Name] = d
		devs[d.Name] = deviceDoc(d)
	}
	data := map[string]any{"ward": map[string]any{"devices": devs, "index": zoneIndex(cfg)}}
	// Go values rather than AST values: OPA's AST store re-hashes the whole
	// devices object on every write (15 ms at 100,000 devices), while the
	// Go-value store inserts in constant time and converts only what a query
	// reads, which for placement is one device at a time.
	e.store = inmem.NewFromObjectWithOpts(data, inmem.OptRoundTripOnWrite(false))

	prepare := func(q string) (rego.PreparedEvalQuery, error) {
		opts := append(RegoOptions(), rego.Query(q), rego.Compiler(compiler), rego.Store(e.store))
		return rego.New(opts...).PrepareForEval(ctx)
	}
	var err error
	for _, q := range []struct {
		pq  *rego.PreparedEvalQuery
		src string
	}{{&e.effective, effectiveQuery}, {&e.one, oneQuery}, {&e.guard, guardQuery}} {
		if *q.pq, err = prepare(q.src); err != nil {
			break
		}
	}
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot prepare the policy's Rego", Detail: err.Error()}}
	}
	input, err := ast.InterfaceToValue(e.docWithNow())
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot build the Rego input", Detail: err.Error()}}
	}
	e.input = input.(ast.Object)
	return e, nil
}

// compileModules parses the built-in and the policy's Rego and compiles
// them together under the sandbox. customPlacement reports an operator
// ward.placement module.
func compileModules(cfg *policy.Config) (compiler *ast.Compiler, customPlacement bool, diags hcl.Diagnostics) {
	modules := map[string]*ast.Module{}
	for name, src := range builtin.Modules() {
		m, err := ast.ParseModuleWithOpts(name, src, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, false, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Built-in Rego does not parse", Detail: err.Error()}}
		}
		modules[name] = m
	}
	for _, rm := range cfg.Modules {
		m, err := ast.ParseModuleWithOpts(rm.Filename, string(rm.Source), ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			diags = append(diags, policy.RegoDiagnostics(rm, err)...)
			continue
		}
		modules[rm.Filename] = m
		customPlacement = customPlacement || m.Package.Path.String() == "data.ward.placement"
	}
	if diags.HasErrors() {
		return nil, false, diags
	}
	compiler = NewCompiler()
	compiler.Compile(modules)
	if compiler.Failed() {
		return nil, false, CompileDiagnostics(cfg, compiler.Errors)
	}
	return compiler, customPlacement, nil
}

// docWithNow is the policy document as JSON-shaped Go values, plus now_ns.
func (e *Engine) docWithNow() map[string]any {
	b, _ := json.Marshal(e.doc)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	m["now_ns"] = e.now().UnixNano()
	return m
}

// deviceDoc is a device as Rego sees it: every field present, as strings.
func deviceDoc(d inventory.Device) map[string]any {
	labels := map[string]any{}
	for k, v := range d.Labels {
		labels[k] = v
	}
	ip := ""
	if d.IP.IsValid() {
		ip = d.IP.String()
	}
	return map[string]any{
		"name": d.Name, "mac": d.MAC, "ip": ip, "class": d.Class, "vendor": d.Vendor, "model": d.Model,
		"firmware": d.Firmware, "criticality": d.Criticality, "site": d.Site, "location": d.Location,
		"switch": d.Switch, "port": d.Port, "labels": labels,
	}
}

// zoneIndex lets placement try only the zones that can match a device: a
// zone whose class patterns are all literal is tried only for those classes.
func zoneIndex(cfg *policy.Config) map[string]any {
	byClass := map[string][]any{}
	unindexed := []any{}
	for _, name := range cfg.ZoneNames() {
		z := cfg.Zones[name]
		if z.Match == nil {
			continue
		}
		classes, ok := z.Match.Fields["class"]
		literal := ok
		for _, c := range classes {
			literal = literal && !strings.ContainsAny(c, `*?[]{}\`)
		}
		if !literal {
			unindexed = append(unindexed, name)
			continue
		}
		for _, c := range classes {
			byClass[c] = append(byClass[c], name)
		}
	}
	bc := map[string]any{}
	for c, zs := range byClass {
		bc[c] = zs
	}
	return map[string]any{"by_class": bc, "unindexed": unindexed}
}

// Evaluate places every device, computes the effective policy and runs the
// guardrails, within the engine's deadline; past it, the error is a
// *TimeoutError naming the step that ran out of time.
func (e *Engine) Evaluate(ctx context.Context) (*Result, error) {
	limit := cmp.Or(e.timeout, EvaluateTimeout(len(e.devices)))
	tctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	step := "placing the devices (package ward.placement)"
	res, err := e.evaluate(tctx, &step)
	if err != nil && ctx.Err() == nil && tctx.Err() != nil {
		return nil, &TimeoutError{Step: step, Limit: limit, Err: err}
	}
	return res, err
}

// TimeoutError is an evaluation stopped at its deadline.
type TimeoutError struct {
	Step  string // what was being evaluated
	Limit time.Duration
	Err   error // OPA's cancellation
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s did not finish within %v, so Ward stopped it: a Rego module in the policy directory loops or is too slow for this inventory; find it with ward test or opa eval --profile", e.Step, e.Limit)
}

func (e *TimeoutError) Unwrap() error { return e.Err }

// evaluate is Evaluate without the deadline; it keeps *step current for
// the timeout's message.
func (e *Engine) evaluate(ctx context.Context, step *string) (*Result, error) {
	res := &Result{Zone: map[string]string{}, Conflicts: map[string][]string{}, Addresses: map[string]map[string]struct{}{},
		Flows: map[string]policy.DocFlow{}, Matrix: map[string]map[string][]string{}}
	e.reach = nil
	// The clock moves between evaluations: a long-running server must
	// drop a flow the day after it expires.
	e.input.Insert(ast.StringTerm("now_ns"), ast.NumberTerm(json.Number(fmt.Sprint(e.now().UnixNano()))))
	if err := e.placeAll(ctx, res); err != nil {
		return nil, err
	}
	sort.Strings(res.Unplaced)

	*step = "computing the effective policy (package ward.effective)"
	rs, err := e.effective.Eval(ctx, rego.EvalParsedInput(e.input))
	if err != nil {
		return nil, fmt.Errorf("evaluating the effective policy: %w", err)
	}
	if len(rs) != 1 {
		return nil, fmt.Errorf("evaluating the effective policy: no result")
	}
	b := rs[0].Bindings
	if err := remarshal(b["flows"], &res.Flows); err != nil {
		return nil, err
	}
	res.Expired = toStrings(b["expired"])
	sort.Strings(res.Expired)
	for src, dsts := range b["matrix"].(map[string]any) {
		res.Matrix[src] = map[string][]string{}
		for dst, svcs := range dsts.(map[string]any) {
			s := toStrings(svcs)
			sort.Strings(s)
			res.Matrix[src][dst] = s
		}
	}
	// Address sets are derived in Go from the placement Rego decided:
	// building 100,000-element sets in Rego costs more than the placement.
	for name, z := range e.cfg.Zones {
		set := map[string]struct{}{}
		for _, p := range z.Subnets {
			set[p.String()] = struct{}{}
		}
		res.Addresses[name] = set
	}
	for id, z := range res.Zone {
		if d, ok := e.devices[id]; ok && d.IP.IsValid() {
			if set := res.Addresses[z]; set != nil {
				set[d.IP.String()] = struct{}{}
			}
		}
	}
	*step = "running the guardrails (package ward.guardrails)"
	if err := e.guardrails(ctx, res); err != nil {
		return nil, err
	}
	e.state = res
	return res, nil
}

func (e *Engine) guardrails(ctx context.Context, res *Result) error {
	rs, err := e.guard.Eval(ctx, rego.EvalParsedInput(e.input))
	if err != nil {
		return fmt.Errorf("evaluating guardrails: %w", err)
	}
	if len(rs) != 1 {
		return fmt.Errorf("evaluating guardrails: no result")
	}
	b := rs[0].Bindings
	res.Deny = findings(b["builtin"], true)
	res.Waived = findings(b["waivers"], true)
	res.Deny = append(res.Deny, findings(b["operator_deny"], false)...)
	res.Warn = findings(b["operator_warn"], false)
	return nil
}

// findings converts guardrail results: objects with rule, flow and msg, or
// plain strings (an operator's deny contains msg).
func findings(v any, builtin bool) []Finding {
	var out []Finding
	for _, x := range anySlice(v) {
		f := Finding{Builtin: builtin}
		switch x := x.(type) {
		case string:
			f.Message = x
		case map[string]any:
			f.Rule, _ = x["rule"].(string)
			f.Flow, _ = x["flow"].(string)
			f.Message, _ = x["msg"].(string)
			f.Reason, _ = x["reason"].(string)
			if f.Message == "" {
				b, _ := json.Marshal(x)
				f.Message = string(b)
			}
		default:
			b, _ := json.Marshal(x)
			f.Message = string(b)
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Flow != out[j].Flow {
			return out[i].Flow < out[j].Flow
		}
		return out[i].Message < out[j].Message
	})
	return out
}

// placeAll places every device, querying the Rego placement one device at
// a time on every core. (Asking OPA for the whole placement object at once
// is quadratic: topdown checks each new key of a partial object against
// every key before it, which at 100,000 devices takes minutes.)
//
// Without operator placement Rego, devices that agree on every field a
// match block tests are one group, placed by one query: the built-in
// placement reads nothing else, so a hospital's thousands of pumps of one
// model cost one evaluation, not thousands.
func (e *Engine) placeAll(ctx context.Context, res *Result) error {
	var groups [][]string
	if e.signature != nil {
		byKey := map[string]int{}
		for name, d := range e.devices {
			key := e.groupKey(&d)
			i, ok := byKey[key]
			if !ok {
				i = len(groups)
				byKey[key] = i
				groups = append(groups, nil)
			}
			groups[i] = append(groups[i], name)
		}
	} else {
		groups = make([][]string, 0, len(e.devices))
		for name := range e.devices {
			groups = append(groups, []string{name})
		}
	}

	type placed struct {
		zone     string
		conflict []string
	}
	out := make([]placed, len(groups))
	workers := min(runtime.GOMAXPROCS(0), len(groups))
	next := make(chan int, len(groups))
	for i := range groups {
		next <- i
	}
	close(next)
	g, gctx := errgroup.WithContext(ctx)
	for range workers {
		g.Go(func() error {
			for i := range next {
				zone, conflict, err := e.placeOne(gctx, groups[i][0])
				if err != nil {
					return err
				}
				out[i] = placed{zone, conflict}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for i, members := range groups {
		for _, name := range members {
			switch {
			case out[i].zone != "":
				res.Zone[name] = out[i].zone
			case out[i].conflict != nil:
				res.Conflicts[name] = out[i].conflict
			default:
				res.Unplaced = append(res.Unplaced, name)
			}
		}
	}
	return nil
}

// placeOne evaluates the placement of one stored device.
func (e *Engine) placeOne(ctx context.Context, name string) (zone string, conflict []string, err error) {
	// A shallow object sharing the policy document's terms: a deep copy of
	// a thousand flows per device would cost more than placing it.
	pairs := make([][2]*ast.Term, 0, e.input.Len()+1)
	e.input.Foreach(func(k, v *ast.Term) { pairs = append(pairs, [2]*ast.Term{k, v}) })
	pairs = append(pairs, [2]*ast.Term{ast.StringTerm("device_id"), ast.StringTerm(name)})
	rs, err := e.one.Eval(ctx, rego.EvalParsedInput(ast.NewObject(pairs...)))
	if err != nil {
		return "", nil, fmt.Errorf("placing %s: %w", name, err)
	}
	if len(rs) != 1 {
		return "", nil, fmt.Errorf("placing %s: no result", name)
	}
	if zs := toStrings(rs[0].Bindings["zone"]); len(zs) == 1 {
		return zs[0], nil, nil
	}
	if cs := anySlice(rs[0].Bindings["conflicts"]); len(cs) == 1 {
		return "", toStrings(cs[0]), nil
	}
	return "", nil, nil
}

// matchSignature lists what built-in placement reads of a device: the
// fields, IP and labels that some zone's match block tests.
func matchSignature(cfg *policy.Config) []string {
	keys := map[string]bool{}
	for _, z := range cfg.Zones {
		if z.Match == nil {
			continue
		}
		for k := range z.Match.Fields {
			keys[k] = true
		}
		if len(z.Match.IP) > 0 {
			keys["ip"] = true
		}
		for k := range z.Match.Labels {
			keys["labels."+k] = true
		}
	}
	sig := make([]string, 0, len(keys))
	for k := range keys {
		sig = append(sig, k)
	}
	sort.Strings(sig)
	return sig
}

// groupKey is a device's values for the signature's fields.
func (e *Engine) groupKey(d *inventory.Device) string {
	var b strings.Builder
	for _, k := range e.signature {
		var v string
		switch {
		case k == "ip":
			v = d.IP.String()
		case strings.HasPrefix(k, "labels."):
			l, ok := d.Labels[k[len("labels."):]]
			if !ok {
				l = "\x01" // absent differs from empty
			}
			v = l
		default:
			v = deviceField(d, k)
		}
		b.WriteString(v)
		b.WriteByte(0)
	}
	return b.String()
}

// UpdateDevice adds or changes one device and re-places only that device,
// keeping the last Evaluate's result current. It returns the device's zone
// ("" when it has none).
func (e *Engine) UpdateDevice(ctx context.Context, d inventory.Device) (string, error) {
	if e.state == nil {
		return "", fmt.Errorf("UpdateDevice before Evaluate")
	}
	path := storage.Path{"ward", "devices", d.Name}
	if err := storage.WriteOne(ctx, e.store, storage.AddOp, path, deviceDoc(d)); err != nil {
		return "", fmt.Errorf("device %s: %w", d.Name, err)
	}
	old := e.devices[d.Name].IP
	e.forget(d.Name)
	e.devices[d.Name] = d
	e.reachDeviceChanged(d.Name, old, &d)

	tctx, cancel := context.WithTimeout(ctx, updateTimeout)
	defer cancel()
	zone, conflict, err := e.placeOne(tctx, d.Name)
	if err != nil && ctx.Err() == nil && tctx.Err() != nil {
		err = &TimeoutError{Step: "placing device " + d.Name + " (package ward.placement)", Limit: updateTimeout, Err: err}
	}
	switch {
	case err != nil:
		return "", err
	case zone != "":
		e.state.Zone[d.Name] = zone
		if set := e.state.Addresses[zone]; set != nil && d.IP.IsValid() {
			set[d.IP.String()] = struct{}{}
		}
	case conflict != nil:
		e.state.Conflicts[d.Name] = conflict
	default:
		e.state.Unplaced = append(e.state.Unplaced, d.Name)
		sort.Strings(e.state.Unplaced)
	}
	return zone, nil
}

// RemoveDevice takes a device out of the store and the current result.
func (e *Engine) RemoveDevice(ctx context.Context, name string) error {
	if err := storage.WriteOne(ctx, e.store, storage.RemoveOp, storage.Path{"ward", "devices", name}, nil); err != nil {
		return fmt.Errorf("device %s: %w", name, err)
	}
	if e.state != nil {
		e.forget(name)
	}
	e.reachDeviceChanged(name, e.devices[name].IP, nil)
	delete(e.devices, name)
	return nil
}

// forget removes a device from the current result before it is re-placed.
func (e *Engine) forget(name string) {
	if e.state == nil {
		return
	}
	if z, ok := e.state.Zone[name]; ok {
		if d, ok := e.devices[name]; ok && d.IP.IsValid() {
			delete(e.state.Addresses[z], d.IP.String())
		}
		delete(e.state.Zone, name)
	}
	delete(e.state.Conflicts, name)
	if i := slices.Index(e.state.Unplaced, name); i >= 0 {
		e.state.Unplaced = slices.Delete(e.state.Unplaced, i, i+1)
	}
}

// Config returns the policy the engine evaluates.
func (e *Engine) Config() *policy.Config { return e.cfg }

// Device returns a device by name.
func (e *Engine) Device(name string) (inventory.Device, bool) {
	d, ok := e.devices[name]
	return d, ok
}

// Devices returns every device, by name.
func (e *Engine) Devices() map[string]inventory.Device { return e.devices }

func anySlice(v any) []any {
	switch v := v.(type) {
	case []any:
		return v
	case nil:
		return nil
	}
	return nil
}

func toStrings(v any) []string {
	var out []string
	for _, x := range anySlice(v) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func remarshal(v any, out any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/wardnet/ward/api"
	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/nftables"
	"github.com/wardnet/ward/drivers/openvswitch"
	"github.com/wardnet/ward/internal/credentials"
	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/plan"
	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// testServer is Ward's API over the example hospital: a fresh SQLite store
// with the example inventory, the example policy, a quarantine Manager
// that decides and records but enforces nothing (no Dial), a token of each
// role, and targets kept in memory (memTargets) for plans and applies.
type testServer struct {
	url     string
	cli     *http.Client
	st      *store.Store
	srv     *api.Server
	http    *httptest.Server
	targets *memTargets
	metrics *api.Metrics
	// tokens maps a role to a token of that role; also "revoked" and
	// "expired".
	tokens map[string]string
}

// testAuditKey is the test server's audit key (store.WithAuditKey wants at
// least 32 bytes).
const testAuditKey = "ward api tests: the audit key, 32+ bytes"

func newTestServer(t testing.TB, edit func(*api.Config)) *testServer {
	t.Helper()
	ctx := context.Background()
	// Keyed like ward serve's store, so routes that sign or check with the
	// audit key (the audit checkpoint) work as in production.
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "ward.db"), store.WithAuditKey([]byte(testAuditKey)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := inventory.ImportFile(ctx, st, exampleInventory, inventory.FormatCSV, inventory.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	targets, reg, holder, m := exampleQuarantines(t, st)
	tokens := map[string]string{}
	for _, role := range store.Roles() {
		if tokens[role], _, err = st.CreateToken(ctx, role+"-token", role, 0, "test"); err != nil {
			t.Fatal(err)
		}
	}
	if tokens["revoked"], _, err = st.CreateToken(ctx, "revoked-token", store.RoleAdmin, 0, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RevokeToken(ctx, "revoked-token", "test"); err != nil {
		t.Fatal(err)
	}
	// Expires an hour before the API's clock... but the store's clock is
	// the real one: make it expire in a millisecond and wait it out.
	if tokens["expired"], _, err = st.CreateToken(ctx, "expired-token", store.RoleAdmin, time.Millisecond, "test"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	met := api.NewMetrics()
	c := api.Config{
		Store:       st,
		Quarantines: m,
		Policy:      holder,
		PolicyDir:   examplePolicy,
		Drivers:     reg,
		Dial:        targets.dial,
		PlanSigner:  planSigner(t),
		AlertToken:  token,
		AlertSecret: func(source string) ([]byte, bool) {
			if source == signer {
				return signerSecret, true
			}
			return nil, false
		},
		Metrics: met,
		Now:     func() time.Time { return clock },
	}
	if edit != nil {
		edit(&c)
	}
	srv := api.New(c)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	tr := hs.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	t.Cleanup(tr.CloseIdleConnections)
	return &testServer{url: hs.URL, cli: &http.Client{Transport: tr}, st: st, srv: srv, http: hs, targets: targets, metrics: met, tokens: tokens}
}

// exampleQuarantines holds the example policy in force over memTargets'
// drivers and builds a quarantine Manager on st that decides and records
// but enforces nothing (no Dial), closed when t ends: what every API
// replica under test serves.
func exampleQuarantines(t testing.TB, st *store.Store) (*memTargets, *drivers.Registry, *inforce.Holder, *quarantine.Manager) {
	t.Helper()
	targets := &memTargets{running: map[string]string{}}
	reg := targets.registry()
	load := func() (*policy.Config, hcl.Diagnostics) {
		return policy.NewParser(policy.WithDrivers(reg.RolesByName())).LoadDir(examplePolicy)
	}
	cfg, diags := load()
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	holder := inforce.New(cfg, load, nil)
	m, err := quarantine.New(context.Background(), quarantine.Options{Store: st, Policy: holder, Drivers: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return targets, reg, holder, m
}

// as returns the headers of a JSON request with the token of role.
func (s *testServer) as(role string) http.Header {
	return bearer(s.tokens[role])
}

// memTargets stands in for the example's targets: the real drivers
// render each target's configuration, and applying it stores the text in
// memory, where Running reads it back. It refuses what the real drivers'
// dry run would: an empty configuration, and a target that is down.
type memTargets struct {
	mu      sync.Mutex
	running map[string]string
	applies []string
	down    map[string]bool
	// hold, when set, is waited on by every Apply (a push in flight).
	hold chan struct{}
}

type memSession struct{ target string }

func (memSession) Run(context.Context, string) (string, error) { return "", nil }
func (memSession) Close() error                                { return nil }

func (m *memTargets) dial(_ context.Context, target string) (drivers.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down[target] {
		return nil, fmt.Errorf("dial %s: connection refused", target)
	}
	return memSession{target}, nil
}

type memDriver struct {
	real drivers.Driver
	m    *memTargets
}

func (d memDriver) Render(t *intent.Target) (drivers.Config, error) { return d.real.Render(t) }

func (d memDriver) Apply(_ context.Context, s drivers.Session, cfg drivers.Config) error {
	if hold := d.m.hold; hold != nil {
		<-hold
	}
	if cfg.Text == "" {
		return drivers.ErrCheckFailed
	}
	d.m.mu.Lock()
	defer d.m.mu.Unlock()
	t := s.(memSession).target
	d.m.running[t] = cfg.Text
	d.m.applies = append(d.m.applies, t)
	return nil
}

func (d memDriver) Running(_ context.Context, s drivers.Session) (drivers.Config, error) {
	d.m.mu.Lock()
	defer d.m.mu.Unlock()
	return drivers.Config{Text: d.m.running[s.(memSession).target]}, nil
}

func (m *memTargets) registry() *drivers.Registry {
	reg := &drivers.Registry{}
	reg.Register(drivers.Info{Name: "linux_nftables", Roles: []drivers.Role{drivers.RoleFirewall},
		New: func(json.RawMessage) (drivers.Driver, error) {
			return memDriver{nftables.New(nftables.Options{}), m}, nil
		}})
	reg.Register(drivers.Info{Name: "openvswitch", Roles: []drivers.Role{drivers.RoleAccessSwitch},
		New: func(json.RawMessage) (drivers.Driver, error) {
			return memDriver{openvswitch.New(openvswitch.Options{}), m}, nil
		}})
	for _, n := range []string{"cisco_iosxe", "arista_eos", "juniper_junos"} {
		reg.Register(drivers.Info{Name: n, Roles: []drivers.Role{drivers.RoleFirewall, drivers.RoleAccessSwitch}})
	}
	return reg
}

// planSigner is a plan-signing key of the test's own.
func planSigner(t testing.TB) *plan.Signer {
	t.Helper()
	s, err := plan.LoadSigner(credentials.Source{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (d memDriver) Parse(cfg drivers.Config) (*intent.Target, error) { return d.real.Parse(cfg) }

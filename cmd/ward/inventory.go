package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"text/tabwriter"

	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

func runInventory(c *cli, args []string) int {
	sub := map[string]func(*cli, []string) int{
		"import": runInventoryImport, "list": runInventoryList, "show": runInventoryShow, "rm": runInventoryRm,
		"export": runInventoryExport,
	}
	if len(args) == 0 || sub[args[0]] == nil {
		fmt.Fprintln(c.stderr, "Usage: ward inventory import FILE | list | show NAME | rm NAME | export   (ward inventory SUBCOMMAND -h for flags)")
		return 2
	}
	return sub[args[0]](c, args[1:])
}

func runInventoryImport(c *cli, args []string) int {
	cl := c.command("inventory import", "FILE [-format csv|json|netbox] [-replace] [-db URL]")
	format := cl.String("format", "", "csv, json or netbox (default: detect from the file)")
	replace := cl.Bool("replace", false, "mark stored devices missing from the file as removed (default: merge)")
	asJSON := cl.Bool("json", false, "print the result as JSON")
	cl.dbFlag()
	pos, code, ok := cl.parse(args)
	if !ok {
		return code
	}
	defer cl.close()
	if len(pos) != 1 {
		cl.Usage()
		return 2
	}
	var f inventory.Format
	if *format != "" {
		var err error
		if f, err = inventory.ParseFormat(*format); err != nil {
			fmt.Fprintf(c.stderr, "ward inventory import: %v\n", err)
			return 2
		}
	}
	ctx, st, ok := cl.open()
	if !ok {
		return 1
	}
	res, err := inventory.ImportFile(ctx, st, pos[0], f, inventory.ImportOptions{Replace: *replace, Actor: actor()})
	if err != nil {
		fmt.Fprintf(c.stderr, "Error: %v\n\nNothing was imported; the inventory is unchanged.\n", err)
		return 1
	}
	if *asJSON {
		return c.printJSON(res)
	}
	fmt.Fprintf(c.stdout, "Imported %s: %d added, %d updated, %d revived, %d unchanged, %d removed.\n",
		pos[0], res.Added, res.Updated, res.Revived, res.Unchanged, res.Removed)
	return 0
}

func runInventoryList(c *cli, args []string) int {
	cl := c.command("inventory list", "[-zone Z [-policy DIR]] [-class C] [-removed] [-json] [-db URL]")
	zone := cl.String("zone", "", "only devices the policy places in this zone")
	policyDir := cl.String("policy", "./policy", "policy directory, for -zone")
	class := cl.String("class", "", "only devices of this class")
	removed := cl.Bool("removed", false, "include removed devices")
	asJSON := cl.Bool("json", false, "print devices as a JSON array")
	cl.dbFlag()
	if _, code, ok := cl.parse(args); !ok {
		return code
	}
	defer cl.close()
	ctx, st, ok := cl.open()
	if !ok {
		return 1
	}
	rows, err := inventory.List(ctx, st, inventory.ListFilter{Class: *class, IncludeRemoved: *removed})
	if err != nil {
		fmt.Fprintf(c.stderr, "ward inventory list: %v\n", err)
		return 1
	}
	if *zone != "" {
		cfg, diags := c.loadPolicy(*policyDir)
		if diags.HasErrors() {
			c.printDiags(cfg, diags)
			fmt.Fprintf(c.stderr, "ward inventory list -zone needs a valid policy; fix %s first.\n", *policyDir)
			return 1
		}
		if _, ok := cfg.Zones[*zone]; !ok {
			fmt.Fprintf(c.stderr, "ward inventory list: the policy in %s has no zone %q\n", *policyDir, *zone)
			return 1
		}
		placed, err := placeInventory(ctx, st, cfg)
		if err != nil {
			fmt.Fprintf(c.stderr, "ward inventory list -zone: %v\n", err)
			return 1
		}
		kept := rows[:0]
		for _, r := range rows {
			if r.RemovedAt == nil && placed.Zone[r.Name] == *zone {
				kept = append(kept, r)
			}
		}
		rows = kept
	}
	if *asJSON {
		out := make([]deviceJSON, len(rows))
		for i, r := range rows {
			out[i] = toDeviceJSON(r)
		}
		return c.printJSON(out)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tIP\tMAC\tCLASS\tVENDOR\tMODEL\tCRITICALITY\tSWITCH\tPORT")
	for _, r := range rows {
		name := r.Name
		if r.RemovedAt != nil {
			name += " (removed)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, r.IP, r.MAC, r.Class, r.Vendor, r.Model, r.Criticality, r.Switch, r.Port)
	}
	tw.Flush()
	fmt.Fprintf(c.stdout, "%s.\n", plural(len(rows), "device"))
	return 0
}

// placeInventory places the stored inventory as the engine does for a
// plan: the same devices (every active one, as ward plan reads them) and
// the same evaluation, operator ward.placement modules included, so the
// zone listed is the zone the firewalls enforce.
func placeInventory(ctx context.Context, st *store.Store, cfg *policy.Config) (*engine.Result, error) {
	devices, err := inventory.Active(ctx, st)
	if err != nil {
		return nil, err
	}
	e, diags := engine.New(ctx, cfg, devices)
	if diags.HasErrors() {
		return nil, fmt.Errorf("loading the policy into the engine: %s", diags.Error())
	}
	return e.Evaluate(ctx)
}

func runInventoryShow(c *cli, args []string) int {
	cl := c.command("inventory show", "NAME [-json] [-db URL]")
	asJSON := cl.Bool("json", false, "print the device as JSON")
	cl.dbFlag()
	pos, code, ok := cl.parse(args)
	if !ok {
		return code
	}
	defer cl.close()
	if len(pos) != 1 {
		cl.Usage()
		return 2
	}
	ctx, st, ok := cl.open()
	if !ok {
		return 1
	}
	d, err := inventory.Get(ctx, st, pos[0])
	if err != nil {
		fmt.Fprintf(c.stderr, "ward inventory show: %v\n", err)
		return 1
	}
	if *asJSON {
		return c.printJSON(toDeviceJSON(*d))
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	for _, kv := range [][2]string{
		{"name", d.Name}, {"ip", d.IP}, {"mac", d.MAC}, {"class", d.Class}, {"vendor", d.Vendor},
		{"model", d.Model}, {"firmware", d.Firmware}, {"criticality", d.Criticality}, {"site", d.Site},
		{"location", d.Location}, {"switch", d.Switch}, {"port", d.Port}, {"source", d.Source},
		{"created", d.CreatedAt.UTC().Format("2006-01-02 15:04:05 MST")},
		{"updated", d.UpdatedAt.UTC().Format("2006-01-02 15:04:05 MST")},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
	}
	if d.RemovedAt != nil {
		fmt.Fprintf(tw, "removed:\t%s\n", d.RemovedAt.UTC().Format("2006-01-02 15:04:05 MST"))
	}
	for _, k := range slices.Sorted(maps.Keys(d.Labels)) {
		fmt.Fprintf(tw, "label %s:\t%s\n", k, d.Labels[k])
	}
	tw.Flush()
	return 0
}

func runInventoryRm(c *cli, args []string) int {
	cl := c.command("inventory rm", "NAME [-db URL]")
	cl.dbFlag()
	pos, code, ok := cl.parse(args)
	if !ok {
		return code
	}
	defer cl.close()
	if len(pos) != 1 {
		cl.Usage()
		return 2
	}
	ctx, st, ok := cl.open()
	if !ok {
		return 1
	}
	if err := inventory.Remove(ctx, st, pos[0], actor()); err != nil {
		fmt.Fprintf(c.stderr, "ward inventory rm: %v\n", err)
		return 1
	}
	fmt.Fprintf(c.stdout, "Removed %s (kept in the database for history; importing it again brings it back).\n", pos[0])
	return 0
}

// deviceJSON is a device as the CLI (and later the API) prints it.
type deviceJSON struct {
	inventory.Device
	Source    string  `json:"source,omitempty"`
	CreatedAt string  `json:"created_at"`
	UpdatedAt string  `json:"updated_at"`
	RemovedAt *string `json:"removed_at,omitempty"`
}

func toDeviceJSON(r store.Device) deviceJSON {
	out := deviceJSON{Device: inventory.FromRow(r), Source: r.Source,
		CreatedAt: r.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"), UpdatedAt: r.UpdatedAt.UTC().Format("2006-01-02T15:04:05Z")}
	if r.RemovedAt != nil {
		s := r.RemovedAt.UTC().Format("2006-01-02T15:04:05Z")
		out.RemovedAt = &s
	}
	return out
}

func (c *cli) printJSON(v any) int {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(c.stderr, "ward: %v\n", err)
		return 1
	}
	return 0
}

func runInventoryExport(c *cli, args []string) int {
	cl := c.command("inventory export", "[-o FILE] [-db URL]")
	out := cl.String("o", "", "write to FILE instead of standard output")
	cl.dbFlag()
	if _, code, ok := cl.parse(args); !ok {
		return code
	}
	defer cl.close()
	ctx, st, ok := cl.open()
	if !ok {
		return 1
	}
	devices, err := inventory.Active(ctx, st)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward inventory export: %v\n", err)
		return 1
	}
	var buf bytes.Buffer
	if err := inventory.ExportCSV(&buf, devices); err != nil {
		fmt.Fprintf(c.stderr, "ward inventory export: %v\n", err)
		return 1
	}
	if *out == "" {
		_, err = c.stdout.Write(buf.Bytes())
	} else {
		err = os.WriteFile(*out, buf.Bytes(), 0o640)
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "ward inventory export: %v\n", err)
		return 1
	}
	return 0
}

package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
)

// envName is the environment variable of a flag: WARD_ and the flag's
// name in capitals, dashes as underscores (-tls-cert: WARD_TLS_CERT).
func envName(flagName string) string {
	return "WARD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// configKey is a flag's attribute in a settings file: its name with
// dashes as underscores (-tls-cert: tls_cert).
func configKey(flagName string) string { return strings.ReplaceAll(flagName, "-", "_") }

// applySettings gives every flag the command line did not set its value
// from the environment (WARD_*), else from the settings file at path (an
// HCL file of attributes, may be ""). Flags named in skip are left alone.
// Errors name the variable, or the file and line, at fault.
func applySettings(fs *flag.FlagSet, path string, skip ...string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, s := range skip {
		set[s] = true
	}
	file := map[string]settingValue{}
	if path != "" {
		var err error
		if file, err = readSettingsFile(path); err != nil {
			return err
		}
		var unknown []string
		for k, v := range file {
			if fs.Lookup(strings.ReplaceAll(k, "_", "-")) == nil || strings.Contains(k, "-") {
				unknown = append(unknown, fmt.Sprintf("%s:%d: unknown setting %q", path, v.line, k))
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			return fmt.Errorf("%s (the settings are the flags of ward serve -h, with _ for -)", strings.Join(unknown, "; "))
		}
	}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || set[f.Name] {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok && strings.TrimSpace(v) != "" {
			if e := fs.Set(f.Name, strings.TrimSpace(v)); e != nil {
				err = fmt.Errorf("%s=%q: %v", envName(f.Name), v, e)
			}
			return
		}
		if v, ok := file[configKey(f.Name)]; ok {
			if e := fs.Set(f.Name, v.text); e != nil {
				err = fmt.Errorf("%s:%d: %s = %q: %v", path, v.line, configKey(f.Name), v.text, e)
			}
		}
	})
	return err
}

type settingValue struct {
	text string
	line int
}

// readSettingsFile reads an HCL file of attributes (listen = "...",
// alert_rate = 20, no_enforce = true) as text values.
func readSettingsFile(path string) (map[string]settingValue, error) {
	f, diags := hclparse.NewParser().ParseHCLFile(path)
	if diags.HasErrors() {
		return nil, fmt.Errorf("settings file %s", diags.Error())
	}
	attrs, diags := f.Body.JustAttributes()
	if diags.HasErrors() {
		return nil, fmt.Errorf("settings file %s (only name = value lines, no blocks)", diags.Error())
	}
	out := map[string]settingValue{}
	for name, a := range attrs {
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() {
			return nil, fmt.Errorf("settings file %s", diags.Error())
		}
		line := a.Range.Start.Line
		text, err := settingText(v)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %v", path, line, name, err)
		}
		out[name] = settingValue{text, line}
	}
	return out, nil
}

func settingText(v cty.Value) (string, error) {
	if v.IsNull() || !v.IsKnown() {
		return "", fmt.Errorf("want a value")
	}
	switch v.Type() {
	case cty.String:
		return v.AsString(), nil
	case cty.Bool:
		if v.True() {
			return "true", nil
		}
		return "false", nil
	case cty.Number:
		return v.AsBigFloat().Text('f', -1), nil
	}
	return "", fmt.Errorf("want a string, number or true/false, not %s", v.Type().FriendlyName())
}

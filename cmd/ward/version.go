package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time: -ldflags "-X main.version=v0.1.0".
var version = "dev"

func runVersion(c *cli, args []string) int {
	cl := c.command("version", "")
	if _, code, ok := cl.parse(args); !ok {
		return code
	}
	defer cl.close()
	fmt.Fprintf(c.stdout, "ward %s (%s, %s/%s)\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return 0
}

// buildVersion is the version set at build time, else the module version
// this binary was built as, else "dev".
func buildVersion() string {
	if version == "dev" {
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return version
}

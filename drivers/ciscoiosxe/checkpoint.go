package ciscoiosxe

import (
	"context"
	"fmt"
	"strings"

	"github.com/wardnet/ward/drivers"
)

// Checkpoint saves the running configuration in the archive (archive
// config, docReplace) and names the file show archive lists as the most
// recent.
func (d *driver) Checkpoint(ctx context.Context, s drivers.Session) (drivers.Checkpoint, error) {
	c, err := configurer(s)
	if err != nil {
		return drivers.Checkpoint{}, err
	}
	r, err := readRunning(ctx, s)
	if err != nil {
		return drivers.Checkpoint{}, err
	}
	if r.archivePath == "" {
		if _, err := c.Configure(ctx, "", []string{"archive", "path " + d.archivePath, "end"}); err != nil {
			return drivers.Checkpoint{}, fmt.Errorf("%s: configuring the archive (path %s): %w", driverName, d.archivePath, err)
		}
	}
	if _, err := s.Run(ctx, "archive config"); err != nil {
		return drivers.Checkpoint{}, fmt.Errorf("%s: archive config: %w", driverName, err)
	}
	out, err := s.Run(ctx, "show archive")
	if err != nil {
		return drivers.Checkpoint{}, fmt.Errorf("%s: show archive: %w", driverName, err)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "<- Most Recent") {
			if w := strings.Fields(l); len(w) >= 2 {
				return drivers.Checkpoint{ID: w[1]}, nil
			}
		}
	}
	return drivers.Checkpoint{}, fmt.Errorf("%s: show archive names no most recent archive file:\n%s", driverName, out)
}

// Rollback replaces the running configuration with the checkpoint's file
// (configure replace URL force, docReplace): the whole configuration, not
// only Ward's part, so quarantine state returns to the checkpoint's too.
func (d *driver) Rollback(ctx context.Context, s drivers.Session, cp drivers.Checkpoint) error {
	if !archivePathRe.MatchString(cp.ID) {
		return fmt.Errorf("%s: %w: checkpoint %q is not an archive file name", driverName, drivers.ErrInvalidConfig, cp.ID)
	}
	out, err := s.Run(ctx, "configure replace "+cp.ID+" force")
	if err != nil {
		return fmt.Errorf("%s: configure replace %s: %w", driverName, cp.ID, err)
	}
	if !strings.Contains(out, "Rollback Done") {
		return fmt.Errorf("%s: configure replace %s did not report \"Rollback Done\":\n%s", driverName, cp.ID, out)
	}
	return nil
}

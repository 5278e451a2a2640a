package terminal

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
)

// Check reports whether code could run now: the daemon answers and the
// image is present. Unlike Preflight it never pulls, so it changes nothing
// and is quick; m1 doctor uses it. Its errors wrap ErrDockerUnavailable
// when the daemon does not answer, and ErrImageUnavailable when it answers
// but the image is missing or cannot be inspected.
func (d *Docker) Check(ctx context.Context) error {
	if _, err := d.api.Ping(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return unavailable("cannot reach the daemon at "+d.api.DaemonHost(), err)
	}
	_, err := d.api.ImageInspect(ctx, d.image)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case cerrdefs.IsNotFound(err):
		return fmt.Errorf("%w: image %s is not present", ErrImageUnavailable, d.image)
	}
	return fmt.Errorf("%w: cannot inspect image %s: %w", ErrImageUnavailable, d.image, err)
}

// DaemonHost returns the address of the Docker daemon the executor talks
// to, e.g. unix:///var/run/docker.sock.
func (d *Docker) DaemonHost() string { return d.api.DaemonHost() }

package terminal

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/image"
)

func TestDockerCheck(t *testing.T) {
	t.Parallel()
	down := errors.New("connection refused")
	broken := errors.New("500 internal server error")
	tests := []struct {
		name    string
		ping    func(context.Context) (types.Ping, error)
		inspect func(context.Context, string) (image.InspectResponse, error)
		want    error // nil: ready
	}{
		{name: "ready"},
		{name: "daemon down", ping: func(context.Context) (types.Ping, error) { return types.Ping{}, down }, want: ErrDockerUnavailable},
		{name: "image missing", inspect: func(_ context.Context, ref string) (image.InspectResponse, error) {
			return image.InspectResponse{}, notFound(ref)
		}, want: ErrImageUnavailable},
		{name: "inspect fails", inspect: func(context.Context, string) (image.InspectResponse, error) {
			return image.InspectResponse{}, broken
		}, want: ErrImageUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeDocker{ping: tc.ping, inspect: tc.inspect,
				pull: func(context.Context, string) (io.ReadCloser, error) {
					t.Error("Check pulled the image")
					return nil, errNotFaked
				}}
			d := newFakeDocker(t, f, WithImage("m1-test:1"))
			defer d.Close()
			err := d.Check(t.Context())
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
		})
	}
	d := newFakeDocker(t, &fakeDocker{})
	defer d.Close()
	if got := d.DaemonHost(); got != "unix:///fake.sock" {
		t.Errorf("DaemonHost = %q", got)
	}
}

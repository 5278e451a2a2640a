//go:build !linux

package terminal

import "errors"

// dirGrant is write access to a folder for one user; only Linux has it.
type dirGrant struct{}

func grantDir(string, uint32) (*dirGrant, error) {
	return nil, errors.ErrUnsupported
}

func (*dirGrant) release() error { return nil }

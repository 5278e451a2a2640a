package file

import "github.com/m1-project/m1/surfers/file/convert"

// DefaultViewportSize is how many characters one page of the viewer holds.
const DefaultViewportSize = 5000

// Option configures a Surfer.
type Option func(*options)

type options struct {
	workDir        string
	allowPaths     []string
	viewportSize   int
	convertOptions []convert.Option
}

func defaultOptions() options {
	return options{viewportSize: DefaultViewportSize}
}

// WithWorkDir sets the folder the FileSurfer reads from and resolves
// relative paths against (default: the current directory).
func WithWorkDir(dir string) Option {
	return func(o *options) { o.workDir = dir }
}

// WithAllowPaths lets the FileSurfer read these folders or files besides
// the work dir.
func WithAllowPaths(paths ...string) Option {
	return func(o *options) { o.allowPaths = append(o.allowPaths, paths...) }
}

// WithViewportSize sets the characters per page (default
// DefaultViewportSize); values below 200 are raised to 200.
func WithViewportSize(n int) Option {
	return func(o *options) { o.viewportSize = max(n, 200) }
}

// WithConvertOptions passes options (such as limits) to every conversion.
func WithConvertOptions(opts ...convert.Option) Option {
	return func(o *options) { o.convertOptions = append(o.convertOptions, opts...) }
}

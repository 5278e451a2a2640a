package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// mcpDirEnv names the folder where .ci/run installs the reference MCP
// servers from npm (npm install --prefix DIR): the tests run
// DIR/node_modules/.bin/mcp-server-everything and mcp-server-filesystem.
const mcpDirEnv = "M1_TEST_MCP_DIR"

// mcpServerNames are the programs the [mcp] condition needs.
var mcpServerNames = []string{"mcp-server-everything", "mcp-server-filesystem"}

// mcpCondition answers [mcp]: whether the reference MCP servers are
// installed. In CI, which installs them, their absence is an error.
func mcpCondition() (bool, error) {
	dir := os.Getenv(mcpDirEnv)
	missing := dir == ""
	for _, name := range mcpServerNames {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", name)); err != nil {
			missing = true
		}
	}
	if !missing {
		return true, nil
	}
	if os.Getenv("CI") != "" {
		return false, fmt.Errorf("the reference MCP servers are not installed in $%s=%q in CI (see .ci/run)", mcpDirEnv, dir)
	}
	return false, nil
}

// Command m1 is a Magentic-One style assistant: an Orchestrator plans a
// task and directs a team of agents (Coder, ComputerTerminal, WebSurfer,
// FileSurfer, and with --hil the User) until it can answer.
package main

import (
	"os"

	"github.com/m1-project/m1/console"
)

func main() {
	os.Exit(Main(os.Args[1:], console.System(), os.Getenv))
}

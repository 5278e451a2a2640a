package doctor

import (
	"strings"

	"github.com/m1-project/m1/config"
)

// configCheck says where the model configuration comes from.
func configCheck(cfg *config.Config, err error, getenv func(string) string) Check {
	c := Check{Name: "config", Status: StatusOK}
	switch {
	case err != nil:
		// The line is named config already, and config errors say what to
		// set.
		msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "config: "), "config ")
		// The advice after the first "; " goes in the hint.
		if i := strings.Index(msg, "; m1 --sample-config"); i > 0 {
			msg, c.Hint = msg[:i], msg[i+2:]
		}
		c.Status, c.Message = StatusFail, msg
	case cfg.Path != "":
		c.Message = cfg.Path
		switch cfg.Source {
		case "M1_CONFIG":
			c.Message += " (from M1_CONFIG)"
		case "--config":
		default:
			c.Message += " (found at " + cfg.Source + ")"
		}
		if len(cfg.Warnings) > 0 {
			c.Status = StatusWarn
			c.Message += "; ignored: " + strings.Join(cfg.Warnings, "; ")
			c.Hint = "fix the keys, or remove allow_unknown_keys to make them errors"
		}
	default:
		var set []string
		for _, k := range []string{"OPENAI_API_KEY", "OPENAI_BASE_URL", "M1_MODEL"} {
			if getenv(k) != "" {
				set = append(set, k)
			}
		}
		c.Message = "from the environment"
		if len(set) > 0 {
			c.Message += " (" + strings.Join(set, ", ") + ")"
		}
	}
	return c
}

package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// keySchema is the keys a mapping may have: each known key's own schema
// (nil for a value of any shape), and keys other tools define that m1
// reads past.
type keySchema struct {
	keys    map[string]*keySchema
	ignored []string
}

// schemaOf lists the yaml keys of struct type t; nested holds the schemas
// of keys whose values are mappings m1 checks too.
func schemaOf(t reflect.Type, nested map[string]*keySchema, ignored ...string) *keySchema {
	s := &keySchema{keys: map[string]*keySchema{}, ignored: ignored}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		s.keys[name] = nested[name]
	}
	return s
}

// configSchema is the shape of a config file.
var configSchema = func() *keySchema {
	settings := schemaOf(reflect.TypeFor[ClientSettings](), map[string]*keySchema{
		"model_info":          schemaOf(reflect.TypeFor[ModelInfo](), nil),
		"max_tokens_per_call": schemaOf(reflect.TypeFor[CallCaps](), nil),
	}, autogenSettingKeys...)
	client := schemaOf(reflect.TypeFor[ClientConfig](), map[string]*keySchema{
		"config": settings,
		"price":  schemaOf(reflect.TypeFor[Price](), nil),
	}, autogenComponentKeys...)
	nested := map[string]*keySchema{}
	for _, r := range Roles {
		nested[r+"_client"] = client
	}
	nested["client"] = client
	// Magentic-UI's other clients and its shared block are its own.
	return schemaOf(reflect.TypeFor[Config](), nested, "model_config", "action_guard_client", "plan_learning_client")
}()

// unknownKey is a key m1 does not know, where it is, and the known key it
// most looks like.
type unknownKey struct {
	key, where, nearest string
	line                int
}

func (u unknownKey) String() string {
	where := "at the top"
	if u.where != "" {
		where = "in " + u.where
	}
	s := fmt.Sprintf("unknown key %q %s", u.key, where)
	if u.nearest != "" {
		s += fmt.Sprintf("; did you mean %q?", u.nearest)
	}
	return s
}

// checkKeys walks a config's mapping and lists the keys m1 does not know,
// in file order.
func checkKeys(root *yaml.Node) []unknownKey {
	var out []unknownKey
	walkKeys(root, configSchema, "", &out, 0)
	return out
}

func walkKeys(n *yaml.Node, s *keySchema, where string, out *[]unknownKey, depth int) {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.MappingNode || s == nil || depth > 16 {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "<<" {
			// A merge key: the merged mapping's keys are this mapping's.
			walkKeys(v, s, where, out, depth+1)
			continue
		}
		sub, known := s.keys[k.Value]
		switch {
		case known:
			walkKeys(v, sub, join(where, k.Value), out, depth+1)
		case slices.Contains(s.ignored, k.Value):
		case depth == 0 && v.Anchor != "":
			// A top-level block that holds an anchor for the clients to
			// share (default: &local), as Magentic-UI's files do.
		default:
			*out = append(*out, unknownKey{key: k.Value, where: where, nearest: nearest(k.Value, s), line: k.Line})
			if u := &(*out)[len(*out)-1]; u.nearest == "" {
				u.nearest = oneDown(k.Value, s)
			}
		}
	}
}

func join(where, key string) string {
	if where == "" {
		return key
	}
	return where + "." + key
}

// nearest is the known key closest to key by edit distance, ignoring case
// and the difference between - and _; "" when none is close.
func nearest(key string, s *keySchema) string {
	norm := func(k string) string { return strings.ReplaceAll(strings.ToLower(k), "-", "_") }
	best, bestD := "", 1<<30
	var names []string
	for k := range s.keys {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if d := editDistance(norm(key), norm(k)); d < bestD {
			best, bestD = k, d
		}
	}
	if bestD > max(2, len(key)/2) {
		return ""
	}
	return best
}

// oneDown names key in a mapping one level down where it is known there
// ("config.max_retries" for a max_retries written beside config:).
func oneDown(key string, s *keySchema) string {
	var names []string
	for k, sub := range s.keys {
		if sub != nil {
			if _, ok := sub.keys[key]; ok {
				names = append(names, k+"."+key)
			}
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		return ""
	}
	return names[0]
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

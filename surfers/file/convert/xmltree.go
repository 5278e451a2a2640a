package convert

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"

	"golang.org/x/net/html/charset"
)

// xnode is a parsed XML element; text appears as children named "#text"
// so mixed content keeps its order.
type xnode struct {
	space, name string
	attr        []xml.Attr
	kids        []*xnode
	text        string
}

// maxXMLDepth stops pathological nesting from exhausting the stack.
const maxXMLDepth = 512

// parseXML reads a whole XML document into a tree.
func parseXML(r io.Reader) (*xnode, error) {
	dec := xml.NewDecoder(r)
	dec.Strict = false
	dec.CharsetReader = charset.NewReaderLabel
	root := &xnode{name: "#root"}
	stack := []*xnode{root}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) > maxXMLDepth {
				return nil, errors.New("XML nested too deeply")
			}
			n := &xnode{space: t.Name.Space, name: t.Name.Local, attr: t.Attr}
			top.kids = append(top.kids, n)
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			top.kids = append(top.kids, &xnode{name: "#text", text: string(t)})
		}
	}
	return root, nil
}

// a returns the attribute with the local name key.
func (n *xnode) a(key string) string {
	if n == nil {
		return ""
	}
	for _, at := range n.attr {
		if at.Name.Local == key {
			return at.Value
		}
	}
	return ""
}

// rel returns the relationship-id attribute key (r:id, r:embed).
func (n *xnode) rel(key string) string {
	if n == nil {
		return ""
	}
	for _, at := range n.attr {
		if at.Name.Local == key && strings.Contains(at.Name.Space, "relationships") {
			return at.Value
		}
	}
	return ""
}

// child returns the first child element named name.
func (n *xnode) child(name string) *xnode {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

// path follows child names from n.
func (n *xnode) path(names ...string) *xnode {
	for _, name := range names {
		n = n.child(name)
	}
	return n
}

// all returns every descendant element named name, in document order.
func (n *xnode) all(name string) []*xnode {
	var out []*xnode
	var visit func(*xnode)
	visit = func(x *xnode) {
		for _, k := range x.kids {
			if k.name == name {
				out = append(out, k)
			}
			visit(k)
		}
	}
	if n != nil {
		visit(n)
	}
	return out
}

// textOf concatenates the character data of the descendants named tag
// (such as "t"), or of all text when tag is empty.
func (n *xnode) textOf(tag string) string {
	var b strings.Builder
	var visit func(x *xnode, in bool)
	visit = func(x *xnode, in bool) {
		for _, k := range x.kids {
			if k.name == "#text" {
				if in {
					b.WriteString(k.text)
				}
				continue
			}
			visit(k, in || tag == "" || k.name == tag)
		}
	}
	if n != nil {
		visit(n, tag == "")
	}
	return b.String()
}

//go:build linux

package terminal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"

	"golang.org/x/sys/unix"
)

// The Linux POSIX ACL as the kernel stores it in the
// system.posix_acl_access extended attribute: a version header, then
// entries of tag, permissions and id, sorted by tag and id
// (include/uapi/linux/posix_acl_xattr.h).
const (
	aclXattr   = "system.posix_acl_access"
	aclVersion = 2

	aclUserObj  = 0x01
	aclUser     = 0x02
	aclGroupObj = 0x04
	aclGroup    = 0x08
	aclMask     = 0x10
	aclOther    = 0x20

	aclUndefinedID = ^uint32(0)
)

type aclEntry struct {
	tag  uint16
	perm uint16
	id   uint32
}

func parseACL(b []byte) ([]aclEntry, error) {
	if len(b) < 4 || (len(b)-4)%8 != 0 || binary.LittleEndian.Uint32(b) != aclVersion {
		return nil, errors.New("malformed POSIX ACL")
	}
	var es []aclEntry
	for b = b[4:]; len(b) > 0; b = b[8:] {
		es = append(es, aclEntry{binary.LittleEndian.Uint16(b), binary.LittleEndian.Uint16(b[2:]), binary.LittleEndian.Uint32(b[4:])})
	}
	return es, nil
}

func encodeACL(es []aclEntry) []byte {
	slices.SortFunc(es, func(a, b aclEntry) int {
		if a.tag != b.tag {
			return int(a.tag) - int(b.tag)
		}
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	b := binary.LittleEndian.AppendUint32(nil, aclVersion)
	for _, e := range es {
		b = binary.LittleEndian.AppendUint16(b, e.tag)
		b = binary.LittleEndian.AppendUint16(b, e.perm)
		b = binary.LittleEndian.AppendUint32(b, e.id)
	}
	return b
}

// aclFromMode is the ACL equivalent to a plain mode.
func aclFromMode(mode uint32) []aclEntry {
	return []aclEntry{
		{aclUserObj, uint16(mode>>6) & 7, aclUndefinedID},
		{aclGroupObj, uint16(mode>>3) & 7, aclUndefinedID},
		{aclOther, uint16(mode) & 7, aclUndefinedID},
	}
}

// dirGrant is write access to a folder given to one user through a POSIX
// ACL entry, and the lock that tells concurrent m1 processes which of them
// holds it last.
type dirGrant struct {
	f   *os.File
	uid uint32
}

// grantDir gives uid read, write and search access to dir itself (not to
// what it holds) with an ACL entry, and keeps dir open with a shared lock
// until release. Other named entries keep exactly the access they had: the
// ACL mask must now allow rwx, so each of them is cut to what the old mask
// let it have.
func grantDir(dir string, uid uint32) (*dirGrant, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	fd := int(f.Fd())
	// Every m1 that granted access holds a shared lock; the last one to
	// leave takes the lock exclusively and removes the entry.
	if err := unix.Flock(fd, unix.LOCK_SH); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, err
	}
	es, err := readACL(fd, st.Mode)
	if err != nil {
		f.Close()
		return nil, err
	}
	mask := uint16(7)
	for _, e := range es {
		if e.tag == aclMask {
			mask = e.perm
		}
	}
	var out []aclEntry
	for _, e := range es {
		switch e.tag {
		case aclUser:
			if e.id == uid {
				continue
			}
			e.perm &= mask
		case aclGroup:
			e.perm &= mask
		case aclGroupObj:
			if hasMask(es) {
				e.perm &= mask
			}
		case aclMask:
			continue
		}
		out = append(out, e)
	}
	out = append(out, aclEntry{aclUser, 7, uid}, aclEntry{aclMask, 7, aclUndefinedID})
	if err := unix.Fsetxattr(fd, aclXattr, encodeACL(out), 0); err != nil {
		f.Close()
		return nil, err
	}
	return &dirGrant{f: f, uid: uid}, nil
}

func hasMask(es []aclEntry) bool {
	return slices.ContainsFunc(es, func(e aclEntry) bool { return e.tag == aclMask })
}

// readACL returns the folder's access ACL, or the one its mode stands for.
func readACL(fd int, mode uint32) ([]aclEntry, error) {
	buf := make([]byte, 4096)
	n, err := unix.Fgetxattr(fd, aclXattr, buf)
	switch {
	case errors.Is(err, unix.ENODATA):
		return aclFromMode(mode), nil
	case err != nil:
		return nil, err
	}
	return parseACL(buf[:n])
}

// release removes the entry again unless another m1 still holds a grant
// on the folder, and closes it. Without other named entries the ACL goes
// and the mode's group bits are set back to the owning group's access,
// which the ACL's mask had replaced.
func (g *dirGrant) release() error {
	if g == nil {
		return nil
	}
	defer g.f.Close()
	fd := int(g.f.Fd())
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return nil // another m1 uses the grant; the last one removes it
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	es, err := readACL(fd, st.Mode)
	if err != nil {
		return err
	}
	var out []aclEntry
	named := false
	group := uint16(0)
	var perms uint16
	for _, e := range es {
		switch e.tag {
		case aclUser:
			if e.id == g.uid {
				continue
			}
			named = true
			perms |= e.perm
		case aclGroup:
			named = true
			perms |= e.perm
		case aclGroupObj:
			group = e.perm
			perms |= e.perm
		case aclMask:
			continue
		}
		out = append(out, e)
	}
	if named {
		out = append(out, aclEntry{aclMask, perms, aclUndefinedID})
		return unix.Fsetxattr(fd, aclXattr, encodeACL(out), 0)
	}
	if err := unix.Fremovexattr(fd, aclXattr); err != nil && !errors.Is(err, unix.ENODATA) {
		return err
	}
	mode := st.Mode&07777&^0o070 | uint32(group)<<3
	return unix.Fchmod(fd, mode)
}

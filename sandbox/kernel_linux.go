package sandbox

import "golang.org/x/sys/unix"

// kernel is the running kernel's release and version (uname -rv).
func kernel() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:]) + " " + unix.ByteSliceToString(u.Version[:])
}

package runtime

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// The Runtime API has no authentication on AWS: only the execution environment can
// reach it. Sluice's instances share the host's loopback, so a sandboxed instance
// could connect to another instance's Runtime API and take its events. Each
// instance's listener therefore accepts only connections made by that instance's
// own uid, found the way ss(8) finds a socket's owner: by asking the kernel for the
// one socket (sock_diag), or, where that is unavailable, from its TCP table.

// ownerListener accepts connections from processes running as uid only.
type ownerListener struct {
	net.Listener
	uid int
}

func (l ownerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		local, _ := c.LocalAddr().(*net.TCPAddr)
		remote, _ := c.RemoteAddr().(*net.TCPAddr)
		if uid, err := socketOwner(remote, local); err == nil && uid == l.uid {
			return c, nil
		}
		_ = c.Close()
	}
}

// socketOwner returns the uid owning the IPv4 TCP socket whose local address is
// local and whose peer is remote.
func socketOwner(local, remote *net.TCPAddr) (int, error) {
	if local == nil || remote == nil || local.IP.To4() == nil || remote.IP.To4() == nil {
		return -1, fmt.Errorf("not an IPv4 TCP connection")
	}
	if uid, err := socketOwnerDiag(local, remote); err == nil {
		return uid, nil
	}
	return socketOwnerProc(local, remote)
}

// socketOwnerDiag asks the kernel for the one socket (NETLINK_SOCK_DIAG, an exact
// lookup by address and port, no dump): its cost does not grow with the host's
// sockets. Scanning /proc/net/tcp does, and a host under load has thousands
// (TIME_WAIT ones too); a multi-concurrency runtime client, whose pollers open
// connections as they go, made that scan the Runtime API's bottleneck.
func socketOwnerDiag(local, remote *net.TCPAddr) (int, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return -1, err
	}
	defer unix.Close(fd)
	// struct nlmsghdr (16 bytes), then struct inet_diag_req_v2 (56 bytes).
	const reqLen = unix.SizeofNlMsghdr + 56
	req := make([]byte, reqLen)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], reqLen)
	ne.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST)
	ne.PutUint32(req[8:], 1) // sequence number
	r := req[unix.SizeofNlMsghdr:]
	r[0], r[1] = unix.AF_INET, unix.IPPROTO_TCP
	ne.PutUint32(r[4:], 0xffffffff) // every TCP state
	// struct inet_diag_sockid: ports and addresses in network byte order; the
	// socket's own end is the source. No cookie: match by address.
	id := r[8:]
	binary.BigEndian.PutUint16(id[0:], uint16(local.Port))
	binary.BigEndian.PutUint16(id[2:], uint16(remote.Port))
	copy(id[4:8], local.IP.To4())
	copy(id[20:24], remote.IP.To4())
	ne.PutUint32(id[40:], 0xffffffff) // INET_DIAG_NOCOOKIE
	ne.PutUint32(id[44:], 0xffffffff)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return -1, err
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return -1, err
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil || len(msgs) == 0 {
		return -1, fmt.Errorf("sock_diag: bad reply: %v", err)
	}
	m := msgs[0]
	switch {
	case m.Header.Type == unix.NLMSG_ERROR:
		if len(m.Data) >= 4 {
			if errno := int32(ne.Uint32(m.Data)); errno != 0 {
				return -1, fmt.Errorf("sock_diag: %w", unix.Errno(-errno))
			}
		}
		return -1, fmt.Errorf("sock_diag: no socket")
	case m.Header.Type != unix.SOCK_DIAG_BY_FAMILY || len(m.Data) < 72:
		return -1, fmt.Errorf("sock_diag: unexpected reply type %d", m.Header.Type)
	}
	// struct inet_diag_msg: family, state, timer, retrans (4), sockid (48),
	// expires, rqueue, wqueue (12), then uid.
	return int(ne.Uint32(m.Data[64:])), nil
}

// socketOwnerProc finds the socket in /proc/net/tcp.
func socketOwnerProc(local, remote *net.TCPAddr) (int, error) {
	want := []byte(procAddr(local) + " " + procAddr(remote))
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return -1, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		fields := bytes.Fields(sc.Bytes())
		// sl local rem st tx:rx tr:when retrnsmt uid ...
		if len(fields) < 8 || !bytes.Equal(bytes.Join(fields[1:3], []byte(" ")), want) {
			continue
		}
		return strconv.Atoi(string(fields[7]))
	}
	return -1, fmt.Errorf("socket %s not found", want)
}

// procAddr renders an IPv4 address as /proc/net/tcp does: the address as a
// little-endian 32-bit hex number, then the port in hex.
func procAddr(a *net.TCPAddr) string {
	ip := a.IP.To4()
	le := []byte{ip[3], ip[2], ip[1], ip[0]}
	return fmt.Sprintf("%s:%04X", bytes.ToUpper([]byte(hex.EncodeToString(le))), a.Port)
}

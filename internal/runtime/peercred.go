package runtime

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strconv"
)

// The Runtime API has no authentication on AWS: only the execution environment can
// reach it. Sluice's instances share the host's loopback, so a sandboxed instance
// could connect to another instance's Runtime API and take its events. Each
// instance's listener therefore accepts only connections made by that instance's
// own uid, found the way ss(8) finds a socket's owner: the kernel's TCP table.

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
// local and whose peer is remote, from /proc/net/tcp.
func socketOwner(local, remote *net.TCPAddr) (int, error) {
	if local == nil || remote == nil || local.IP.To4() == nil || remote.IP.To4() == nil {
		return -1, fmt.Errorf("not an IPv4 TCP connection")
	}
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

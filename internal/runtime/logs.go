package runtime

import (
	"bytes"
	"errors"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// maxLogLine is where a line without a newline is cut, like CloudWatch's 256 KB
// event limit.
const maxLogLine = 256 * 1024

// fionread is the Linux ioctl that reports how many bytes wait in a pipe.
const fionread = 0x541B

// logPipe reads a function's combined stdout/stderr line by line. flush lets the
// invocation path wait until every byte written before a given moment has been
// turned into lines, so output printed before the response lands before END.
type logPipe struct {
	r       *os.File
	emit    func(line string)
	flushes chan chan struct{}
	eof     chan struct{}
	partial []byte
}

func newLogPipe(r *os.File, emit func(string)) *logPipe {
	return &logPipe{r: r, emit: emit, flushes: make(chan chan struct{}, 8), eof: make(chan struct{})}
}

func (lp *logPipe) run() {
	defer close(lp.eof)
	defer lp.r.Close()
	buf := make([]byte, 64*1024)
	for {
		n, err := lp.r.Read(buf)
		lp.consume(buf[:n])
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// A flush asked us to stop waiting: take what is already in the pipe,
			// then acknowledge.
			_ = lp.r.SetReadDeadline(time.Time{})
			for lp.available() > 0 {
				n, err := lp.r.Read(buf)
				lp.consume(buf[:n])
				if err != nil {
					break
				}
			}
			lp.ack()
			continue
		}
		if len(lp.partial) > 0 {
			lp.emit(string(lp.partial))
			lp.partial = nil
		}
		lp.ack()
		return
	}
}

func (lp *logPipe) ack() {
	for {
		select {
		case a := <-lp.flushes:
			close(a)
		default:
			return
		}
	}
}

// consume splits data into lines, keeping an unterminated tail for later.
func (lp *logPipe) consume(data []byte) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			lp.partial = append(lp.partial, data...)
			if len(lp.partial) >= maxLogLine {
				lp.emit(string(lp.partial))
				lp.partial = lp.partial[:0]
			}
			return
		}
		line := data[:i]
		data = data[i+1:]
		if len(lp.partial) > 0 {
			lp.partial = append(lp.partial, line...)
			line = lp.partial
			lp.partial = lp.partial[:0]
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		lp.emit(string(line))
	}
}

// available reports the bytes waiting in the pipe.
func (lp *logPipe) available() int {
	rc, err := lp.r.SyscallConn()
	if err != nil {
		return 0
	}
	var n int32
	_ = rc.Control(func(fd uintptr) {
		_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, fionread, uintptr(unsafe.Pointer(&n)))
		if errno != 0 {
			n = 0
		}
	})
	return int(n)
}

// startFlush asks the reader to emit everything written to the pipe so far; the
// returned channel is closed when it has (nil if the request could not be made).
func (lp *logPipe) startFlush() chan struct{} {
	a := make(chan struct{})
	select {
	case lp.flushes <- a:
	default:
		return nil
	}
	// Wake the reader: a deadline in the past makes its Read return at once.
	if err := lp.r.SetReadDeadline(time.Unix(1, 0)); err != nil {
		return nil
	}
	return a
}

// waitFlush waits (at most max) for a flush started by startFlush.
func (lp *logPipe) waitFlush(a chan struct{}, max time.Duration) {
	if a == nil {
		return
	}
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-a:
	case <-lp.eof:
	case <-t.C:
	}
}

// waitEOF waits (at most max) for the writer side to close, i.e. the process and
// its children to be gone, and every line to be emitted.
func (lp *logPipe) waitEOF(max time.Duration) {
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-lp.eof:
	case <-t.C:
	}
}

// logLine is called by the pipe reader for each line of function output.
func (inst *instance) logLine(line string) {
	inst.logMu.Lock()
	inst.emitLocked(inst.logTo, line)
	inst.logMu.Unlock()
}

// emitLocked sends a line to the sink and to c's tail. inst.logMu must be held.
func (inst *instance) emitLocked(c *invocation, line string) {
	inst.pool.appendLog(inst, line)
	if c == nil && inst.firstPending {
		inst.initTail = append(inst.initTail, line...)
		inst.initTail = append(inst.initTail, '\n')
		if len(inst.initTail) > 4*tailSize {
			inst.initTail = append(inst.initTail[:0], inst.initTail[len(inst.initTail)-tailSize:]...)
		}
		return
	}
	if c != nil && c.inv.LogTail {
		c.tail = append(c.tail, line...)
		c.tail = append(c.tail, '\n')
		if len(c.tail) > 4*tailSize { // keep memory bounded
			c.tail = append(c.tail[:0], c.tail[len(c.tail)-tailSize:]...)
		}
	}
}

func (p *Pool) appendLog(inst *instance, line string) {
	if p.opts.Logs != nil {
		p.opts.Logs.Append(inst.spec.FunctionName, inst.stream, time.Now(), line)
	}
}

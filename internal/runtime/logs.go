package runtime

import (
	"bytes"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
)

// maxLogLine is where a line without a newline is cut, like CloudWatch's 256 KB
// event limit.
const maxLogLine = 256 * 1024

// logPipe reads a function's combined stdout/stderr line by line. Bytes are read and
// split into lines only under mu, by the reader goroutine or by flush, so when flush
// returns every byte written to the pipe before it was called has been emitted:
// output printed before the response lands before END, without waking the reader
// goroutine and waiting for it.
type logPipe struct {
	r    *os.File
	rc   syscall.RawConn // nil if the pipe has no descriptor (never, in practice)
	emit func(line string)
	eof  chan struct{} // closed when the writers are gone and every line is emitted

	mu      sync.Mutex // held while bytes are read and split; guards the fields below
	buf     []byte
	partial []byte
	done    bool // EOF or a read error seen: nothing more will be read
}

func newLogPipe(r *os.File, emit func(string)) *logPipe {
	lp := &logPipe{r: r, emit: emit, eof: make(chan struct{}), buf: make([]byte, 64*1024)}
	lp.rc, _ = r.SyscallConn()
	return lp
}

// run reads until EOF. The descriptor is non-blocking (os.Pipe registers it with the
// runtime poller): RawConn.Read parks the goroutine, without holding mu, while the
// callback reports that the pipe is empty.
func (lp *logPipe) run() {
	defer close(lp.eof)
	defer lp.r.Close()
	if lp.rc == nil {
		return
	}
	for {
		err := lp.rc.Read(func(fd uintptr) bool {
			lp.mu.Lock()
			defer lp.mu.Unlock()
			return lp.drainLocked(fd) != syscall.EAGAIN || lp.done
		})
		lp.mu.Lock()
		done := lp.done || err != nil
		if done {
			lp.finishLocked()
		}
		lp.mu.Unlock()
		if done {
			return
		}
	}
}

// drainLocked reads fd until the pipe is empty (EAGAIN), the writers are gone
// (io.EOF, which also finishes the pipe) or a read fails, splitting what it reads
// into lines. lp.mu must be held.
func (lp *logPipe) drainLocked(fd uintptr) error {
	for !lp.done {
		n, err := syscall.Read(int(fd), lp.buf)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			if err != syscall.EAGAIN {
				lp.finishLocked()
			}
			return err
		case n == 0:
			lp.finishLocked()
			return io.EOF
		}
		lp.consume(lp.buf[:n])
	}
	return io.EOF
}

// finishLocked marks the pipe done and emits an unterminated last line.
func (lp *logPipe) finishLocked() {
	if lp.done {
		return
	}
	lp.done = true
	if len(lp.partial) > 0 {
		lp.emit(string(lp.partial))
		lp.partial = nil
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

// flush emits every complete line written to the pipe before it was called: such
// bytes are either still in the pipe (read here) or were read by the reader, which
// splits them before it releases mu. It never blocks on the pipe.
func (lp *logPipe) flush() {
	if lp.rc == nil {
		return
	}
	_ = lp.rc.Control(func(fd uintptr) {
		lp.mu.Lock()
		_ = lp.drainLocked(fd)
		lp.mu.Unlock()
	})
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
	if inst.spec.appLineDropped(line) {
		return
	}
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
		key := inst.spec.LogKey
		if key == "" {
			key = inst.spec.FunctionName
		}
		p.opts.Logs.Append(key, inst.stream, time.Now(), line)
	}
}

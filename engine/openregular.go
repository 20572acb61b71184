package engine

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
)

// OpenRegular opens path for reading if it is a regular file, and refuses
// anything else (a named pipe, a device, a directory) at once: opening a
// named pipe for reading waits for a writer, for ever if none comes. The
// file is opened without blocking and checked through the open descriptor,
// so it cannot be swapped between the check and the open.
func OpenRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is %s, not a regular file", path, describeFileType(info.Mode()))
	}
	return f, nil
}

// ReadRegularFile is os.ReadFile for regular files only (see OpenRegular).
func ReadRegularFile(path string) ([]byte, error) {
	f, err := OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if info, err := f.Stat(); err == nil && int64(int(info.Size())) == info.Size() {
		buf.Grow(int(info.Size()) + bytes.MinRead) // read whole without growing
	}
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// describeFileType names the kind of a file that is not a regular one.
func describeFileType(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

package policy

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/paved-dev/paved/shared/atomicfile"
	"github.com/paved-dev/paved/shared/parallel"
)

// An OSV export zip names its entries by record id, so which entries concern
// a package is only known after reading them all. The first load of a zip
// therefore reads every entry and writes an index: for every value of a JSON
// member called "name" (the same scan that filters records before decoding),
// the entries holding it. Later loads read the index and decompress only the
// entries whose names are wanted.
//
// The index is bound to the zip it describes by the zip's size, modification
// time and the SHA-256 of its central directory (every entry's name, CRC-32,
// sizes and offset); any difference means the index is rebuilt. The index
// carries a SHA-256 of its own bytes, so a truncated or damaged index is
// ignored and rebuilt rather than trusted. Entries read through the index are
// checked against the CRC-32 of the central directory, and any mismatch
// abandons the index for a full read. An index is as trusted as the zip: who
// can write the index directory can hide records, just as who can write the
// zip can remove them.

// indexMagic starts every index file; the last byte is the format version.
const indexMagic = "paved-osv-index\x01"

// indexSuffix names an index kept beside its zip.
const indexSuffix = ".paved-index"

// Bounds on what an index may claim, so a damaged index cannot make a load
// allocate without limit.
const (
	maxIndexValue   = 64 << 10
	maxZipDirectory = 1 << 30
)

// zipEntry locates one record's compressed bytes in a zip.
type zipEntry struct {
	name         string
	offset       int64 // of the compressed data
	csize, usize uint64
	crc          uint32
	method       uint16
	// check: the name scan could not judge the entry (escaped or unterminated
	// strings), so every load reads it.
	check bool
}

// zipKey identifies the zip an index was built from.
type zipKey struct {
	size    int64
	mtime   int64
	dir     [32]byte
	entries uint64
}

// readZipKey reads the zip's size, modification time and central directory
// digest without reading its entries.
func readZipKey(f *os.File) (zipKey, error) {
	st, err := f.Stat()
	if err != nil {
		return zipKey{}, err
	}
	k := zipKey{size: st.Size(), mtime: st.ModTime().UnixNano()}
	dirOff, entries, err := zipDirectory(f, k.size)
	if err != nil {
		return zipKey{}, err
	}
	if k.size-dirOff > maxZipDirectory {
		return zipKey{}, fmt.Errorf("central directory larger than %d bytes", maxZipDirectory)
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, dirOff, k.size-dirOff)); err != nil {
		return zipKey{}, err
	}
	h.Sum(k.dir[:0])
	k.entries = entries
	return k, nil
}

// zipDirectory finds the offset of the central directory (everything from
// there to the end of the file is what the digest covers) and its entry count,
// from the end-of-central-directory record and, for ZIP64 archives, the ZIP64
// end record it points to (APPNOTE.TXT 4.3.14-4.3.16).
func zipDirectory(f io.ReaderAt, size int64) (int64, uint64, error) {
	const endLen, locatorLen, end64Len = 22, 20, 56
	tail := min(size, endLen+0xffff)
	buf := make([]byte, tail)
	if _, err := f.ReadAt(buf, size-tail); err != nil && !errors.Is(err, io.EOF) {
		return 0, 0, err
	}
	at := -1
	for i := len(buf) - endLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(buf[i:]) == 0x06054b50 && i+endLen+int(binary.LittleEndian.Uint16(buf[i+20:])) <= len(buf) {
			at = i
			break
		}
	}
	if at < 0 {
		return 0, 0, errors.New("not a zip file: no end of central directory")
	}
	end := buf[at:]
	entries := uint64(binary.LittleEndian.Uint16(end[10:]))
	dirSize := uint64(binary.LittleEndian.Uint32(end[12:]))
	dirOff := uint64(binary.LittleEndian.Uint32(end[16:]))
	endPos := size - tail + int64(at)
	if entries == 0xffff || dirSize == 0xffffffff || dirOff == 0xffffffff {
		if endPos < locatorLen {
			return 0, 0, errors.New("ZIP64 archive without a ZIP64 locator")
		}
		loc := make([]byte, locatorLen)
		if _, err := f.ReadAt(loc, endPos-locatorLen); err != nil {
			return 0, 0, err
		}
		if binary.LittleEndian.Uint32(loc) != 0x07064b50 {
			return 0, 0, errors.New("ZIP64 archive without a ZIP64 locator")
		}
		end64Off := binary.LittleEndian.Uint64(loc[8:])
		if end64Off > uint64(size-end64Len) {
			return 0, 0, errors.New("ZIP64 end record outside the file")
		}
		end64 := make([]byte, end64Len)
		if _, err := f.ReadAt(end64, int64(end64Off)); err != nil {
			return 0, 0, err
		}
		if binary.LittleEndian.Uint32(end64) != 0x06064b50 {
			return 0, 0, errors.New("bad ZIP64 end record")
		}
		entries = binary.LittleEndian.Uint64(end64[32:])
		dirSize = binary.LittleEndian.Uint64(end64[40:])
		dirOff = binary.LittleEndian.Uint64(end64[48:])
	}
	if dirOff > uint64(size) || dirSize > uint64(size)-dirOff {
		return 0, 0, errors.New("central directory outside the file")
	}
	return int64(dirOff), entries, nil
}

// indexPath is where the index of the zip at path is kept: beside it, or in
// cacheDir under a name derived from its absolute path.
func indexPath(path, cacheDir string) (string, error) {
	if cacheDir == "" {
		return path + indexSuffix, nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(cacheDir, "osv-index", hex.EncodeToString(sum[:16])+".idx"), nil
}

// zipIndex is an index being built: every entry with its name values.
type zipIndex struct {
	key     zipKey
	total   int
	entries []zipEntry
	values  [][]string
}

// write encodes the index (format below) and replaces path with it
// atomically.
//
//	magic, size, mtime, directory digest, directory entries, records
//	uvarint entry count, uvarint value count
//	per value (sorted): uvarint length, bytes, uvarint count, uvarint id deltas
//	per entry: name, offset, csize, usize, crc, method, check
//	SHA-256 of everything above
func (x *zipIndex) write(path string) error {
	postings := map[string][]uint32{}
	var ids []int // index entries, by id
	for i := range x.entries {
		if len(x.values[i]) == 0 && !x.entries[i].check {
			continue // no name: no load can want it
		}
		id := uint32(len(ids))
		ids = append(ids, i)
		for _, v := range x.values[i] {
			if p := postings[v]; len(p) == 0 || p[len(p)-1] != id {
				postings[v] = append(p, id)
			}
		}
	}
	values := make([]string, 0, len(postings))
	for v := range postings {
		values = append(values, v)
	}
	sort.Strings(values)
	var b bytes.Buffer
	b.WriteString(indexMagic)
	b.Write(binary.LittleEndian.AppendUint64(nil, uint64(x.key.size)))
	b.Write(binary.LittleEndian.AppendUint64(nil, uint64(x.key.mtime)))
	b.Write(x.key.dir[:])
	b.Write(binary.LittleEndian.AppendUint64(nil, x.key.entries))
	b.Write(binary.LittleEndian.AppendUint64(nil, uint64(x.total)))
	uv := func(n uint64) { b.Write(binary.AppendUvarint(nil, n)) }
	uv(uint64(len(ids)))
	uv(uint64(len(values)))
	for _, v := range values {
		uv(uint64(len(v)))
		b.WriteString(v)
		p := postings[v]
		uv(uint64(len(p)))
		prev := uint32(0)
		for _, id := range p {
			uv(uint64(id - prev))
			prev = id
		}
	}
	for _, i := range ids {
		e := &x.entries[i]
		uv(uint64(len(e.name)))
		b.WriteString(e.name)
		uv(uint64(e.offset))
		uv(e.csize)
		uv(e.usize)
		b.Write(binary.LittleEndian.AppendUint32(nil, e.crc))
		uv(uint64(e.method))
		if e.check {
			b.WriteByte(1)
		} else {
			b.WriteByte(0)
		}
	}
	sum := sha256.Sum256(b.Bytes())
	b.Write(sum[:])
	return writeAtomic(path, b.Bytes())
}

// errNoIndex: there is no index for the zip yet.
var errNoIndex = errors.New("no index")

// readIndex reads the index at path for the zip identified by key and returns
// the entries a load wanting names must read, and the zip's record count. It
// streams the index, so memory grows with the wanted entries only. Any
// mismatch with key, damage, or violated bound is an error: the caller then
// reads the whole zip and rebuilds the index.
func readIndex(path string, key zipKey, names wantNames) ([]zipEntry, int, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, errNoIndex
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if st.Size() < int64(len(indexMagic))+40+sha256.Size {
		return nil, 0, errors.New("truncated")
	}
	h := sha256.New()
	r := &indexReader{br: bufio.NewReaderSize(io.TeeReader(io.LimitReader(f, st.Size()-sha256.Size), h), 64<<10)}
	total, err := r.header(key)
	if err != nil {
		return nil, 0, err
	}
	nEntries, err := r.count(total)
	if err != nil {
		return nil, 0, err
	}
	nValues, err := r.count(uint64(st.Size())) // each value takes at least two bytes
	if err != nil {
		return nil, 0, err
	}
	wanted, err := r.wantedEntries(nValues, nEntries, names)
	if err != nil {
		return nil, 0, err
	}
	var out []zipEntry
	for id := range nEntries {
		e, name, err := r.entry()
		if err != nil {
			return nil, 0, err
		}
		if !wanted[id] && !e.check {
			continue
		}
		if e.offset > key.size || e.csize > uint64(key.size-e.offset) || e.usize > maxRecord {
			return nil, 0, errors.New("entry outside the zip or over the bounds")
		}
		e.name = string(name)
		out = append(out, e)
	}
	if _, err := r.br.ReadByte(); !errors.Is(err, io.EOF) {
		return nil, 0, errors.New("trailing bytes")
	}
	var sum [sha256.Size]byte
	if _, err := f.ReadAt(sum[:], st.Size()-sha256.Size); err != nil {
		return nil, 0, err
	}
	if !bytes.Equal(h.Sum(nil), sum[:]) {
		return nil, 0, errors.New("checksum mismatch")
	}
	return out, int(total), nil
}

// indexReader reads the parts of an index file, each bounded.
type indexReader struct {
	br      *bufio.Reader
	scratch []byte
}

// header checks the magic and that the index was built from the zip key
// names, and returns how many records the zip holds.
func (r *indexReader) header(key zipKey) (uint64, error) {
	head := make([]byte, len(indexMagic)+48)
	if _, err := io.ReadFull(r.br, head); err != nil {
		return 0, err
	}
	if string(head[:len(indexMagic)]) != indexMagic {
		return 0, errors.New("not an index of this version")
	}
	head = head[len(indexMagic):]
	var got zipKey
	got.size = int64(binary.LittleEndian.Uint64(head))
	got.mtime = int64(binary.LittleEndian.Uint64(head[8:]))
	copy(got.dir[:], head[16:48])
	if _, err := io.ReadFull(r.br, head[:16]); err != nil {
		return 0, err
	}
	got.entries = binary.LittleEndian.Uint64(head)
	total := binary.LittleEndian.Uint64(head[8:])
	if got != key {
		return 0, errors.New("stale: built from another version of the zip")
	}
	if total > key.entries {
		return 0, errors.New("more records than the zip has entries")
	}
	return total, nil
}

// count reads a count no larger than limit.
func (r *indexReader) count(limit uint64) (uint64, error) {
	n, err := binary.ReadUvarint(r.br)
	if err == nil && n > limit {
		err = fmt.Errorf("count %d above %d", n, limit)
	}
	return n, err
}

// bytes reads a length-prefixed value of at most limit bytes into a buffer
// the next call reuses.
func (r *indexReader) bytes(limit uint64) ([]byte, error) {
	n, err := r.count(limit)
	if err != nil {
		return nil, err
	}
	if uint64(cap(r.scratch)) < n {
		r.scratch = make([]byte, 0, n)
	}
	r.scratch = r.scratch[:n]
	_, err = io.ReadFull(r.br, r.scratch)
	return r.scratch, err
}

// wantedEntries reads the nValues package names with their entry ids
// (delta-encoded, ascending) and returns the ids under the names wanted.
func (r *indexReader) wantedEntries(nValues, nEntries uint64, names wantNames) (map[uint64]bool, error) {
	wanted := map[uint64]bool{}
	for range nValues {
		v, err := r.bytes(maxIndexValue)
		if err != nil {
			return nil, err
		}
		want := nameWanted(v, names)
		n, err := r.count(nEntries)
		if err != nil {
			return nil, err
		}
		id := uint64(0)
		for j := range n {
			d, err := r.count(nEntries)
			if err != nil {
				return nil, err
			}
			if id += d; id >= nEntries || (j > 0 && d == 0) {
				return nil, errors.New("bad entry id")
			}
			if want {
				wanted[id] = true
			}
		}
	}
	return wanted, nil
}

// entry reads one zip entry's location, not yet checked against the zip,
// and its name in a buffer the next read reuses (most entries are skipped:
// naming them would allocate for nothing).
func (r *indexReader) entry() (zipEntry, []byte, error) {
	name, err := r.bytes(maxIndexValue)
	if err != nil {
		return zipEntry{}, nil, err
	}
	var fields [3]uint64 // offset, csize, usize
	for i := range fields {
		if fields[i], err = binary.ReadUvarint(r.br); err != nil {
			return zipEntry{}, nil, err
		}
	}
	var crc [4]byte
	if _, err := io.ReadFull(r.br, crc[:]); err != nil {
		return zipEntry{}, nil, err
	}
	method, err := binary.ReadUvarint(r.br)
	if err != nil {
		return zipEntry{}, nil, err
	}
	flag, err := r.br.ReadByte()
	if err != nil {
		return zipEntry{}, nil, err
	}
	if fields[0] > math.MaxInt64 || method > 0xffff || flag > 1 {
		return zipEntry{}, nil, errors.New("entry over the bounds")
	}
	return zipEntry{offset: int64(fields[0]), csize: fields[1], usize: fields[2],
		crc: binary.LittleEndian.Uint32(crc[:]), method: uint16(method), check: flag == 1}, name, nil
}

// writeAtomic writes data to path, creating its directory (a cache
// directory may not exist yet); a reader never sees half an index.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, data, 0o644)
}

// errEntry marks a failure to read an entry's bytes (as opposed to a record
// that is not valid OSV), so an index-driven load can fall back to a full
// read.
type errEntry struct{ err error }

func (e *errEntry) Error() string { return e.err.Error() }
func (e *errEntry) Unwrap() error { return e.err }

// inflater reads entries with a reusable buffer and decompressor; one per
// worker.
type inflater struct {
	r    io.ReaderAt
	comp []byte
	out  bytes.Buffer
	br   bytes.Reader
	fr   io.ReadCloser
}

// read returns the entry's uncompressed bytes, valid until the next call,
// checked against the entry's size and CRC-32.
func (z *inflater) read(e *zipEntry) ([]byte, error) {
	if e.usize > maxRecord {
		return nil, fmt.Errorf("%s: record larger than %d bytes", e.name, maxRecord)
	}
	if e.csize > 2*maxRecord {
		return nil, &errEntry{fmt.Errorf("%s: compressed record larger than %d bytes", e.name, 2*maxRecord)}
	}
	if uint64(cap(z.comp)) < e.csize {
		z.comp = make([]byte, e.csize)
	}
	comp := z.comp[:e.csize]
	if _, err := z.r.ReadAt(comp, e.offset); err != nil {
		return nil, &errEntry{fmt.Errorf("%s: %w", e.name, err)}
	}
	var data []byte
	switch e.method {
	case 0: // stored
		data = comp
	case 8: // deflated
		z.br.Reset(comp)
		if z.fr == nil {
			z.fr = flate.NewReader(&z.br)
		} else if err := z.fr.(flate.Resetter).Reset(&z.br, nil); err != nil {
			return nil, &errEntry{fmt.Errorf("%s: %w", e.name, err)}
		}
		z.out.Reset()
		if _, err := io.Copy(&z.out, io.LimitReader(z.fr, int64(e.usize)+1)); err != nil {
			return nil, &errEntry{fmt.Errorf("%s: %w", e.name, err)}
		}
		data = z.out.Bytes()
	default:
		return nil, &errEntry{fmt.Errorf("%s: unsupported compression method %d", e.name, e.method)}
	}
	if uint64(len(data)) != e.usize {
		return nil, &errEntry{fmt.Errorf("%s: %d bytes, the zip directory says %d", e.name, len(data), e.usize)}
	}
	// As archive/zip does, a zero CRC-32 in the directory is not checked.
	if e.crc != 0 && crc32.ChecksumIEEE(data) != e.crc {
		return nil, &errEntry{fmt.Errorf("%s: checksum mismatch", e.name)}
	}
	return data, nil
}

// eachEntry reads n entries on up to one goroutine per CPU: entry(i) locates
// the i-th entry (called concurrently), fn receives its bytes. The first error
// stops the work and is returned.
func eachEntry(ctx context.Context, r io.ReaderAt, n int, entry func(i int) (*zipEntry, error), fn func(i int, e *zipEntry, data []byte) error) error {
	// An inflater's buffers are reused from entry to entry, one at a time.
	inflaters := sync.Pool{New: func() any { return &inflater{r: r} }}
	return parallel.Each(ctx, n, 0, func(_ context.Context, i int) error {
		e, err := entry(i)
		if err != nil {
			return err
		}
		z := inflaters.Get().(*inflater)
		defer inflaters.Put(z)
		data, err := z.read(e)
		if err != nil {
			return err
		}
		return fn(i, e, data)
	})
}

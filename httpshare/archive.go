package httpshare

import (
	"archive/tar"
	"bufio"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
	"time"

	"example.com/share/sharefs"
)

// defaultRootName names the shared folder when its own name is not known.
const defaultRootName = "share"

// copyBufSize is the buffer each archive or digest run copies file bytes
// through: large enough for few system calls, small enough to keep memory
// flat when many downloads run at once.
const copyBufSize = 128 << 10

// outBufSize gathers the small writes of the compressors into fewer, larger
// writes to the client.
const outBufSize = 64 << 10

// errChanged reports a file that changed size while it was being archived.
var errChanged = errors.New("file changed while reading")

// archiveName gives the download file name of the archive of folder dir,
// with extension ext ("zip", "tar.gz"): "photos.zip" for "/a/photos/",
// ROOT.zip for the shared folder itself, named root.
func archiveName(root, dir, ext string) string {
	return archiveBase(root, dir) + "." + ext
}

// archiveBase is the folder name every path inside an archive of dir
// starts with, so that unpacking makes one folder instead of spilling files.
func archiveBase(root, dir string) string {
	parts, ok := sharefs.Split(dir)
	if !ok || len(parts) == 0 {
		return root
	}
	return parts[len(parts)-1]
}

// writeZip streams a .zip of folder dir of view to w while reading it:
// memory stays flat whatever the file sizes (data descriptors, no seeking),
// ZIP64 records appear past 4 GiB or 65,535 entries, non-ASCII UTF-8 names
// are flagged, modification times are kept, and entries follow the view's
// order, folders included, under the folder's own name. Its memory grows
// by about 80 bytes an entry, up to zipIndexLimit. On any error (including
// ctx ending, or that limit) it stops without writing the central
// directory, so a cut download can never pass for a complete archive.
func writeZip(ctx context.Context, w io.Writer, view sharefs.View, root, dir string) error {
	zw := newZipWriter(w, zipIndexLimit)
	defer zw.release()
	buf := make([]byte, copyBufSize)
	prefix := archiveBase(root, dir)
	err := sharefs.Walk(ctx, view, dir, func(rel string, e sharefs.Entry) error {
		return addZipEntry(ctx, zw, view, sharefs.Join(dir, rel), path.Join(prefix, rel), e, buf)
	})
	if err != nil {
		return err
	}
	if err := zw.close(); err != nil {
		return fmt.Errorf("finish zip of %q: %w", dir, err)
	}
	return nil
}

// addZipEntry writes one folder or file of the view as the zip entry name.
func addZipEntry(ctx context.Context, zw *zipWriter, view sharefs.View, src, name string, e sharefs.Entry, buf []byte) error {
	f, err := openEntry(view, src, e)
	if err != nil || f == nil {
		return err
	}
	defer f.Close()
	if e.IsDir {
		return zw.addFolder(name+"/", e.ModTime)
	}
	// The data descriptor records what was read, so a size change since
	// the listing is harmless here.
	return zw.addFile(name, e.ModTime, zipMethod(e), func(w io.Writer) error {
		_, err := copyFile(ctx, w, f, src, -1, buf)
		return err
	})
}

// zipMethod stores folders, empty files and files whose format is already
// compressed (deflating them again costs time and saves nothing), and
// deflates the rest.
func zipMethod(e sharefs.Entry) uint8 {
	if e.IsDir || e.Size == 0 || compressedExt[strings.ToLower(path.Ext(e.Name))] {
		return zipStore
	}
	return zipDeflate
}

// compressedExt lists extensions of formats that are compressed already.
var compressedExt = map[string]bool{
	".7z": true, ".apk": true, ".avif": true, ".br": true, ".bz2": true,
	".deb": true, ".docx": true, ".epub": true, ".flac": true, ".gif": true,
	".gpg": true, ".gz": true, ".heic": true, ".jar": true, ".jpeg": true,
	".jpg": true, ".lz": true, ".lz4": true, ".lzma": true, ".m4a": true,
	".m4v": true, ".mkv": true, ".mov": true, ".mp3": true, ".mp4": true,
	".odp": true, ".ods": true, ".odt": true, ".ogg": true, ".opus": true,
	".png": true, ".pptx": true, ".rar": true, ".rpm": true, ".tgz": true,
	".txz": true, ".webm": true, ".webp": true, ".whl": true, ".woff2": true,
	".xlsx": true, ".xz": true, ".zip": true, ".zst": true,
}

// deflatePool reuses deflate writers across entries and downloads: each
// holds about a megabyte, which would otherwise be allocated per file.
var deflatePool sync.Pool

// newPooledDeflate is a zip compressor at flate.BestSpeed: on a LAN the
// link is faster than default-level deflate, so speed wins over ratio.
func newPooledDeflate(w io.Writer) (io.WriteCloser, error) {
	if fw, ok := deflatePool.Get().(*flate.Writer); ok {
		fw.Reset(w)
		return &pooledDeflate{fw}, nil
	}
	fw, err := flate.NewWriter(w, flate.BestSpeed)
	if err != nil {
		return nil, fmt.Errorf("deflate: %w", err)
	}
	return &pooledDeflate{fw}, nil
}

// pooledDeflate returns its writer to deflatePool once closed.
type pooledDeflate struct{ *flate.Writer }

// Close finishes the stream and recycles the writer.
func (p *pooledDeflate) Close() error {
	err := p.Writer.Close()
	deflatePool.Put(p.Writer)
	p.Writer = nil
	return err
}

// writeTarGz streams a gzip-compressed tar of folder dir of view to w while
// reading it, with the same order and naming as writeZip. Long or non-ASCII
// names get PAX records; modification times are kept to the second. Any
// error stops the stream before the end-of-archive marker.
func writeTarGz(ctx context.Context, w io.Writer, view sharefs.View, root, dir string) error {
	bw := bufio.NewWriterSize(w, outBufSize)
	gz, err := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	if err != nil {
		return fmt.Errorf("gzip: %w", err)
	}
	tw := tar.NewWriter(gz)
	buf := make([]byte, copyBufSize)
	prefix := archiveBase(root, dir)
	err = sharefs.Walk(ctx, view, dir, func(rel string, e sharefs.Entry) error {
		return addTarEntry(ctx, tw, view, sharefs.Join(dir, rel), path.Join(prefix, rel), e, buf)
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("finish tar of %q: %w", dir, err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("finish gzip of %q: %w", dir, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("finish tar.gz of %q: %w", dir, err)
	}
	return nil
}

// addTarEntry writes one folder or file of the view as the tar entry name.
func addTarEntry(ctx context.Context, tw *tar.Writer, view sharefs.View, src, name string, e sharefs.Entry, buf []byte) error {
	f, err := openEntry(view, src, e)
	if err != nil || f == nil {
		return err
	}
	defer f.Close()
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Mode:     0o644,
		Size:     e.Size,
		// Whole seconds: the writer would otherwise round, and a time
		// in the future of the real one confuses make and rsync.
		ModTime: e.ModTime.Truncate(time.Second),
	}
	if e.IsDir {
		hdr.Typeflag, hdr.Name, hdr.Mode, hdr.Size = tar.TypeDir, name+"/", 0o755, 0
	} else if e.Size < 0 {
		return fmt.Errorf("tar entry %q: size unknown: %w", name, errChanged)
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("tar entry %q: %w", name, err)
	}
	if e.IsDir {
		return nil
	}
	// The header fixed the size: a file that grew since the listing is
	// archived as it was then, one that shrank cannot be and fails.
	n, err := copyFile(ctx, tw, f, src, e.Size, buf)
	if err == nil && n < e.Size {
		err = fmt.Errorf("read %q: %d of %d bytes: %w", src, n, e.Size, errChanged)
	}
	return err
}

// noFile is what openEntry returns for a folder: nothing to read.
type noFile struct{}

func (noFile) Read([]byte) (int, error) { return 0, io.EOF }
func (noFile) Close() error             { return nil }

// openEntry opens entry e, file src of view, before its archive header is
// written. A file that cannot be opened (unreadable, or gone since the
// listing) is left out, as its own download would be a 404, rather than
// failing the whole archive: then it returns a nil File and no error.
func openEntry(view sharefs.View, src string, e sharefs.Entry) (sharefs.File, error) {
	if e.IsDir {
		return noFile{}, nil
	}
	f, err := view.Open(src)
	if err != nil {
		return nil, nil
	}
	return f, nil
}

// copyFile copies f, file src of the view, to w, at most limit bytes when
// limit is not negative, and reports how many bytes it copied. It stops
// when ctx ends.
func copyFile(ctx context.Context, w io.Writer, f sharefs.File, src string, limit int64, buf []byte) (int64, error) {
	var r io.Reader = cancelableReader{ctx, f}
	if limit >= 0 {
		r = io.LimitReader(r, limit)
	}
	n, err := io.CopyBuffer(w, r, buf)
	if err != nil {
		return n, fmt.Errorf("copy %q: %w", src, err)
	}
	return n, nil
}

// cancelableReader fails its reads once ctx has ended, so a long file stops
// streaming soon after the client went away.
type cancelableReader struct {
	ctx context.Context
	r   io.Reader
}

// Read implements io.Reader.
func (c cancelableReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
